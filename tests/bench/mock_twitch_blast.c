/*
 * mock_twitch_blast: the source benchmark's Twitch (twitch_run.sh). One
 * libwebsockets server on 127.0.0.1:PORT that answers the few HTTP calls
 * the bridge makes and pushes N events to it as fast as the socket takes
 * them, or paced at RATE a second, over one of two transports:
 *
 * EventSub (default): on /ws, session_welcome, then channel.cheer
 * notifications starting DELAY ms after the subscription was created;
 * session_keepalive every KEEPALIVE s.
 * PubSub (-P): on /pubsub, a RESPONSE to each LISTEN (the blast starts
 * DELAY ms after the first), a PONG to each PING, and MESSAGE frames on
 * channel-bits-events-v2.1337 (pubsub.md's bits v2 document).
 *
 *   GET  /oauth2/validate               200, the token of cool_streamer (1337)
 *   GET  /helix/users?login=..          200, cool_streamer
 *   POST /helix/eventsub/subscriptions  202, an enabled subscription
 *
 * Every event has a unique id and is made just before it is sent; its
 * text carries that instant in microseconds, "Cheer100 bench_us=<epoch
 * us>", which the normalizer copies into the event's "message" verbatim;
 * the subscriber (bench_sub -k bench_us= -W) takes its latency from there.
 *
 * Unpaced, every writeable callback appends whole frames to one buffer
 * (about 64 KiB) and hands it to lws as raw bytes: one send() for many
 * messages. lws keeps what the socket did not take and calls back only
 * once that is out: the socket, that is the bridge's reading, sets the
 * pace.
 *
 * Paced, a thread wakes the lws loop every millisecond (lws's own timers
 * would spin below their millisecond resolution) and each wake-up sends
 * what is due by then.
 *
 * Prints "listening" once it accepts connections, and at exit (SIGTERM,
 * SIGINT) one JSON line: {"sent","first_us","last_us","duration_s",
 * "rate","cpu_s","connections","http"}.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "blast.h"

#define BATCH_BYTES (64 * 1024)
#define TICK_US 1000

static struct {
	long n;                 /* notifications to send */
	double rate;            /* a second; 0: as fast as the socket allows */
	long delay_ms;
	long keepalive_s;
	bool wait_sub;          /* start only once the subscription exists */
	bool pubsub;            /* -P: PubSub, not EventSub */

	struct lws_context *ctx;
	struct lws *ws;         /* the (one) EventSub session */
	char session_id[64];
	unsigned id_prefix;
	bool welcome_due, keepalive_due;
	unsigned char ctl[4096];        /* PubSub answers due, framed */
	size_t ctl_len;
	bool blasting, done;
	atomic_bool pacing;     /* the pacer thread wakes the loop */
	long sent;
	int64_t start_mono_us;  /* when the blast started */
	int64_t first_us, last_us;      /* wall clock of first and last */
	long connections, http_requests;
	lws_sorted_usec_list_t start_sul, keepalive_sul;
	unsigned char *buf;     /* LWS_PRE + BATCH_BYTES + MSG_MAX */
} m = { .delay_ms = 200, .keepalive_s = 10, .wait_sub = true };

static volatile sig_atomic_t stop;

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the blast ---- */

static void
want_write(void)
{
	if (m.ws != NULL)
		lws_callback_on_writable(m.ws);
}

/* The pacer thread: wakes the loop every TICK_US while pacing. */
static void *
pacer(void *arg)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	while (!stop) {
		t.tv_nsec += TICK_US * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		if (atomic_load(&m.pacing))
			lws_cancel_service(m.ctx);
	}
	return NULL;
}

static void
start_blast(lws_sorted_usec_list_t *sul)
{
	if (m.blasting || m.done || m.ws == NULL)
		return;
	m.blasting = true;
	m.start_mono_us = mono_us();
	fprintf(stderr, "mock: blasting %ld notifications%s\n", m.n,
	    m.rate > 0 ? " (paced)" : "");
	want_write();
	if (m.rate > 0)
		atomic_store(&m.pacing, true);
}

