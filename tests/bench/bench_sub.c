/*
 * bench_sub: the benchmark's receiving end. Subscribes to a topic filter
 * at a QoS, counts N messages and prints one JSON line:
 *
 *   {"count":N,"complete":true,"duration_s":..,"rate":..,
 *    "lat_n":..,"p50_us":..,"p99_us":..,"max_us":..}
 *
 * duration and rate run from the first counted message to the last.
 * Latency is this process's CLOCK_MONOTONIC at arrival minus the
 * "bench_us" number in the payload (the publisher's CLOCK_MONOTONIC at
 * event creation; both on this machine). Payloads without it (the daemon's
 * demo events) count but give no latency. -k names another key (the text
 * right before the number) and -W takes the wall clock (CLOCK_REALTIME)
 * instead: the EventSub benchmark's mock writes "bench_us=<epoch us>"
 * into the cheer's message text.
 *
 * Prints "ready" on a line of its own once the subscription is granted,
 * so the runner starts the publisher only then. Exits 0 when N arrived,
 * 1 when it gave up (no message for --idle seconds, or --timeout).
 *
 * It speaks MQTT 3.1.1 itself over one blocking socket, in one thread:
 * a counter that shares two cores with the publisher and the broker
 * should take as little of them as it can. A paho client did the same
 * job for 7.5 us of CPU per message, more than the broker's 6.3; this
 * reads hundreds of messages a syscall and acknowledges (QoS 1) all of
 * one read in one write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_report.h"

#define READ_MAX (256 * 1024)
#define KEEPALIVE_S 60

static struct {
	const char *match;      /* count only payloads containing this */
	const char *key;        /* the latency number follows this */
	size_t key_len;
	clockid_t clock;
	long want;
	long count, lat_n;
	int64_t first_us, last_us;
	int64_t *lat;
	int fd;
	unsigned char *in;      /* bytes read, not yet a whole packet */
	size_t in_len, in_cap;
	unsigned char *acks;    /* PUBACKs owed for this read */
	size_t acks_len, acks_cap;
} st = { .key = "\"bench_us\":", .clock = CLOCK_MONOTONIC, .fd = -1 };

