/*
 * The PubSub connections: lws client sockets that send LISTEN, UNLISTEN
 * and PING text frames from a queue (lws writes only when the socket is
 * writable), reassemble what Twitch sends, and watch the PONG. What the
 * frames mean is pubsub_pool.c's business.
 *
 * Whole frames and backpressure come from wsrx.h. While we do not read,
 * a PONG or a RESPONSE may wait in the socket too, so a deadline that
 * passes meanwhile is set afresh once we read again. And while we read a
 * backlog the PONG waits behind it: every frame that comes proves the
 * connection alive, so it sets the PONG deadline afresh as well (a dead
 * connection is one silent for pong_ms after our PING).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pubsub_int.h"
#include "util.h"

static void
out_free(struct ps_out *o)
{
	/* LISTEN frames hold a token: leave no copy in freed memory. */
	explicit_bzero(o->buf, LWS_PRE + o->len);
	free(o->buf);
	free(o);
}

static void
conn_free(struct ps_conn *c)
{
	br_timer_stop(&c->ping);
	br_timer_stop(&c->pong);
	br_timer_stop(&c->resp);
	br_wsrx_free(&c->rx);
	while (c->out != NULL) {
		struct ps_out *o = c->out;
		c->out = o->next;
		out_free(o);
	}
	free(c);
}

