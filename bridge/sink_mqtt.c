#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <jansson.h>

#include "backoff.h"
#include "log.h"
#include "outbox.h"
#include "sink_mqtt.h"
#include "util.h"

/* Messages handed to paho and not yet confirmed. Large enough to keep the
 * socket busy, small enough that a reconnect re-sends little. */
#define WINDOW 1024
#define MAX_ATTEMPTS 5
#define MAX_FILTERS 8
/* From this many messages in flight on, Nagle's algorithm may coalesce
 * them (see nagle()). */
#define NAGLE_FROM 32

/* One per message handed to paho; paho gives it back in exactly one of
 * its callbacks, which posts it to the loop. Those that paho never gives
 * back (connection torn down) are freed with the sink. */
struct send_ctx {
	struct br_sink_mqtt *s;
	uint64_t seq;
	bool ok, stale;
	struct send_ctx *prev, *next;
};

struct slot {
	struct br_msg *msg;     /* NULL once settled */
	struct send_ctx *ctx;
};

enum conn_state { DISCONNECTED, CONNECTING, CONNECTED, CLOSING };

struct br_sink_mqtt {
	struct br_loop *loop;
	struct br_metrics *metrics;
	struct br_sink_hooks hooks;
	MQTTAsync client;
	int version;
	char *url, *client_id, *username, *password, *will_topic;
	char *ca_file, *cert_file, *key_file;
	bool tls, tls_insecure;
	size_t buffer_max, events_held;
	char *filters[MAX_FILTERS];
	size_t n_filters;

	enum conn_state state;
	struct br_backoff backoff;
	struct br_timer retry_timer;
	struct br_timer pump_timer;     /* paho refused: try again soon */
	struct br_timer flush_timer;    /* hands new messages to paho */
	struct outbox pending;
	struct slot inflight[WINDOW];
	uint64_t base_seq;      /* seq of inflight[base_seq % WINDOW] */
	size_t n_inflight;
	struct send_ctx *outstanding;
	int sock;               /* paho's socket, or -1 (see nagle()) */
	bool nodelay;           /* TCP_NODELAY is on on sock */
	void (*disconnect_done)(void *);
	void *disconnect_arg;
};

static const char *const mqtt_family = "twitch2mqtt_mqtt_connected";

static void pump(struct br_sink_mqtt *s);
static void connect_now(void *arg);
static void loop_settled(void *s_, void *ctx_);

/* ---- paho's threads: copy, post, return ---- */

static void
on_send_result(void *ctx_, bool ok)
{
	struct send_ctx *ctx = ctx_;
	ctx->ok = ok;
	br_loop_post(ctx->s->loop, loop_settled, ctx->s, ctx);
}

static void ok3(void *c, MQTTAsync_successData *d) { on_send_result(c, true); }
static void fail3(void *c, MQTTAsync_failureData *d) { on_send_result(c, false); }
static void ok5(void *c, MQTTAsync_successData5 *d) { on_send_result(c, true); }
static void fail5(void *c, MQTTAsync_failureData5 *d) { on_send_result(c, false); }

static void loop_connected(void *s_, void *unused);
static void loop_connect_failed(void *s_, void *unused);
static void loop_lost(void *s_, void *unused);
static void loop_message(void *s_, void *msg);
static void loop_disconnected(void *s_, void *unused);

static void
paho_connected_ok(void *s, MQTTAsync_successData *d)
{
	br_loop_post(((struct br_sink_mqtt *)s)->loop, loop_connected, s, NULL);
}

static void
paho_connected_ok5(void *s, MQTTAsync_successData5 *d)
{
	paho_connected_ok(s, NULL);
}

static void
paho_connect_failed(void *s, MQTTAsync_failureData *d)
{
	if (d != NULL)
		log_warn("mqtt: connect failed rc=%d%s%s", d->code,
		    d->message ? " " : "", d->message ? d->message : "");
	br_loop_post(((struct br_sink_mqtt *)s)->loop, loop_connect_failed, s,
	    NULL);
}

