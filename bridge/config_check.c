/*
 * Validation of single configuration values (CONTRACT section 2). Each
 * check returns NULL or one sentence for "<key>: <sentence>"; config.c
 * adds the key, or the variable the value came from. Sentences quote the
 * value through br_quote(), URLs without their user:password@ part, and
 * never quote a secret (webhook.secret is judged by its length only).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "log.h"
#include "request.h"
#include "util.h"

char *
br_url_redact(const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *at;
	size_t n;

	if (sep == NULL)
		return br_xstrdup(url);
	auth = sep + 3;
	n = strcspn(auth, "/?#");
	for (at = auth + n; at > auth && at[-1] != '@'; at--)
		;
	if (at == auth)
		return br_xstrdup(url);
	return br_xasprintf("%.*s%s", (int)(auth - url), url, at);
}

/* host[:port] or [v6][:port] in s[0..len); host is copied without the
 * brackets; *port is -1 when absent. */
static int
hostport(const char *s, size_t len, char *host, size_t size, int *port)
{
	const char *h = s, *end = s + len, *colon, *close;
	size_t hl, dl;

	*port = -1;
	if (len > 0 && *s == '[') {
		if ((close = memchr(s, ']', len)) == NULL || close == s + 1)
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(s, ':', len);
		hl = colon ? (size_t)(colon - s) : len;
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return -1;      /* an IPv6 address needs its brackets */
	}
	if (hl >= size || memchr(h, ' ', hl) || memchr(h, '@', hl))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon == NULL)
		return 0;
	dl = (size_t)(end - colon - 1);
	if (dl < 1 || dl > 5 || strspn(colon + 1, "0123456789") < dl)
		return -1;
	*port = atoi(colon + 1);
	return *port >= 1 && *port <= 65535 ? 0 : -1;
}

int
br_config_listen_split(const char *listen, char *host, size_t size, int *port)
{
	if (listen == NULL || hostport(listen, strlen(listen), host, size, port))
		return -1;
	return *port < 0 ? -1 : 0;
}

/* schemes is " mqtt mqtts ... "; said is how the sentence lists them. */
static char *
check_url(const char *s, const char *schemes, const char *said)
{
	char *clean = br_url_redact(s), *msg = NULL;
	char q[BR_QUOTE_MAX + 8], host[256], scheme[16];
	const char *sep = strstr(clean, "://"), *auth;
	int port;

	br_quote(q, sizeof q, clean);
	if (sep == NULL || sep == clean || (size_t)(sep - clean) > 8)
		goto bad_scheme;
	snprintf(scheme, sizeof scheme, " %.*s ", (int)(sep - clean), clean);
	if (strstr(schemes, scheme) == NULL)
		goto bad_scheme;
	auth = sep + 3;
	if (hostport(auth, strcspn(auth, "/?#"), host, sizeof host, &port) ||
	    host[0] == '\0')
		msg = br_xasprintf("must name a host and optionally a port of "
		    "1-65535, as in %.*shost:port (got '%s')",
		    (int)(strstr(said, "://") + 3 - said), said, q);
	free(clean);
	return msg;
bad_scheme:
	free(clean);
	return br_xasprintf("must start with %s (got '%s')", said, q);
}

static char *
mqtt_url(const char *s, long long *n)
{
	return check_url(s, " mqtt mqtts ws wss tcp ssl ",
	    "mqtt://, mqtts://, ws:// or wss://");
}

static char *
http_url(const char *s, long long *n)
{
	return check_url(s, " http https ", "https:// or http://");
}

static char *
ws_url(const char *s, long long *n)
{
	return check_url(s, " ws wss ", "wss:// or ws://");
}

static char *
public_url(const char *s, long long *n)
{
	return s[0] ? http_url(s, n) : NULL;
}

static char *
nonempty(const char *s, long long *n)
{
	return s[0] ? NULL : br_xstrdup("must not be empty");
}

static char *
topic(const char *s, long long *unused)
{
	char q[BR_QUOTE_MAX + 8];
	size_t n = strlen(s);

	br_quote(q, sizeof q, s);
	if (n == 0)
		return br_xstrdup("must not be empty");
	if (strpbrk(s, "+#") != NULL)
		return br_xasprintf("must not contain + or # (got '%s')", q);
	if (s[0] == '/' || s[n - 1] == '/')
		return br_xasprintf("must not start or end with / (got '%s')", q);
	if (s[0] == '$')
		return br_xasprintf("must not start with $, which brokers "
		    "reserve (got '%s')", q);
	return NULL;
}

