#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static void
oom(size_t n)
{
	log_error("out of memory allocating %zu bytes", n);
	abort();
}

void *
br_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
br_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
br_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

char *
br_xstrdup(const char *s)
{
	return br_xstrndup(s, strlen(s));
}

char *
br_xstrndup(const char *s, size_t n)
{
	char *p = br_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
br_xstrdup_nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? br_xstrdup(s) : NULL;
}

bool
br_str_same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

char *
br_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	return s;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t br_now_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t br_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

int64_t
br_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Writes v as exactly n decimal digits. */
static char *
put_digits(char *p, int v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

/* Every event is stamped, so this is on the hot path: digits by hand
 * rather than through stdio, which costs several times as much; anything
 * outside the common shape goes the general way. */
void
br_format_time(char *buf, int64_t unix_ms)
{
	time_t secs = (time_t)(unix_ms / 1000);
	int ms = (int)(unix_ms % 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	int year = tm.tm_year + 1900;
	if (year < 0 || year > 9999 || ms < 0) {
		snprintf(buf, BR_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ms);
		return;
	}
	char *p = put_digits(buf, year, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, ms, 3);
	*p++ = 'Z';
	*p = '\0';
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

static int
expect(const char **p, char c)
{
	if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
		return -1;
	(*p)++;
	return 0;
}

int
br_parse_time(const char *s, int64_t *unix_ms)
{
	int y, mo, d, h, mi, sec, ms = 0, offset_min = 0;
	const char *p = s;

	if (s == NULL || digits(&p, 4, &y) || expect(&p, '-') ||
	    digits(&p, 2, &mo) || expect(&p, '-') || digits(&p, 2, &d) ||
	    expect(&p, 'T') || digits(&p, 2, &h) || expect(&p, ':') ||
	    digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int n = 0, scale = 100;
		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			if (n < 3) {
				ms += (*p - '0') * scale;
				scale /= 10;
			}
			if (n >= 9)
				return -1;      /* a tenth digit */
		}
		if (n == 0)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
			return -1;
		offset_min = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = sec };
	time_t t = timegm(&tm);
	*unix_ms = ((int64_t)t - offset_min * 60) * 1000 + ms;
	return 0;
}

uint64_t
br_random64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = (uint64_t)br_mono_us() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	return v;
}

/* One per event (two for a redemption): one getrandom(2) for all 16
 * bytes, and hex by hand instead of a 16-conversion snprintf. */
void
br_uuid(char buf[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	char *p = buf;

	if (getrandom(b, sizeof b, 0) != sizeof b) {
		uint64_t r[2] = { br_random64(), br_random64() };
		memcpy(b, r, sizeof b);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '\0';
}

int
br_write_file_atomic(const char *path, const void *data, size_t len,
    unsigned mode)
{
	char *tmp = br_xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd, rc = 0;
	const char *p = data;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	fchmod(fd, mode);       /* the umask may have narrowed or widened it */
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto fail;
	}
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	return rc;
}

int
br_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (f == NULL)
		return -errno;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = br_xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			rc = -EFBIG;
			goto fail;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
fail:
	fclose(f);
	free(buf);
	return rc;
}

int
br_mkdirs(const char *path, unsigned mode)
{
	char *p = br_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* FNV-1a over the bytes, seeded, with a final avalanche (splitmix64) so a
 * peer who does not know the seed cannot aim for collisions cheaply. */
uint64_t
br_hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return br_mix64(h ^ seed);
}

uint64_t
br_mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

int
br_tcp_sockets_to_port(int port, int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof sa;
		int type = 0;
		socklen_t len = sizeof type;
		char *end;
		long v = strtol(e->d_name, &end, 10);

		if (*end != '\0' || v < 0 || v > 0x7fffffff || v == dirfd(d))
			continue;
		if (getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
		    type != SOCK_STREAM ||
		    getpeername((int)v, (struct sockaddr *)&sa, &salen) != 0)
			continue;
		int peer = sa.ss_family == AF_INET ?
		    ntohs(((struct sockaddr_in *)&sa)->sin_port) :
		    sa.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&sa)->sin6_port) : -1;
		if (peer != port)
			continue;
		if (n < max)
			fds[n] = (int)v;
		n++;
	}
	closedir(d);
	return n;
}

int
br_tcp_nodelay(int fd, bool on)
{
	int v = on;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) == 0 ?
	    0 : -errno;
}

int
br_url_port(const char *url)
{
	static const struct { const char *scheme; int port; } defaults[] = {
		{ "mqtt", 1883 }, { "tcp", 1883 }, { "mqtts", 8883 },
		{ "ssl", 8883 }, { "ws", 80 }, { "http", 80 }, { "wss", 443 },
		{ "https", 443 },
	};
	const char *sep = url != NULL ? strstr(url, "://") : NULL;

	if (sep == NULL)
		return -1;
	const char *host = sep + 3;
	size_t alen = strcspn(host, "/?#");
	const char *colon = NULL;
	for (const char *p = host; p < host + alen; p++) {
		if (*p == ']')
			colon = NULL;   /* a colon inside [v6] is not the port's */
		else if (*p == ':')
			colon = p;
	}
	if (colon != NULL) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || end != host + alen || v < 1 || v > 65535)
			return -1;
		return (int)v;
	}
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (strlen(defaults[i].scheme) == (size_t)(sep - url) &&
		    strncmp(url, defaults[i].scheme, (size_t)(sep - url)) == 0)
			return defaults[i].port;
	return -1;
}