static void
paho_connect_failed5(void *s, MQTTAsync_failureData5 *d)
{
	if (d != NULL)
		log_warn("mqtt: connect failed rc=%d reason=%d%s%s", d->code,
		    d->reasonCode, d->message ? " " : "",
		    d->message ? d->message : "");
	br_loop_post(((struct br_sink_mqtt *)s)->loop, loop_connect_failed, s,
	    NULL);
}

static void
paho_lost(void *s, char *cause)
{
	br_loop_post(((struct br_sink_mqtt *)s)->loop, loop_lost, s, NULL);
}

static void
paho_disconnected(void *s, MQTTAsync_successData *d)
{
	br_loop_post(((struct br_sink_mqtt *)s)->loop, loop_disconnected, s,
	    NULL);
}

static void
paho_disconnected5(void *s, MQTTAsync_successData5 *d)
{
	paho_disconnected(s, NULL);
}

static void
paho_disconnect_failed(void *s, MQTTAsync_failureData *d)
{
	paho_disconnected(s, NULL);
}

static void
paho_disconnect_failed5(void *s, MQTTAsync_failureData5 *d)
{
	paho_disconnected(s, NULL);
}

static char *
copy_property(MQTTProperties *props, enum MQTTPropertyCodes code,
    size_t *len)
{
	MQTTProperty *p = MQTTProperties_getProperty(props, code);
	if (p == NULL)
		return NULL;
	*len = (size_t)p->value.data.len;
	return br_xstrndup(p->value.data.data, *len);
}

static int
paho_arrived(void *s_, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct br_sink_mqtt *s = s_;
	struct br_inmsg *in = br_xcalloc(1, sizeof *in);
	size_t unused;

	in->topic = topic_len > 0 ? br_xstrndup(topic, (size_t)topic_len)
	                          : br_xstrdup(topic);
	in->len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	in->payload = br_xstrndup(m->payload ? m->payload : "", in->len);
	if (s->version == 5) {
		in->response_topic = copy_property(&m->properties,
		    MQTTPROPERTY_CODE_RESPONSE_TOPIC, &unused);
		in->corr = copy_property(&m->properties,
		    MQTTPROPERTY_CODE_CORRELATION_DATA, &in->corr_len);
	}
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	br_loop_post(s->loop, loop_message, s, in);
	return 1;
}

/* ---- the loop thread ---- */

static void
set_state(struct br_sink_mqtt *s, enum conn_state st)
{
	static const char *const names[] = { "disconnected", "connecting",
		"connected", "closing" };
	log_debug("mqtt: state %s -> %s", names[s->state], names[st]);
	s->state = st;
	br_metrics_set(s->metrics, mqtt_family, st == CONNECTED, NULL);
}

static void
schedule_retry(struct br_sink_mqtt *s)
{
	int64_t ms = br_backoff_next(&s->backoff);
	log_info("mqtt: reconnecting to %s in %lld ms", s->url, (long long)ms);
	br_timer_start(&s->retry_timer, ms);
}

static struct slot *
slot_of(struct br_sink_mqtt *s, uint64_t seq)
{
	if (seq < s->base_seq || seq >= s->base_seq + s->n_inflight)
		return NULL;
	return &s->inflight[seq % WINDOW];
}

static void
unlink_ctx(struct br_sink_mqtt *s, struct send_ctx *ctx)
{
	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		s->outstanding = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
}

static void
settle_msg(struct br_sink_mqtt *s, struct br_msg *msg)
{
	if (msg->is_event) {
		s->events_held--;
		br_metrics_add(s->metrics, "twitch2mqtt_events_published_total",
		    1, "type", msg->label ? msg->label : "", NULL);
	}
	br_msg_free(msg);
}

static void
retry_or_drop(struct br_sink_mqtt *s, struct br_msg *msg)
{
	if (++msg->attempts < MAX_ATTEMPTS) {
		outbox_push_front(&s->pending, msg);
		return;
	}
	log_error("mqtt: dropping a message to %s after %d failed publishes",
	    msg->topic, msg->attempts);
	if (msg->is_event) {
		s->events_held--;
		br_metrics_add(s->metrics, "twitch2mqtt_events_dropped_total", 1,
		    "reason", "publish_failed", NULL);
	}
	br_msg_free(msg);
}

