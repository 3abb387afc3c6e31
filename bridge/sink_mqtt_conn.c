/*
 * The MQTT sink's connection: the only file that talks to paho's client
 * object. paho's callbacks run on paho's threads and only copy what they
 * need and post it to the loop; everything else happens on the loop.
 * Reconnects are ours (the same capped, jittered backoff for the first
 * connect and every later one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sink_mqtt_int.h"
#include "util.h"

static const char *const mqtt_family = "twitch2mqtt_mqtt_connected";

static void connect_now(void *arg);

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
	sinkq_find_socket(s);
	set_state(s, CONNECTED);
	br_backoff_reset(&s->backoff);
	subscribe_filters(s);
	if (s->hooks.connected)
		s->hooks.connected(s->hooks.ctx);
	sinkq_pump(s);
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
	set_state(s, DISCONNECTED);
	br_metrics_add(s->metrics, "twitch2mqtt_reconnects_total", 1, "source",
	    "mqtt", NULL);
	sinkq_requeue(s);
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
	sinkq_requeue(s);
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
	sinkq_init(s);
	br_backoff_init(&s->backoff, 500, 15000, br_random64());
	br_timer_init(&s->retry_timer, loop, connect_now, s);
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
	if (s == NULL)
		return;
	br_timer_stop(&s->retry_timer);
	if (s->client != NULL)
		MQTTAsync_destroy(&s->client);
	sinkq_release(s);
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