static void
keepalive(lws_sorted_usec_list_t *sul)
{
	m.keepalive_due = true;
	want_write();
	lws_sul_schedule(m.ctx, 0, &m.keepalive_sul, keepalive,
	    m.keepalive_s * LWS_US_PER_SEC);
}

/* How many notifications are due now. */
static long
due(void)
{
	if (m.rate <= 0)
		return m.n;
	double el = (double)(mono_us() - m.start_mono_us) / 1e6;
	long d = (long)(el * m.rate) + 1;
	return d < m.n ? d : m.n;
}

static int
write_session(struct lws *wsi, bool welcome)
{
	unsigned char *p = m.buf + LWS_PRE;
	size_t len = welcome ? blast_eventsub_welcome((char *)p, m.id_prefix,
	    m.session_id, m.keepalive_s) :
	    blast_eventsub_keepalive((char *)p, m.id_prefix);

	return lws_write(wsi, p, len, LWS_WRITE_TEXT) < (int)len ? -1 : 0;
}

/* The next event, framed at out; its length. */
static size_t
next_event(unsigned char *out)
{
	char text[MSG_MAX];
	int64_t us;
	size_t len = m.pubsub ? blast_pubsub_bits(text, m.id_prefix, m.sent,
	    &us) : blast_eventsub_cheer(text, m.id_prefix, m.sent,
	    m.session_id, &us);

	if (m.sent == 0)
		m.first_us = us;
	m.last_us = us;
	m.sent++;
	return blast_frame(out, text, len);
}

/* A PubSub answer to a client frame, sent before more events. */
static void
answer_pubsub(const char *in, size_t len)
{
	char text[MSG_MAX];
	size_t n;

	if (memmem(in, len, "\"LISTEN\"", 8) != NULL) {
		n = blast_pubsub_response(text, in, len);
		if (!m.blasting && !m.done)
			lws_sul_schedule(m.ctx, 0, &m.start_sul, start_blast,
			    m.delay_ms * LWS_US_PER_MS);
	} else if (memmem(in, len, "\"PING\"", 6) != NULL) {
		n = blast_pubsub_pong(text);
	} else {
		return;         /* UNLISTEN: the bench sends none */
	}
	if (m.ctl_len + n + 4 <= sizeof m.ctl)
		m.ctl_len += blast_frame(m.ctl + m.ctl_len, text, n);
	want_write();
}