static void
loop_settled(void *s_, void *ctx_)
{
	struct br_sink_mqtt *s = s_;
	struct send_ctx *ctx = ctx_;
	struct slot *slot;

	unlink_ctx(s, ctx);
	slot = ctx->stale ? NULL : slot_of(s, ctx->seq);
	if (slot != NULL && slot->msg != NULL) {
		if (ctx->ok)
			settle_msg(s, slot->msg);
		else
			retry_or_drop(s, slot->msg);
		slot->msg = NULL;
		slot->ctx = NULL;
	}
	free(ctx);
	while (s->n_inflight > 0 && s->inflight[s->base_seq % WINDOW].msg == NULL) {
		s->base_seq++;
		s->n_inflight--;
	}
	pump(s);
}

/* Everything unconfirmed goes back to the head of the queue, in order. */
static void
requeue_inflight(struct br_sink_mqtt *s)
{
	for (size_t i = s->n_inflight; i-- > 0;) {
		struct slot *slot = &s->inflight[(s->base_seq + i) % WINDOW];
		if (slot->ctx != NULL)
			slot->ctx->stale = true;
		if (slot->msg != NULL)
			outbox_push_front(&s->pending, slot->msg);
		slot->msg = NULL;
		slot->ctx = NULL;
	}
	s->base_seq += s->n_inflight;
	s->n_inflight = 0;
}

static void
fill_properties(const struct br_msg *msg, MQTTProperties *props)
{
	MQTTProperty p = { .identifier = MQTTPROPERTY_CODE_CORRELATION_DATA };

	if (msg->corr == NULL)
		return;
	p.value.data.data = msg->corr;
	p.value.data.len = (int)msg->corr_len;
	MQTTProperties_add(props, &p);
}

static int
send_one(struct br_sink_mqtt *s, struct br_msg *msg, struct send_ctx *ctx)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message m = MQTTAsync_message_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	int rc;

	m.payload = msg->payload;
	m.payloadlen = (int)msg->len;
	m.qos = msg->qos;
	m.retained = msg->retain;
	ro.context = ctx;
	if (s->version == 5) {
		ro.onSuccess5 = ok5;
		ro.onFailure5 = fail5;
		/* paho 1.3.12 copies the message's properties into the
		 * response options, and only when those are given. */
		fill_properties(msg, &props);
		m.properties = props;
	} else {
		ro.onSuccess = ok3;
		ro.onFailure = fail3;
	}
	rc = MQTTAsync_sendMessage(s->client, msg->topic, &m, &ro);
	MQTTProperties_free(&props);
	return rc;
}

static void
pump_later(void *arg)
{
	pump(arg);
}

/*
 * paho leaves Nagle's algorithm on for its socket and has no option for
 * it. Under load that is what we want: the kernel coalesces the small
 * publishes into full segments (per event, 1.5 us less of our CPU and
 * less of the broker's than one segment each). But a publish that
 * follows another before the broker acknowledged the first waits for
 * that ACK, and at QoS 0, where nothing comes back, the broker's kernel
 * delays it by up to 40 ms: the second event of a small burst came that
 * late. So TCP_NODELAY is on while few messages are in flight and off
 * from NAGLE_FROM on; turning it on again also sends at once whatever
 * the kernel still holds.
 */
static void
nagle(struct br_sink_mqtt *s)
{
	bool want = s->n_inflight == 0 ? true :
	    s->n_inflight >= NAGLE_FROM ? false : s->nodelay;

	if (s->sock >= 0 && want != s->nodelay &&
	    br_tcp_nodelay(s->sock, want) == 0)
		s->nodelay = want;
}

/* Finds paho's socket once connected: the one TCP socket to the broker's
 * port. Should there be several (another connection to that port), all
 * get TCP_NODELAY for good. */