static int64_t
us_of(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
write_all(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(st.fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t
put_len(unsigned char *p, size_t len)
{
	size_t i = 0;

	do {
		unsigned char b = len % 128;
		len /= 128;
		p[i++] = b | (len > 0 ? 0x80 : 0);
	} while (len > 0);
	return i;
}

static size_t
put_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	p[0] = (unsigned char)(n >> 8);
	p[1] = (unsigned char)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

/* A packet of type byte `type` with body[0..len). */
static int
send_packet(unsigned char type, const unsigned char *body, size_t len)
{
	unsigned char *p = malloc(len + 5);
	size_t n = 0;
	int rc;

	if (p == NULL)
		return -1;
	p[n++] = type;
	n += put_len(p + n, len);
	memcpy(p + n, body, len);
	rc = write_all(p, n + len);
	free(p);
	return rc;
}

static int
connect_to(const char *url)
{
	char host[256];
	const char *h = strstr(url, "://");
	const char *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int one = 1;

	h = h != NULL ? h + 3 : url;
	if ((colon = strrchr(h, ':')) == NULL || (size_t)(colon - h) >= sizeof host)
		return -1;
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	st.fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (st.fd < 0 || connect(st.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(st.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

/* Reads one whole packet during the handshake: its type byte and body. */
static int
read_packet(unsigned char *type, unsigned char *body, size_t cap, size_t *len)
{
	unsigned char b;
	size_t n = 0, mult = 1;

	if (read(st.fd, type, 1) != 1)
		return -1;
	do {
		if (read(st.fd, &b, 1) != 1)
			return -1;
		n += (b & 127) * mult;
		mult *= 128;
	} while (b & 0x80);
	if (n > cap)
		return -1;
	for (size_t got = 0; got < n;) {
		ssize_t r = read(st.fd, body + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	*len = n;
	return 0;
}

static int
handshake(const char *client_id, const char *filter, int qos)
{
	unsigned char body[1024], type;
	size_t n = 0, len;

	if (strlen(client_id) > 200 || strlen(filter) > 500)
		return -1;
	n += put_str(body + n, "MQTT");
	body[n++] = 4;          /* 3.1.1 */
	body[n++] = 0x02;       /* clean session */
	body[n++] = 0;
	body[n++] = KEEPALIVE_S;
	n += put_str(body + n, client_id);
	if (send_packet(0x10, body, n) != 0 ||
	    read_packet(&type, body, sizeof body, &len) != 0 ||
	    type != 0x20 || len != 2 || body[1] != 0) {
		fprintf(stderr, "bench_sub: the broker refused the connection\n");
		return -1;
	}
	n = 0;
	body[n++] = 0;
	body[n++] = 1;          /* packet id */
	n += put_str(body + n, filter);
	body[n++] = (unsigned char)qos;
	if (send_packet(0x82, body, n) != 0 ||
	    read_packet(&type, body, sizeof body, &len) != 0 ||
	    type != 0x90 || len != 3 || body[2] > 2) {
		fprintf(stderr, "bench_sub: the subscription was refused\n");
		return -1;
	}
	return 0;
}

static void
owe_ack(const unsigned char *id)
{
	if (st.acks_len + 4 > st.acks_cap) {
		st.acks_cap = st.acks_cap ? st.acks_cap * 2 : 4096;
		st.acks = realloc(st.acks, st.acks_cap);
		if (st.acks == NULL)
			abort();
	}
	st.acks[st.acks_len++] = 0x40;
	st.acks[st.acks_len++] = 2;
	st.acks[st.acks_len++] = id[0];
	st.acks[st.acks_len++] = id[1];
}

static void
count(const char *p, size_t n, int64_t now, int64_t at)
{
	const char *b;

	if (st.count >= st.want)
		return;
	if (st.match != NULL && memmem(p, n, st.match, strlen(st.match)) == NULL)
		return;
	if (st.count == 0)
		st.first_us = now;
	st.last_us = now;
	if ((b = memmem(p, n, st.key, st.key_len)) != NULL) {
		/* The number ends before the payload does: the key is followed
		 * by at least a closing brace or quote in every payload. */
		st.lat[st.lat_n++] = at - strtoll(b + st.key_len, NULL, 10);
	}
	st.count++;
}

/* One PUBLISH body: topic, packet id (QoS > 0), payload. */
static int
on_publish(unsigned char type, const unsigned char *b, size_t len,
    int64_t now, int64_t at)
{
	int qos = (type >> 1) & 3;
	size_t off;

	if (len < 2)
		return -1;
	off = 2 + ((size_t)b[0] << 8 | b[1]);
	if (qos > 0) {
		if (off + 2 > len)
			return -1;
		owe_ack(b + off);
		off += 2;
	}
	if (off > len)
		return -1;
	count((const char *)b + off, len - off, now, at);
	return 0;
}

/* Every whole packet in st.in; keeps the rest. */
static int
parse_input(void)
{
	int64_t now = us_of(CLOCK_MONOTONIC);
	int64_t at = st.clock == CLOCK_MONOTONIC ? now : us_of(st.clock);
	size_t pos = 0;

	for (;;) {
		size_t len = 0, mult = 1, i = pos + 1;
		unsigned char b;

		do {
			if (i >= st.in_len || i - pos > 4)
				goto keep;
			b = st.in[i++];
			len += (b & 127) * mult;
			mult *= 128;
		} while (b & 0x80);
		if (st.in_len - i < len)
			goto keep;
		if ((st.in[pos] & 0xf0) == 0x30 &&
		    on_publish(st.in[pos], st.in + i, len, now, at) != 0)
			return -1;
		pos = i + len;
	}
keep:
	memmove(st.in, st.in + pos, st.in_len - pos);
	st.in_len -= pos;
	return 0;
}

/* Reads what is there (up to a timeout of ms); -1 when the connection
 * is gone or spoke nonsense. */
static int
receive(int ms)
{
	struct pollfd pfd = { .fd = st.fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (st.in_cap - st.in_len < READ_MAX) {
		st.in_cap = st.in_len + READ_MAX;
		if ((st.in = realloc(st.in, st.in_cap)) == NULL)
			abort();
	}
	n = read(st.fd, st.in + st.in_len, st.in_cap - st.in_len);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	st.in_len += (size_t)n;
	if (parse_input() != 0)
		return -1;
	if (st.acks_len > 0 && write_all(st.acks, st.acks_len) != 0)
		return -1;
	st.acks_len = 0;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_sub -u URL -t FILTER -n COUNT [-q QOS] "
	    "[-m MATCH] [-i IDLE_S] [-T TIMEOUT_S] [-c CLIENT_ID] [-k KEY] "
	    "[-W]\n"
	    "  -k KEY  the latency number follows KEY (default \"bench_us\":)\n"
	    "  -W      it is wall clock (CLOCK_REALTIME) microseconds\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *filter = NULL, *client_id = "bench-sub";
	int qos = 0, ch;
	double idle_s = 5, timeout_s = 60;
	bool lost = false;

	while ((ch = getopt(argc, argv, "u:t:n:q:m:i:T:c:k:W")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': filter = optarg; break;
		case 'n': st.want = atol(optarg); break;
		case 'q': qos = atoi(optarg); break;
		case 'm': st.match = optarg; break;
		case 'i': idle_s = atof(optarg); break;
		case 'T': timeout_s = atof(optarg); break;
		case 'c': client_id = optarg; break;
		case 'k': st.key = optarg; break;
		case 'W': st.clock = CLOCK_REALTIME; break;
		default: usage();
		}
	}
	if (url == NULL || filter == NULL || st.want <= 0 || *st.key == '\0' ||
	    qos < 0 || qos > 2)
		usage();
	st.key_len = strlen(st.key);
	if ((st.lat = calloc((size_t)st.want, sizeof *st.lat)) == NULL)
		return 2;
	if (connect_to(url) != 0) {
		fprintf(stderr, "bench_sub: cannot connect to %s\n", url);
		return 2;
	}
	if (handshake(client_id, filter, qos) != 0)
		return 2;
	printf("ready\n");
	fflush(stdout);

	int64_t start = us_of(CLOCK_MONOTONIC), seen_at = start, ping_at = start;
	long seen = 0;
	while (st.count < st.want) {
		if (receive(100) != 0) {
			lost = true;
			break;
		}
		int64_t now = us_of(CLOCK_MONOTONIC);
		if (st.count != seen) {
			seen = st.count;
			seen_at = now;
		} else if (seen > 0 && now - seen_at > (int64_t)(idle_s * 1e6)) {
			break;
		}
		if (now - start > (int64_t)(timeout_s * 1e6))
			break;
		if (now - ping_at > KEEPALIVE_S / 2 * 1000000LL) {
			send_packet(0xc0, NULL, 0);
			ping_at = now;
		}
	}
	send_packet(0xe0, NULL, 0);
	close(st.fd);

	bench_sub_report(st.count, st.want, lost, st.first_us, st.last_us,
	    st.lat, st.lat_n);
	free(st.lat);
	free(st.in);
	free(st.acks);
	return st.count == st.want ? 0 : 1;
}