static char *
qos(const char *s, long long *n)
{
	if (*n >= 0 && *n <= 2)
		return NULL;
	return br_xasprintf("must be 0, 1 or 2 (got %lld)", *n);
}

/* 4 is 3.1.1's protocol level on the wire, so people write it. */
static char *
version(const char *s, long long *n)
{
	if (*n == 4)
		*n = 3;
	if (*n == 3 || *n == 5)
		return NULL;
	return br_xasprintf("must be 5 or 3 (MQTT 3.1.1) (got %lld)", *n);
}

static char *
buffer_max(const char *s, long long *n)
{
	if (*n >= 1 && *n <= 10000000)
		return NULL;
	return br_xasprintf("must be 1 to 10000000 events (got %lld)", *n);
}

/* Checked here so that -n catches a typo in a path, rather than the
 * first TLS handshake an hour later. */
static char *
readable(const char *s, long long *n)
{
	char q[BR_QUOTE_MAX + 8];

	if (s[0] == '\0' || access(s, R_OK) == 0)
		return NULL;
	br_quote(q, sizeof q, s);
	return br_xasprintf("cannot read '%s': %s", q, strerror(errno));
}

static char *
listen_addr(const char *s, long long *n)
{
	char q[BR_QUOTE_MAX + 8], host[256];
	int port;

	if (s[0] == '\0' || br_config_listen_split(s, host, sizeof host, &port) == 0)
		return NULL;
	br_quote(q, sizeof q, s);
	return br_xasprintf("must be empty (off), host:port, :port or "
	    "[v6addr]:port with a port of 1-65535 (got '%s')", q);
}

/* WebSub callbacks append "?channel=...", so the path holds no query. */
static char *
path(const char *s, long long *n)
{
	char q[BR_QUOTE_MAX + 8];

	if (s[0] == '/' && strpbrk(s, " ?#\t\r\n") == NULL)
		return NULL;
	br_quote(q, sizeof q, s);
	return br_xasprintf("must start with / and hold no spaces, ? or # "
	    "(got '%s')", q);
}

static char *
secret(const char *s, long long *n)
{
	size_t len = strlen(s);

	if (len == 0 || (len >= 10 && len <= 100))
		return NULL;
	return br_xasprintf("must be empty or 10-100 characters long (got %zu "
	    "characters)", len);
}

static char *
log_level(const char *s, long long *n)
{
	enum br_log_level level;
	char q[BR_QUOTE_MAX + 8];

	if (br_log_parse_level(s, &level) == 0)
		return NULL;
	br_quote(q, sizeof q, s);
	return br_xasprintf("must be error, warn, info or debug (got '%s')", q);
}

static const struct {
	const char *key;
	char *(*check)(const char *s, long long *n);
} checks[] = {
	{ "mqtt.url", mqtt_url },
	{ "mqtt.client_id", nonempty },
	{ "mqtt.base_topic", topic },
	{ "mqtt.qos", qos },
	{ "mqtt.version", version },
	{ "mqtt.ca_file", readable },
	{ "mqtt.cert_file", readable },
	{ "mqtt.key_file", readable },
	{ "mqtt.buffer_max", buffer_max },
	{ "twitch.api_url", http_url },
	{ "twitch.auth_url", http_url },
	{ "twitch.eventsub_url", ws_url },
	{ "twitch.pubsub_url", ws_url },
	{ "twitch.ca_file", readable },
	{ "http.listen", listen_addr },
	{ "http.cert_file", readable },
	{ "http.key_file", readable },
	{ "webhook.path", path },
	{ "webhook.public_url", public_url },
	{ "webhook.secret", secret },
	{ "homeassistant.prefix", topic },
	{ "bridge.state_dir", nonempty },
	{ "bridge.log_level", log_level },
};

char *
br_config_check(const char *key, const char *text, long long *num)
{
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		if (strcmp(checks[i].key, key) == 0)
			return checks[i].check(text ? text : "", num);
	return NULL;
}
