/*
 * The PubSub connections: WebSockets (wsrx.h) that send LISTEN, UNLISTEN
 * and PING text frames and watch the PONG. What the frames mean is
 * pubsub_pool.c's business.
 *
 * Whole frames, the send queue and backpressure come from wsrx.h. While we do not read,
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
conn_free(struct ps_conn *c)
{
	br_timer_stop(&c->ping);
	br_timer_stop(&c->pong);
	br_timer_stop(&c->resp);
	br_wsrx_free(&c->rx);
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

/* wsrx queues it until the socket is open; LISTEN frames hold a token,
 * and wsrx leaves no copy in freed memory. */
void
ps_send(struct ps_conn *c, const char *text, size_t len)
{
	br_wsrx_send_text(&c->rx, text, len);
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

static void
rx_open(void *arg)
{
	struct ps_conn *c = arg;

	c->open = true;
	if (c->ps != NULL && !c->dropping) {
		log_info("pubsub: connection %u open", c->serial);
		ps_arm_ping(c);
		ps_on_open(c->ps, c);
	}
}

static void
on_gone(void *arg, const char *why)
{
	struct ps_conn *c = arg;
	struct br_pubsub *ps = c->ps;

	unlink_conn(c);
	if (ps != NULL) {
		log_info("pubsub: connection %u closed (%s)", c->serial, why);
		ps_on_lost(ps, c);
	}
	conn_free(c);
}

static const struct br_wsrx_hooks rx_hooks = {
	.open = rx_open,
	.message = handle_message,
	.gone = on_gone,
	.resumed = rx_resumed,
};

int
ps_net_init(struct br_pubsub *ps)
{
	ps->net = br_wsrx_net_new(ps->loop, "twitch-pubsub", ps->ca_file);
	return ps->net != NULL ? 0 : -1;
}

void
ps_drop(struct ps_conn *c, const char *why)
{
	if (c->dropping || !br_wsrx_live(&c->rx))
		return;
	log_debug("pubsub: dropping connection %u: %s", c->serial, why);
	c->dropping = true;
	stop_timers(c);
	br_wsrx_close(&c->rx);
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
	br_wsrx_init(&c->rx, ps->net, ps->loop, ps->bus, ps->metrics, "pubsub",
	    PS_FRAME_MAX, &rx_hooks, c);
	c->next = ps->conns;
	ps->conns = c;
	snprintf(who, sizeof who, "pubsub: connection %u", c->serial);
	if (br_wsrx_open(&c->rx, ps->url, who,
	    replaces ? " (RECONNECT: replacing a connection)" : "") == 0)
		return c;
	unlink_conn(c);
	ps_on_lost(ps, c);
	conn_free(c);
	return NULL;
}