static void
find_socket(struct br_sink_mqtt *s)
{
	int fds[8], port = br_url_port(s->url);
	int n = port > 0 ? br_tcp_sockets_to_port(port, fds, 8) : 0;

	s->sock = -1;
	s->nodelay = false;
	if (n == 1) {
		s->sock = fds[0];
		s->nodelay = br_tcp_nodelay(s->sock, true) == 0;
	} else {
		for (int i = 0; i < n && i < 8; i++)
			br_tcp_nodelay(fds[i], true);
	}
	log_debug("mqtt: %d socket(s) to port %d%s", n, port,
	    n == 1 ? "; TCP_NODELAY while few messages are in flight" : "");
}

static void
pump(struct br_sink_mqtt *s)
{
	while (s->state == CONNECTED && s->n_inflight < WINDOW &&
	    outbox_count(&s->pending) > 0) {
		struct br_msg *msg = outbox_pop_front(&s->pending);
		struct send_ctx *ctx = br_xcalloc(1, sizeof *ctx);
		uint64_t seq = s->base_seq + s->n_inflight;

		*ctx = (struct send_ctx){ .s = s, .seq = seq,
			.next = s->outstanding };
		if (s->outstanding)
			s->outstanding->prev = ctx;
		s->outstanding = ctx;
		s->inflight[seq % WINDOW] = (struct slot){ msg, ctx };
		s->n_inflight++;
		int rc = send_one(s, msg, ctx);
		if (rc == MQTTASYNC_SUCCESS)
			continue;
		/* paho refused it outright, so no callback will come. */
		s->n_inflight--;
		unlink_ctx(s, ctx);
		free(ctx);
		if (rc == MQTTASYNC_DISCONNECTED ||
		    rc == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
			/* The connection is going (its notice is on the way) or
			 * paho is full: not the message's fault, so not an
			 * attempt. Wait for the reconnect or the next ack. */
			outbox_push_front(&s->pending, msg);
			if (s->n_inflight == 0)
				br_timer_start(&s->pump_timer, 100);
			break;
		}
		log_warn("mqtt: publish to %s refused rc=%d", msg->topic, rc);
		retry_or_drop(s, msg);
		break;
	}
	nagle(s);
}

static void
subscribe_filters(struct br_sink_mqtt *s)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int qos[MAX_FILTERS];

	if (s->n_filters == 0)
		return;
	for (size_t i = 0; i < s->n_filters; i++)
		qos[i] = 1;
	int rc = MQTTAsync_subscribeMany(s->client, (int)s->n_filters,
	    s->filters, qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		log_error("mqtt: subscribing to the request topics failed rc=%d",
		    rc);
}

static void
loop_connected(void *s_, void *unused)
{
	struct br_sink_mqtt *s = s_;

	if (s->state == CLOSING)
		return;
	log_info("mqtt: connected to %s (MQTT %s)", s->url,
	    s->version == 5 ? "5" : "3.1.1");
	find_socket(s);
	set_state(s, CONNECTED);
	br_backoff_reset(&s->backoff);
	subscribe_filters(s);
	if (s->hooks.connected)
		s->hooks.connected(s->hooks.ctx);
	pump(s);
}

static void
loop_connect_failed(void *s_, void *unused)
{
	struct br_sink_mqtt *s = s_;

	if (s->state == CLOSING)
		return;
	set_state(s, DISCONNECTED);
	schedule_retry(s);
}

static void
loop_lost(void *s_, void *unused)
{
	struct br_sink_mqtt *s = s_;

	if (s->state != CONNECTED)
		return;
	log_warn("mqtt: connection to %s lost; %zu events held", s->url,
	    s->events_held);
	s->sock = -1;
	set_state(s, DISCONNECTED);
	br_metrics_add(s->metrics, "twitch2mqtt_reconnects_total", 1, "source",
	    "mqtt", NULL);
	requeue_inflight(s);
	if (s->hooks.disconnected)
		s->hooks.disconnected(s->hooks.ctx);
	schedule_retry(s);
}

static void
loop_message(void *s_, void *in_)
{
	struct br_sink_mqtt *s = s_;
	struct br_inmsg *in = in_;

	if (s->hooks.message && s->state != CLOSING)
		s->hooks.message(s->hooks.ctx, in);
	free(in->topic);
	free(in->payload);
	free(in->response_topic);
	free(in->corr);
	free(in);
}

