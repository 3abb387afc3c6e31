/*
 * The EventSub WebSocket connections. Twitch only talks: we read text
 * messages, answer pings (wsrx does), send nothing else, and treat a
 * session silent for keepalive + 5 s as dead.
 *
 * Messages and backpressure come from wsrx.h; the session is not
 * judged by its silence while we are not listening.
 */
#include <stdlib.h>
#include <string.h>

#include "esws_int.h"
#include "log.h"
#include "util.h"

static void
conn_free(struct esws_conn *c)
{
	br_timer_stop(&c->watchdog);
	br_wsrx_free(&c->rx);
	free(c->session_id);
	free(c);
}

static void
unlink_conn(struct esws_conn *c)
{
	struct esws_session *s = c->sess;

	if (c->es == NULL)
		return;
	for (struct esws_conn **p = &s->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (s->active == c)
		s->active = NULL;
}

static void
watchdog_fired(void *arg)
{
	struct esws_conn *c = arg;
	long wait = c->welcomed ? c->keepalive_s + ESWS_GRACE_S : 15;

	log_warn("esws: no message for %ld s on session %s; treating it as "
	    "dead", wait, c->session_id ? c->session_id : "(no welcome yet)");
	esws_drop(c, "keepalive timeout");
}

static void
arm_watchdog(struct esws_conn *c)
{
	long secs = c->welcomed ? c->keepalive_s + ESWS_GRACE_S : 15;
	br_timer_start(&c->watchdog, secs * 1000);
}

static void
rx_paused(void *arg)
{
	struct esws_conn *c = arg;
	br_timer_stop(&c->watchdog);
}

static void
rx_resumed(void *arg)
{
	arm_watchdog(arg);
}

static void
rx_open(void *arg)
{
	arm_watchdog(arg);
}

static void
rx_peer_close(void *arg, int code, const char *reason, size_t len)
{
	struct esws_conn *c = arg;

	c->close_code = code;
	log_info("esws: Twitch closed the session with %d %.*s", code,
	    (int)(len > 200 ? 200 : len), reason);
}

static void handle_message(void *arg, const char *buf, size_t len);
static void on_gone(void *arg, const char *why);

static const struct br_wsrx_hooks rx_hooks = {
	.open = rx_open,
	.message = handle_message,
	.peer_close = rx_peer_close,
	.gone = on_gone,
	.paused = rx_paused,
	.resumed = rx_resumed,
};

void
esws_drop(struct esws_conn *c, const char *why)
{
	if (!br_wsrx_live(&c->rx))
		return;
	log_debug("esws: dropping session %s: %s",
	    c->session_id ? c->session_id : "-", why);
	br_timer_stop(&c->watchdog);
	/* No close frame: Twitch expects nothing from us, and the socket
	 * goes at once rather than after a close handshake. */
	br_wsrx_close(&c->rx);
}

void
esws_drop_all(struct esws_session *s)
{
	for (struct esws_conn *c = s->conns; c; c = c->next)
		esws_drop(c, "not needed");
}

bool
esws_connecting(const struct esws_session *s)
{
	for (struct esws_conn *c = s->conns; c; c = c->next)
		if (!c->welcomed && br_wsrx_live(&c->rx) && !c->migration)
			return true;
	return false;
}

static void
handle_message(void *arg, const char *buf, size_t len)
{
	struct esws_conn *c = arg;
	struct br_es_frame f;
	char err[256];

	arm_watchdog(c);
	if (br_es_frame_parse(buf, len, &f, err, sizeof err) < 0) {
		log_warn("esws: skipping a malformed message: %s", err);
		br_metrics_add(c->es->metrics, "twitch2mqtt_events_dropped_total",
		    1, "reason", "malformed", NULL);
		return;
	}
	if (f.kind == BR_ES_WELCOME) {
		free(c->session_id);
		c->session_id = f.session_id ? br_xstrdup(f.session_id) : NULL;
		c->keepalive_s = f.keepalive_s > 0 ? f.keepalive_s : 10;
		c->welcomed = true;
		arm_watchdog(c);
		esws_on_welcome(c->sess, c);
	} else {
		esws_on_frame(c->es, c, &f);
	}
	br_es_frame_release(&f);
}

static void
on_gone(void *arg, const char *why)
{
	struct esws_conn *c = arg;
	struct br_esws *es = c->es;
	struct esws_session *sess = c->sess;
	int code = c->close_code;

	unlink_conn(c);
	if (es != NULL) {
		log_info("esws: connection closed (%s%s%d)", why,
		    code ? ", code " : "", code);
		esws_on_lost(sess, c, code);
	}
	conn_free(c);
}

int
esws_net_init(struct br_esws *es)
{
	es->net = br_wsrx_net_new(es->loop, "twitch-eventsub", es->ca_file);
	return es->net != NULL ? 0 : -1;
}

void
esws_connect(struct esws_session *s, const char *url, bool migration)
{
	struct br_esws *es = s->es;
	struct esws_conn *c = br_xcalloc(1, sizeof *c);
	char who[32];

	c->es = es;
	c->sess = s;
	c->migration = migration;
	br_timer_init(&c->watchdog, es->loop, watchdog_fired, c);
	br_wsrx_init(&c->rx, es->net, es->loop, es->bus, es->metrics, "esws",
	    ESWS_FRAME_MAX, &rx_hooks, c);
	c->next = s->conns;
	s->conns = c;
	snprintf(who, sizeof who, "esws: session %d", s->index);
	if (br_wsrx_open(&c->rx, url, who,
	    migration ? " (reconnect_url from Twitch)" : "") == 0)
		return;
	unlink_conn(c);
	esws_on_lost(s, c, 0);
	conn_free(c);
}
