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

/* lws must not ping Twitch (a client frame other than a pong is closed
 * with 4001): validity checks so far out that our watchdog always acts
 * first. */
static const lws_retry_bo_t no_validity = {
	.secs_since_valid_ping = 65000,
	.secs_since_valid_hangup = 65535,
};

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
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof info);
	info.vhost_name = "twitch-eventsub";
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = esws_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (es->ca_file != NULL && *es->ca_file != '\0')
		info.client_ssl_ca_filepath = es->ca_file;
	es->vhost = lws_create_vhost(br_loop_lws(es->loop), &info);
	return es->vhost != NULL ? 0 : -1;
}

void
esws_connect(struct esws_session *s, const char *url, bool migration)
{
	struct br_esws *es = s->es;
	struct lws_client_connect_info i;
	struct esws_conn *c = br_xcalloc(1, sizeof *c);
	char *copy = br_xstrdup(url), path[2048];
	const char *prot, *ads, *p;
	int port;

	c->es = es;
	c->sess = s;
	c->migration = migration;
	br_timer_init(&c->watchdog, es->loop, watchdog_fired, c);
	br_wsrx_init(&c->rx, es->loop, es->bus, es->metrics, "esws",
	    ESWS_FRAME_MAX, &rx_hooks, c);
	if (lws_parse_uri(copy, &prot, &ads, &port, &p) != 0) {
		log_error("esws: cannot parse the EventSub URL");
		goto fail;
	}
	snprintf(path, sizeof path, "/%s", p);
	memset(&i, 0, sizeof i);
	i.context = br_loop_lws(es->loop);
	i.vhost = es->vhost;
	i.address = ads;
	i.host = ads;
	i.origin = ads;
	i.port = port;
	i.path = path;
	i.ssl_connection = strcmp(prot, "wss") == 0 || strcmp(prot, "https") == 0
	    ? LCCSCF_USE_SSL : 0;
	i.alpn = "http/1.1";
	i.local_protocol_name = "twitch-eventsub";
	i.retry_and_idle_policy = &no_validity;
	i.userdata = c;
	c->next = s->conns;
	s->conns = c;
	log_info("esws: session %d connecting to %s://%s:%d%s", s->index, prot,
	    ads, port,
	    migration ? " (reconnect_url from Twitch)" : "");
	c->in_connect = true;
	struct lws *wsi = lws_client_connect_via_info(&i);
	c->in_connect = false;
	free(copy);
	if (wsi != NULL && !c->gone_early) {
		c->wsi = wsi;
		return;
	}
	unlink_conn(c);
	esws_on_lost(s, c, 0);
	conn_free(c);
	return;
fail:
	free(copy);
	esws_on_lost(s, c, 0);
	conn_free(c);
}