static void
loop_disconnected(void *s_, void *unused)
{
	struct br_sink_mqtt *s = s_;
	void (*done)(void *) = s->disconnect_done;

	s->disconnect_done = NULL;
	s->sock = -1;
	requeue_inflight(s);
	if (done)
		done(s->disconnect_arg);
}

static void
connect_now(void *arg)
{
	struct br_sink_mqtt *s = arg;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions co5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_connectOptions *o = s->version == 5 ? &co5 : &co;

	if (s->state == CLOSING || s->state == CONNECTED)
		return;
	o->keepAliveInterval = 30;
	o->connectTimeout = 10;
	o->automaticReconnect = 0;      /* ours: same backoff first time and after */
	o->maxInflight = WINDOW;
	if (s->version == 5) {
		o->cleanstart = 1;
		o->onSuccess5 = paho_connected_ok5;
		o->onFailure5 = paho_connect_failed5;
	} else {
		o->cleansession = 1;
		o->MQTTVersion = MQTTVERSION_3_1_1;
		o->onSuccess = paho_connected_ok;
		o->onFailure = paho_connect_failed;
	}
	o->context = s;
	if (s->username && *s->username)
		o->username = s->username;
	if (s->password && *s->password)
		o->password = s->password;
	will.topicName = s->will_topic;
	will.message = "offline";
	will.retained = 1;
	will.qos = 1;
	o->will = &will;
	if (s->tls) {
		ssl.trustStore = s->ca_file && *s->ca_file ? s->ca_file : NULL;
		ssl.keyStore = s->cert_file && *s->cert_file ? s->cert_file : NULL;
		ssl.privateKey = s->key_file && *s->key_file ? s->key_file : NULL;
		ssl.enableServerCertAuth = !s->tls_insecure;
		ssl.verify = !s->tls_insecure;
		o->ssl = &ssl;
	}
	set_state(s, CONNECTING);
	int rc = MQTTAsync_connect(s->client, o);
	if (rc != MQTTASYNC_SUCCESS) {
		log_warn("mqtt: connect to %s could not start rc=%d", s->url, rc);
		set_state(s, DISCONNECTED);
		schedule_retry(s);
	}
}

static bool
has_scheme(const char *url, const char *a, const char *b)
{
	return strncmp(url, a, strlen(a)) == 0 || strncmp(url, b, strlen(b)) == 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? br_xstrdup(s) : NULL;
}

struct br_sink_mqtt *
br_sink_mqtt_new(struct br_loop *loop, struct br_metrics *metrics,
    const struct br_sink_mqtt_options *opts, const struct br_sink_hooks *hooks)
{
	struct br_sink_mqtt *s = br_xcalloc(1, sizeof *s);
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	int rc;

	s->loop = loop;
	s->metrics = metrics;
	s->hooks = *hooks;
	s->version = opts->version == 5 ? 5 : 3;
	s->url = br_xstrdup(opts->url);
	s->client_id = br_xstrdup(opts->client_id);
	s->username = dup_or_null(opts->username);
	s->password = dup_or_null(opts->password);
	s->will_topic = br_xstrdup(opts->will_topic);
	s->ca_file = dup_or_null(opts->ca_file);
	s->cert_file = dup_or_null(opts->cert_file);
	s->key_file = dup_or_null(opts->key_file);
	s->tls = has_scheme(s->url, "mqtts://", "ssl://") ||
	    strncmp(s->url, "wss://", 6) == 0;
	s->tls_insecure = opts->tls_insecure;
	s->buffer_max = opts->buffer_max;
	s->sock = -1;
	outbox_init(&s->pending);
	br_backoff_init(&s->backoff, 500, 30000, br_random64());
	br_timer_init(&s->retry_timer, loop, connect_now, s);
	br_timer_init(&s->pump_timer, loop, pump_later, s);
	br_timer_init(&s->flush_timer, loop, pump_later, s);
	br_metrics_declare(metrics, mqtt_family, BR_GAUGE,
	    "1 while the MQTT broker is connected.");
	br_metrics_set(metrics, mqtt_family, 0, NULL);

	if (s->tls && s->tls_insecure)
		log_warn("mqtt: tls_insecure is on: the broker's certificate "
		    "is NOT verified");
	/* We hold our own outbox, so paho never buffers while offline. */
	co.sendWhileDisconnected = 0;
	co.maxBufferedMessages = WINDOW * 2;
	co.MQTTVersion = s->version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&s->client, s->url, s->client_id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		log_error("mqtt: cannot create a client for %s rc=%d", s->url, rc);
		goto fail;
	}
	rc = MQTTAsync_setCallbacks(s->client, s, paho_lost, paho_arrived, NULL);
	if (rc != MQTTASYNC_SUCCESS)
		goto fail;
	return s;
