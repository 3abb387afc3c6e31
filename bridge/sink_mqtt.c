/*
 * The MQTT sink's outbox: a message leaves it only when the broker
 * acknowledged it (QoS 1/2) or paho wrote it (QoS 0); whatever was in
 * flight when the connection dropped goes back to the head of the queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sink_mqtt_int.h"
#include "util.h"

static void loop_settled(void *s_, void *unused);

/* ---- paho's threads: note, post the first, return ---- */

static void
on_send_result(void *ctx_, bool ok)
{
	struct send_ctx *ctx = ctx_;
	struct br_sink_mqtt *s = ctx->s;
	bool was_empty;

	ctx->ok = ok;
	ctx->done_next = NULL;
	pthread_mutex_lock(&s->done_lock);
	was_empty = s->done == NULL;
	*s->done_tail = ctx;
	s->done_tail = &ctx->done_next;
	pthread_mutex_unlock(&s->done_lock);
	if (was_empty)
		br_loop_post(s->loop, loop_settled, s, NULL);
}

static void ok3(void *c, MQTTAsync_successData *d) { on_send_result(c, true); }
static void fail3(void *c, MQTTAsync_failureData *d) { on_send_result(c, false); }
static void ok5(void *c, MQTTAsync_successData5 *d) { on_send_result(c, true); }
static void fail5(void *c, MQTTAsync_failureData5 *d) { on_send_result(c, false); }


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

static struct send_ctx *
ctx_get(struct br_sink_mqtt *s)
{
	struct send_ctx *ctx = s->spare;

	if (ctx == NULL)
		return br_xmalloc(sizeof *ctx);
	s->spare = ctx->next;
	return ctx;
}

static void
ctx_put(struct br_sink_mqtt *s, struct send_ctx *ctx)
{
	ctx->next = s->spare;
	s->spare = ctx;
}

static void
settle_one(struct br_sink_mqtt *s, struct send_ctx *ctx)
{
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
	ctx_put(s, ctx);
}

static void
loop_settled(void *s_, void *unused)
{
	struct br_sink_mqtt *s = s_;
	struct send_ctx *ctx, *next;

	pthread_mutex_lock(&s->done_lock);
	ctx = s->done;
	s->done = NULL;
	s->done_tail = &s->done;
	pthread_mutex_unlock(&s->done_lock);
	for (; ctx != NULL; ctx = next) {
		next = ctx->done_next;
		settle_one(s, ctx);
	}
	while (s->n_inflight > 0 && s->inflight[s->base_seq % WINDOW].msg == NULL) {
		s->base_seq++;
		s->n_inflight--;
	}
	sinkq_pump(s);
}

/* Everything unconfirmed goes back to the head of the queue, in order;
 * paho's socket is gone (or going) with the connection. */
void
sinkq_requeue(struct br_sink_mqtt *s)
{
	s->sock = -1;
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
	sinkq_pump(arg);
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
sinkq_nagle(struct br_sink_mqtt *s)
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
void
sinkq_find_socket(struct br_sink_mqtt *s)
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

void
sinkq_pump(struct br_sink_mqtt *s)
{
	while (s->state == CONNECTED && s->n_inflight < WINDOW &&
	    outbox_count(&s->pending) > 0) {
		struct br_msg *msg = outbox_pop_front(&s->pending);
		struct send_ctx *ctx = ctx_get(s);
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
		ctx_put(s, ctx);
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
	sinkq_nagle(s);
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

int
br_sink_mqtt_save(struct br_sink_mqtt *s, const char *path)
{
	size_t n = s->n_inflight + outbox_count(&s->pending), k = 0;
	struct br_msg **msgs = br_xcalloc(n ? n : 1, sizeof *msgs);

	/* Unconfirmed first: they are the oldest. */
	for (size_t i = 0; i < s->n_inflight; i++) {
		struct br_msg *msg = s->inflight[(s->base_seq + i) % WINDOW].msg;
		if (msg != NULL)
			msgs[k++] = msg;
	}
	for (size_t i = 0; i < outbox_count(&s->pending); i++)
		msgs[k++] = outbox_at(&s->pending, i);
	int rc = spool_write(path, msgs, k);
	free(msgs);
	return rc;
}

int
br_sink_mqtt_load(struct br_sink_mqtt *s, const char *path)
{
	size_t loaded = 0;
	int rc = spool_read(path, &s->pending, &loaded);

	s->events_held += loaded;
	return rc;
}


void
sinkq_init(struct br_sink_mqtt *s)
{
	outbox_init(&s->pending);
	pthread_mutex_init(&s->done_lock, NULL);
	s->done_tail = &s->done;
	s->sock = -1;
	br_timer_init(&s->pump_timer, s->loop, pump_later, s);
	br_timer_init(&s->flush_timer, s->loop, pump_later, s);
}

/* After paho is gone: no callback can come back for these any more. */
void
sinkq_release(struct br_sink_mqtt *s)
{
	struct br_msg *msg;

	br_timer_stop(&s->pump_timer);
	br_timer_stop(&s->flush_timer);
	/* The done list holds outstanding ones only. */
	while (s->outstanding != NULL) {
		struct send_ctx *next = s->outstanding->next;
		free(s->outstanding);
		s->outstanding = next;
	}
	while (s->spare != NULL) {
		struct send_ctx *next = s->spare->next;
		free(s->spare);
		s->spare = next;
	}
	s->done = NULL;
	pthread_mutex_destroy(&s->done_lock);
	for (size_t i = 0; i < s->n_inflight; i++)
		br_msg_free(s->inflight[(s->base_seq + i) % WINDOW].msg);
	while ((msg = outbox_pop_front(&s->pending)) != NULL)
		br_msg_free(msg);
	outbox_release(&s->pending);
}