static int
writeable(struct lws *wsi)
{
	if (m.welcome_due) {
		m.welcome_due = false;
		if (write_session(wsi, true) < 0)
			return -1;
		if (!m.wait_sub)
			lws_sul_schedule(m.ctx, 0, &m.start_sul, start_blast,
			    m.delay_ms * LWS_US_PER_MS);
		lws_sul_schedule(m.ctx, 0, &m.keepalive_sul, keepalive,
		    m.keepalive_s * LWS_US_PER_SEC);
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (m.keepalive_due) {
		m.keepalive_due = false;
		if (write_session(wsi, false) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	unsigned char *out = m.buf + LWS_PRE;
	size_t off = m.ctl_len;
	memcpy(out, m.ctl, m.ctl_len);
	m.ctl_len = 0;
	long until = m.blasting ? due() : 0;
	while (m.sent < until && off < BATCH_BYTES)
		off += next_event(out + off);
	if (off > 0 && lws_write(wsi, out, off, LWS_WRITE_RAW) < (int)off)
		return -1;
	if (m.blasting && m.sent >= m.n) {
		m.blasting = false;
		m.done = true;
		atomic_store(&m.pacing, false);
		double d = (double)(m.last_us - m.first_us) / 1e6;
		fprintf(stderr, "mock: sent %ld in %.3f s (%.0f/s)\n", m.sent, d,
		    d > 0 ? (double)(m.sent - 1) / d : 0.0);
		return 0;
	}
	if (m.blasting && m.rate <= 0)
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- HTTP ---- */

struct pss {
	int status;
	unsigned char pre[LWS_PRE];     /* lws_write's headroom */
	char body[1024];
	size_t len;
	bool is_sub_post;
};

static void
answer(struct pss *p, int status, const char *body)
{
	p->status = status;
	p->len = (size_t)snprintf(p->body, sizeof p->body, "%s", body);
}

static int
start_reply(struct lws *wsi, struct pss *p)
{
	unsigned char hb[LWS_PRE + 512];
	unsigned char *start = hb + LWS_PRE, *q = start, *end = hb + sizeof hb - 1;

	if (lws_add_http_common_headers(wsi, (unsigned)p->status,
	    "application/json", p->len, &q, end) ||
	    lws_finalize_write_http_header(wsi, start, &q, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
on_http(struct lws *wsi, struct pss *p, const char *uri)
{
	char arg[128];

	m.http_requests++;
	memset(p, 0, sizeof *p);
	bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
	if (!post && strcmp(uri, "/oauth2/validate") == 0) {
		answer(p, 200, "{\"client_id\":\"benchclient\",\"login\":"
		    "\"cool_streamer\",\"user_id\":\"1337\",\"scopes\":"
		    "[\"bits:read\",\"channel:read:redemptions\","
		    "\"channel:read:subscriptions\",\"moderator:read:followers\"],"
		    "\"expires_in\":3600}");
	} else if (!post && strcmp(uri, "/helix/users") == 0) {
		const char *login = lws_get_urlarg_by_name(wsi, "login=", arg,
		    sizeof arg);
		if (login != NULL && strcmp(login, "cool_streamer") != 0)
			answer(p, 200, "{\"data\":[]}");
		else
			answer(p, 200, "{\"data\":[{\"id\":\"1337\",\"login\":"
			    "\"cool_streamer\",\"display_name\":"
			    "\"Cool_Streamer\",\"type\":\"\",\"broadcaster_type\":"
			    "\"partner\"}]}");
	} else if (post && strcmp(uri, "/helix/eventsub/subscriptions") == 0) {
		p->is_sub_post = true;
		return 0;       /* the body follows */
	} else {
		answer(p, 404, "{\"error\":\"Not Found\",\"status\":404,"
		    "\"message\":\"not in this mock\"}");
	}
	return start_reply(wsi, p);
}

static int
on_sub_post(struct lws *wsi, struct pss *p)
{
	char body[768];

	snprintf(body, sizeof body, "{\"data\":[{\"id\":"
	    "\"5d7e1f2a-8a1b-4c3d-9e0f-1a2b3c4d5e6f\",\"status\":\"enabled\","
	    "\"type\":\"channel.cheer\",\"version\":\"1\",\"condition\":"
	    "{\"broadcaster_user_id\":\"1337\"},\"created_at\":"
	    "\"2025-03-14T17:00:00.000000000Z\",\"transport\":{\"method\":"
	    "\"websocket\",\"session_id\":\"%s\"},\"cost\":0}],\"total\":1,"
	    "\"total_cost\":0,\"max_total_cost\":10}", m.session_id);
	answer(p, 202, body);
	if (m.wait_sub && !m.blasting && !m.done)
		lws_sul_schedule(m.ctx, 0, &m.start_sul, start_blast,
		    m.delay_ms * LWS_US_PER_MS);
	return start_reply(wsi, p);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct pss *p = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, p, in) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return p->is_sub_post && on_sub_post(wsi, p) ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (p == NULL || p->status == 0)
			return 0;
		if (lws_write(wsi, (unsigned char *)p->body, p->len,
		    LWS_WRITE_HTTP_FINAL) < (int)p->len)
			return -1;
		p->status = 0;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_ESTABLISHED:
		if (m.ws != NULL)
			return -1;      /* one session at a time */
		m.ws = wsi;
		m.connections++;
		snprintf(m.session_id, sizeof m.session_id,
		    "AgoQbench%08xSession%ld", m.id_prefix, m.connections);
		m.welcome_due = !m.pubsub;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return wsi == m.ws ? writeable(wsi) : 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (m.blasting)
			want_write();
		return 0;
	case LWS_CALLBACK_RECEIVE:
		if (m.pubsub && wsi == m.ws)
			answer_pubsub(in, len);
		else
			fprintf(stderr, "mock: the client sent a message "
			    "(EventSub closes with 4001)\n");
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (wsi == m.ws) {
			m.ws = NULL;
			m.blasting = false;
			atomic_store(&m.pacing, false);
			lws_sul_cancel(&m.keepalive_sul);
			lws_sul_cancel(&m.start_sul);
			if (!m.done && m.sent > 0)
				fprintf(stderr, "mock: session closed after "
				    "%ld of %ld\n", m.sent, m.n);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	/* First: it takes plain HTTP and the upgrade without a protocol. */
	{ "twitch-eventsub", callback, sizeof(struct pss), 4096, 0, NULL,
	  BATCH_BYTES + MSG_MAX + LWS_PRE },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
on_signal(int sig)
{
	stop = 1;
	if (m.ctx != NULL)
		lws_cancel_service(m.ctx);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mock_twitch_blast -p PORT -n COUNT [-r RATE] "
	    "[-d DELAY_MS] [-k KEEPALIVE_S] [-S] [-P]\n"
	    "  -P       PubSub (on /pubsub), not EventSub (on /ws)\n"
	    "  -r RATE  notifications a second (default: as fast as the "
	    "socket allows)\n"
	    "  -S       start DELAY_MS after the welcome, not after the "
	    "subscription\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	int port = 0, ch;

	while ((ch = getopt(argc, argv, "p:n:r:d:k:SP")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'n': m.n = atol(optarg); break;
		case 'r': m.rate = atof(optarg); break;
		case 'd': m.delay_ms = atol(optarg); break;
		case 'k': m.keepalive_s = atol(optarg); break;
		case 'S': m.wait_sub = false; break;
		case 'P': m.pubsub = true; break;
		default: usage();
		}
	}
	if (port <= 0 || m.n <= 0 || m.keepalive_s <= 0)
		usage();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m.id_prefix = (unsigned)(ts.tv_nsec ^ (ts.tv_sec << 20) ^ getpid());
	m.buf = malloc(LWS_PRE + BATCH_BYTES + MSG_MAX);
	if (m.buf == NULL)
		return 2;

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.keepalive_timeout = 30;
	info.timeout_secs = 30;
	m.ctx = lws_create_context(&info);
	if (m.ctx == NULL) {
		fprintf(stderr, "mock: cannot listen on 127.0.0.1:%d\n", port);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	pthread_t pt;
	bool have_pacer = m.rate > 0 &&
	    pthread_create(&pt, NULL, pacer, NULL) == 0;
	printf("listening\n");
	fflush(stdout);
	while (!stop)
		if (lws_service(m.ctx, 0) < 0)
			break;
	if (have_pacer)
		pthread_join(pt, NULL);
	lws_context_destroy(m.ctx);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	double d = (double)(m.last_us - m.first_us) / 1e6;
	printf("{\"sent\":%ld,\"want\":%ld,\"first_us\":%lld,\"last_us\":%lld,"
	    "\"duration_s\":%.6f,\"rate\":%.1f,\"cpu_s\":%.3f,"
	    "\"connections\":%ld,\"http\":%ld}\n", m.sent, m.n,
	    (long long)m.first_us, (long long)m.last_us, d,
	    d > 0 ? (double)(m.sent - 1) / d : 0.0, cpu, m.connections,
	    m.http_requests);
	free(m.buf);
	return 0;
}