fail:
	br_sink_mqtt_free(s);
	return NULL;
}

void
br_sink_mqtt_free(struct br_sink_mqtt *s)
{
	struct br_msg *msg;

	if (s == NULL)
		return;
	br_timer_stop(&s->retry_timer);
	br_timer_stop(&s->pump_timer);
	br_timer_stop(&s->flush_timer);
	if (s->client != NULL)
		MQTTAsync_destroy(&s->client);
	/* paho is gone: no callback can come back for these any more. */
	while (s->outstanding != NULL) {
		struct send_ctx *next = s->outstanding->next;
		free(s->outstanding);
		s->outstanding = next;
	}
	for (size_t i = 0; i < s->n_inflight; i++)
		br_msg_free(s->inflight[(s->base_seq + i) % WINDOW].msg);
	while ((msg = outbox_pop_front(&s->pending)) != NULL)
		br_msg_free(msg);
	outbox_release(&s->pending);
	for (size_t i = 0; i < s->n_filters; i++)
		free(s->filters[i]);
	free(s->url);
	free(s->client_id);
	free(s->username);
	free(s->password);
	free(s->will_topic);
	free(s->ca_file);
	free(s->cert_file);
	free(s->key_file);
	free(s);
}

void
br_sink_mqtt_subscribe(struct br_sink_mqtt *s, const char *filter)
{
	if (s->n_filters < MAX_FILTERS)
		s->filters[s->n_filters++] = br_xstrdup(filter);
}

int
br_sink_mqtt_start(struct br_sink_mqtt *s)
{
	connect_now(s);
	return 0;
}

bool
br_sink_mqtt_idle(struct br_sink_mqtt *s)
{
	return s->n_inflight == 0 && outbox_count(&s->pending) == 0;
}

void
br_sink_mqtt_disconnect(struct br_sink_mqtt *s, void (*done)(void *),
    void *arg)
{
	MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
	MQTTAsync_disconnectOptions o5 = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnectOptions *d = s->version == 5 ? &o5 : &o;
	bool was_connected = s->state == CONNECTED;

	br_timer_stop(&s->retry_timer);
	set_state(s, CLOSING);
	s->disconnect_done = done;
	s->disconnect_arg = arg;
	d->timeout = 1000;
	d->context = s;
	if (s->version == 5) {
		d->onSuccess5 = paho_disconnected5;
		d->onFailure5 = paho_disconnect_failed5;
	} else {
		d->onSuccess = paho_disconnected;
		d->onFailure = paho_disconnect_failed;
	}
	if (!was_connected ||
	    MQTTAsync_disconnect(s->client, d) != MQTTASYNC_SUCCESS)
		loop_disconnected(s, NULL);
}

/* ---- the generic interface ---- */

/*
 * New messages go to paho once the loop has done what it is doing (a
 * zero-delay timer: after the current lws service pass, before it
 * sleeps), not one by one as they come. paho's send thread sleeps
 * whenever its queue is empty and each MQTTAsync_sendMessage wakes it;
 * handing over the 10-20 events of one socket read in a row wakes it
 * once for all of them, and the two threads contend less for paho's
 * locks (EventSub benchmark, QoS 0: 15% less CPU per event, 46-49k
 * instead of 38-43k events/s). What this costs is one pass of the loop,
 * microseconds.
 */
static void
pump_soon(struct br_sink_mqtt *s)
{
	if (!br_timer_pending(&s->flush_timer))
		br_timer_start(&s->flush_timer, 0);
}

