/*
 * The EventSub WebSocket connections. Twitch only talks: we read text
 * messages, answer pings (lws does), never send a frame, and treat a
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

static void handle_message(void *arg, const char *buf, size_t len);

static const struct br_wsrx_hooks rx_hooks = {
	handle_message, rx_paused, rx_resumed,
};

void
esws_drop(struct esws_conn *c, const char *why)
{
	if (c->dropping || c->wsi == NULL)
		return;
	log_debug("esws: dropping session %s: %s",
	    c->session_id ? c->session_id : "-", why);
	c->dropping = true;
	br_timer_stop(&c->watchdog);
	br_wsrx_stop(&c->rx);
	/* No close frame: Twitch expects nothing from us, and the socket
	 * goes at once rather than after a close handshake. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
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
		if (!c->welcomed && !c->dropping && !c->migration)
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
on_gone(struct esws_conn *c, const char *why)
{
	struct br_esws *es = c->es;
	struct esws_session *sess = c->sess;
	int code = c->close_code;

	/* Failing inside lws_client_connect_via_info: esws_connect cleans. */
	if (c->in_connect) {
		c->gone_early = true;
		return;
	}
	unlink_conn(c);
	c->wsi = NULL;
	if (es != NULL) {
		log_info("esws: connection closed (%s%s%d)", why,
		    code ? ", code " : "", code);
		esws_on_lost(sess, c, code);
	}
	conn_free(c);
}

static int
esws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct esws_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c != NULL) {
			c->wsi = wsi;
			arm_watchdog(c);
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c != NULL && c->es != NULL && !c->dropping)
			br_wsrx_receive(&c->rx, wsi, in, len);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c != NULL && len >= 2) {
			const unsigned char *p = in;
			c->close_code = p[0] << 8 | p[1];
			log_info("esws: Twitch closed the session with %d %.*s",
			    c->close_code, (int)(len - 2), (const char *)in + 2);
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c != NULL)
			on_gone(c, in ? (const char *)in : "connect failed");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c != NULL)
			on_gone(c, "closed");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols esws_protocols[] = {
	{ "twitch-eventsub", esws_callback, 0, 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int
esws_vhost_init(struct br_esws *es)
{
	es->vhost = br_wsrx_vhost(es->loop, "twitch-eventsub", esws_protocols,
	    es->ca_file);
	return es->vhost != NULL ? 0 : -1;
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
	br_wsrx_init(&c->rx, es->loop, es->bus, es->metrics, "esws",
	    ESWS_FRAME_MAX, &rx_hooks, c);
	c->next = s->conns;
	s->conns = c;
	snprintf(who, sizeof who, "esws: session %d", s->index);
	c->in_connect = true;
	struct lws *wsi = br_wsrx_connect(es->loop, es->vhost, url,
	    "twitch-eventsub", c, who,
	    migration ? " (reconnect_url from Twitch)" : "");
	c->in_connect = false;
	if (wsi != NULL && !c->gone_early) {
		c->wsi = wsi;
		return;
	}
	unlink_conn(c);
	esws_on_lost(s, c, 0);
	conn_free(c);
}