static void
unlink_conn(struct ps_conn *c)
{
	struct br_pubsub *ps = c->ps;

	if (ps == NULL)
		return;
	for (struct ps_conn **p = &ps->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	for (struct ps_conn *x = ps->conns; x; x = x->next)
		if (x->replaces == c)
			x->replaces = NULL;
}

static void
stop_timers(struct ps_conn *c)
{
	br_timer_stop(&c->ping);
	br_timer_stop(&c->pong);
	br_timer_stop(&c->resp);
	br_wsrx_stop(&c->rx);
}

void
ps_conn_forget(struct ps_conn *c)
{
	c->ps = NULL;
	stop_timers(c);
}

void
ps_send(struct ps_conn *c, const char *text, size_t len)
{
	struct ps_out *o = br_xcalloc(1, sizeof *o);

	o->len = len;
	o->buf = br_xmalloc(LWS_PRE + len);
	memcpy(o->buf + LWS_PRE, text, len);
	if (c->out == NULL)
		c->out_tail = &c->out;
	*c->out_tail = o;
	c->out_tail = &o->next;
	if (c->wsi != NULL && c->open)
		lws_callback_on_writable(c->wsi);
}

static void
write_one(struct ps_conn *c)
{
	struct ps_out *o = c->out;

	if (o == NULL || c->dropping)
		return;
	c->out = o->next;
	if (lws_write(c->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_TEXT) <
	    (int)o->len) {
		out_free(o);
		ps_drop(c, "write failed");
		return;
	}
	out_free(o);
	if (c->out != NULL)
		lws_callback_on_writable(c->wsi);
}

/* ---- keepalive ---- */

static void
pong_missed(void *arg)
{
	struct ps_conn *c = arg;

	if (br_wsrx_paused(&c->rx)) {
		c->pong_owed = true;
		return;
	}
	log_warn("pubsub: no PONG within %ld ms on connection %u; "
	    "reconnecting", c->ps->pong_ms, c->serial);
	ps_drop(c, "pong timeout");
}

static void
ping_due(void *arg)
{
	static const char ping[] = "{\"type\":\"PING\"}";
	struct ps_conn *c = arg;

	ps_send(c, ping, sizeof ping - 1);
	br_timer_start(&c->pong, c->ps->pong_ms);
}

/* Jittered down by up to a fifth, so that a pool (or a fleet) does not
 * ping in lock-step, and always under Twitch's 5 minutes. */
void
ps_arm_ping(struct ps_conn *c)
{
	long base = c->ps->ping_ms;

	br_timer_start(&c->ping, base - (long)(br_random64() %
	    (uint64_t)(base / 5 + 1)));
}

static void
resp_due(void *arg)
{
	struct ps_conn *c = arg;

	if (br_wsrx_paused(&c->rx)) {
		c->resp_owed = true;
		return;
	}
	ps_response_timeout(c->ps, c);
}

/* Reading again (see the top). */
static void
rx_resumed(void *arg)
{
	struct ps_conn *c = arg;

	if (c->pong_owed)
		br_timer_start(&c->pong, c->ps->pong_ms);
	if (c->resp_owed)
		br_timer_start(&c->resp, c->ps->response_ms);
	c->pong_owed = c->resp_owed = false;
}

/* ---- receiving ---- */

static void
handle_message(void *arg, const char *buf, size_t len)
{
	struct ps_conn *c = arg;
	struct br_pubsub *ps = c->ps;
	struct br_ps_frame f;
	char err[256];

	if (br_timer_pending(&c->pong))
		br_timer_start(&c->pong, ps->pong_ms);
	if (br_ps_frame_parse(buf, len, &f, err, sizeof err) < 0) {
		log_warn("pubsub: skipping a malformed frame: %s", err);
		br_metrics_add(ps->metrics, "twitch2mqtt_events_dropped_total",
		    1, "reason", "malformed", NULL);
		return;
	}
	switch (f.kind) {
	case BR_PS_MESSAGE:
		ps_on_message(ps, &f);
		break;
	case BR_PS_PONG:
		br_timer_stop(&c->pong);
		ps_arm_ping(c);
		break;
	case BR_PS_RESPONSE:
		ps_on_response(ps, c, f.nonce, f.error);
		break;
	case BR_PS_RECONNECT:
		ps_on_reconnect(ps, c);
		break;
	default:
		log_debug("pubsub: ignoring a %s frame", f.type);
		break;
	}
	br_ps_frame_release(&f);
}

static const struct br_wsrx_hooks rx_hooks = {
	handle_message, NULL, rx_resumed,
};

static void
on_gone(struct ps_conn *c, const char *why)
{
	struct br_pubsub *ps = c->ps;

	/* Failing inside lws_client_connect_via_info: ps_connect cleans. */
	if (c->in_connect) {
		c->gone_early = true;
		return;
	}
	unlink_conn(c);
	c->wsi = NULL;
	if (ps != NULL) {
		log_info("pubsub: connection %u closed (%s)", c->serial, why);
		ps_on_lost(ps, c);
	}
	conn_free(c);
}

static int
ps_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ps_conn *c = user;

	if (c == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->wsi = wsi;
		c->open = true;
		if (c->ps != NULL && !c->dropping) {
			log_info("pubsub: connection %u open", c->serial);
			ps_arm_ping(c);
			ps_on_open(c->ps, c);
		}
		if (c->out != NULL)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		write_one(c);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c->ps != NULL && !c->dropping)
			br_wsrx_receive(&c->rx, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		on_gone(c, in ? (const char *)in : "connect failed");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_gone(c, "closed");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols ps_protocols[] = {
	{ "twitch-pubsub", ps_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int
ps_vhost_init(struct br_pubsub *ps)
{
	ps->vhost = br_wsrx_vhost(ps->loop, "twitch-pubsub", ps_protocols,
	    ps->ca_file);
	return ps->vhost != NULL ? 0 : -1;
}

void
ps_drop(struct ps_conn *c, const char *why)
{
	if (c->dropping || c->wsi == NULL)
		return;
	log_debug("pubsub: dropping connection %u: %s", c->serial, why);
	c->dropping = true;
	stop_timers(c);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void
ps_drop_all(struct br_pubsub *ps)
{
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		ps_drop(c, "shutting down");
}

/* A new connection, linked; NULL when it failed at once (ps_on_lost
 * has run for it then). */
struct ps_conn *
ps_connect(struct br_pubsub *ps, struct ps_conn *replaces)
{
	struct ps_conn *c = br_xcalloc(1, sizeof *c);
	char who[32];

	c->ps = ps;
	c->serial = ++ps->conn_serial;
	c->replaces = replaces;
	br_timer_init(&c->ping, ps->loop, ping_due, c);
	br_timer_init(&c->pong, ps->loop, pong_missed, c);
	br_timer_init(&c->resp, ps->loop, resp_due, c);
	br_wsrx_init(&c->rx, ps->loop, ps->bus, ps->metrics, "pubsub",
	    PS_FRAME_MAX, &rx_hooks, c);
	c->next = ps->conns;
	ps->conns = c;
	snprintf(who, sizeof who, "pubsub: connection %u", c->serial);
	c->in_connect = true;
	struct lws *wsi = br_wsrx_connect(ps->loop, ps->vhost, ps->url,
	    "twitch-pubsub", c, who,
	    replaces ? " (RECONNECT: replacing a connection)" : "");
	c->in_connect = false;
	if (wsi != NULL && !c->gone_early) {
		c->wsi = wsi;
		return c;
	}
	unlink_conn(c);
	ps_on_lost(ps, c);
	conn_free(c);
	return NULL;
}