static int
sink_publish(void *impl, struct br_msg *msg)
{
	struct br_sink_mqtt *s = impl;

	if (msg->is_event) {
		if (s->events_held >= s->buffer_max) {
			br_msg_free(msg);
			return -ENOBUFS;
		}
		s->events_held++;
	}
	outbox_push_back(&s->pending, msg);
	pump_soon(s);
	return 0;
}

static void
sink_publish_first(void *impl, struct br_msg *msg)
{
	struct br_sink_mqtt *s = impl;

	if (msg->is_event)
		s->events_held++;
	outbox_push_front(&s->pending, msg);
	pump_soon(s);
}

static bool
sink_connected(void *impl)
{
	return ((struct br_sink_mqtt *)impl)->state == CONNECTED;
}

static size_t
sink_buffered(void *impl)
{
	return ((struct br_sink_mqtt *)impl)->events_held;
}

static size_t
sink_capacity(void *impl)
{
	return ((struct br_sink_mqtt *)impl)->buffer_max;
}

static const struct br_sink_ops mqtt_ops = {
	.publish = sink_publish,
	.publish_first = sink_publish_first,
	.connected = sink_connected,
	.buffered = sink_buffered,
	.capacity = sink_capacity,
};

struct br_sink
br_sink_mqtt_sink(struct br_sink_mqtt *s)
{
	return (struct br_sink){ &mqtt_ops, s };
}

/* ---- keeping events across a restart ---- */

static void
save_line(FILE *f, const struct br_msg *msg)
{
	json_t *o = json_pack("{s:s, s:s%, s:i, s:s?}", "topic", msg->topic,
	    "payload", msg->payload, msg->len, "qos", msg->qos,
	    "label", msg->label);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line)
		fprintf(f, "%s\n", line);
	free(line);
	json_decref(o);
}

int
br_sink_mqtt_save(struct br_sink_mqtt *s, const char *path)
{
	char *buf = NULL;
	size_t len = 0, saved = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (f == NULL)
		return -errno;
	for (size_t i = 0; i < s->n_inflight; i++) {
		struct br_msg *msg = s->inflight[(s->base_seq + i) % WINDOW].msg;
		if (msg != NULL && msg->is_event && ++saved)
			save_line(f, msg);
	}
	for (size_t i = 0; i < outbox_count(&s->pending); i++) {
		struct br_msg *msg = outbox_at(&s->pending, i);
		if (msg->is_event && ++saved)
			save_line(f, msg);
	}
	fclose(f);
	if (saved == 0) {
		free(buf);
		unlink(path);
		return 0;
	}
	rc = br_write_file_atomic(path, buf, len, 0600);
	free(buf);
	if (rc == 0)
		log_info("mqtt: saved %zu unpublished events to %s", saved, path);
	return rc;
}

static struct br_msg *
load_line(const char *line)
{
	json_error_t err;
	json_t *o = json_loads(line, 0, &err);
	const char *topic = json_string_value(json_object_get(o, "topic"));
	json_t *payload = json_object_get(o, "payload");
	json_t *qos = json_object_get(o, "qos");
	const char *label = json_string_value(json_object_get(o, "label"));
	struct br_msg *msg = NULL;

	if (topic != NULL && json_is_string(payload) && json_is_integer(qos)) {
		msg = br_msg_new(topic, json_string_value(payload),
		    json_string_length(payload), (int)json_integer_value(qos),
		    false);
		msg->is_event = true;
		msg->label = label ? br_xstrdup(label) : NULL;
	}
	json_decref(o);
	return msg;
}

int
br_sink_mqtt_load(struct br_sink_mqtt *s, const char *path)
{
	char *buf, *save = NULL;
	size_t loaded = 0;
	int rc = br_read_file(path, 512u << 20, &buf, NULL);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (char *line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct br_msg *msg = load_line(line);
		if (msg == NULL) {
			log_warn("mqtt: skipping an unreadable line in %s", path);
			continue;
		}
		s->events_held++;
		outbox_push_back(&s->pending, msg);
		loaded++;
	}
	free(buf);
	unlink(path);
	log_info("mqtt: %zu events from the last run will be published", loaded);
	return 0;
}
