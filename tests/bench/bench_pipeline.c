/*
 * bench_pipeline: the bridge's own pipeline under load. Builds the loop,
 * metrics, MQTT sink and bus as the daemon does (bridge/bridge.c:
 * bridge_new and make_sink), from the configuration the daemon would read
 * (defaults < environment, TWITCH2MQTT_*), waits for the broker, then
 * makes N demo events with br_sample_event (the demo's six types in the
 * demo's order), adds "bench_us" (CLOCK_MONOTONIC microseconds at
 * creation) to each, and submits them with br_bus_submit as fast as the
 * buffer allows: batches of B on the loop thread, giving the loop a turn
 * between batches so that acknowledgements drain, and waiting a
 * millisecond whenever br_bus_full() says the buffer is full. Exits once
 * the sink is idle (everything acknowledged) after a clean disconnect.
 *
 * Prints one JSON line: made, submitted, refused, published, the most
 * events held at once, duration_s and rate (first submit to idle), peak
 * RSS (getrusage ru_maxrss and /proc VmHWM), the RSS once connected
 * before the first event, and CPU time per event, in all and by thread.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bus.h"
#include "config.h"
#include "demo.h"
#include "jsonmem.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "sample.h"
#include "sink_mqtt.h"
#include "util.h"

extern char **environ;

enum phase { WAITING, PRODUCING, DRAINING, CLOSING, DONE, FAILED };

struct bench {
	struct br_config *cfg;
	struct br_loop *loop;
	struct br_metrics *metrics;
	struct br_sink_mqtt *mqtt;
	struct br_sink sink;
	struct br_bus *bus;
	struct br_timer timer;
	enum phase phase;
	long n, batch, made, submitted, refused, full_waits;
	size_t max_buffered;     /* events held by the sink, at most */
	int64_t deadline_us, start_us, end_us;
	long rss_idle_kib;
	double cpu0, cpu;
	long csw0, csw;
	char threads[512];      /* CPU by thread, once idle */
	char channel_id[32];
};

/* bridge.c declare_metrics: the families the daemon declares itself. */
static void
declare_metrics(struct br_metrics *m)
{
	br_metrics_declare(m, "twitch2mqtt_webhook_rejected_total", BR_COUNTER,
	    "Webhook calls refused, by reason.");
	br_metrics_declare(m, "twitch2mqtt_buffered_events", BR_GAUGE,
	    "Events waiting for the broker.");
	br_metrics_declare(m, "twitch2mqtt_reconnects_total", BR_COUNTER,
	    "Reconnects, by source.");
}

/* bridge.c make_sink, without the control topic's consumer. */
static int
make_sink(struct bench *b)
{
	struct br_config *c = b->cfg;
	char *will = br_xasprintf("%s/bridge/state", c->mqtt.base_topic);
	struct br_sink_mqtt_options o = {
		.url = c->mqtt.url, .client_id = c->mqtt.client_id,
		.username = c->mqtt.username, .password = c->mqtt.password,
		.version = c->mqtt.version, .ca_file = c->mqtt.ca_file,
		.cert_file = c->mqtt.cert_file, .key_file = c->mqtt.key_file,
		.tls_insecure = c->mqtt.tls_insecure,
		.buffer_max = (size_t)c->mqtt.buffer_max, .will_topic = will,
	};
	struct br_sink_hooks hooks = { .ctx = b };

	b->mqtt = br_sink_mqtt_new(b->loop, b->metrics, &o, &hooks);
	free(will);
	if (b->mqtt == NULL)
		return -1;
	b->sink = br_sink_mqtt_sink(b->mqtt);
	char *filter = br_xasprintf("%s/bridge/request/+", c->mqtt.base_topic);
	br_sink_mqtt_subscribe(b->mqtt, filter);
	free(filter);
	return 0;
}

static void
finished(void *arg)
{
	struct bench *b = arg;
	if (b->phase != FAILED)
		b->phase = DONE;
	br_loop_stop(b->loop);
}

static void
produce(struct bench *b)
{
	long k = 0;

	if (b->start_us == 0) {
		b->start_us = br_mono_us();
		b->cpu0 = bench_cpu_s();
		b->csw0 = bench_ctxsw();
	}
	while (b->made < b->n && k < b->batch) {
		if (br_bus_full(b->bus)) {
			b->full_waits++;
			b->max_buffered = b->sink.ops->capacity(b->sink.impl);
			br_timer_start(&b->timer, 1);
			return;
		}
		uint64_t i = (uint64_t)b->made;
		struct br_event *ev = br_sample_event(
		    bench_types[i % BENCH_NTYPES], "demo", b->channel_id,
		    BENCH_LOGIN, BENCH_LOGIN, i / BENCH_NTYPES);
		json_object_set_new(br_event_json(ev), "bench_us",
		    json_integer(br_mono_us()));
		if (br_bus_submit(b->bus, ev) == 0)
			b->submitted++;
		else
			b->refused++;
		b->made++;
		k++;
	}
	size_t held = b->sink.ops->buffered(b->sink.impl);
	if (held > b->max_buffered)
		b->max_buffered = held;
	if (b->made < b->n) {
		br_timer_start(&b->timer, 0);   /* the loop's turn, then more */
		return;
	}
	b->phase = DRAINING;
	br_timer_start(&b->timer, 1);
}

static void
tick(void *arg)
{
	struct bench *b = arg;
	int64_t now = br_mono_us();

	switch (b->phase) {
	case WAITING:
		if (b->sink.ops->connected(b->sink.impl) &&
		    br_sink_mqtt_idle(b->mqtt)) {
			b->rss_idle_kib = bench_status_kib("VmRSS");
			b->phase = PRODUCING;
			b->deadline_us = now + 60 * 1000000LL;
			produce(b);
			return;
		}
		break;
	case PRODUCING:
		produce(b);
		if (now < b->deadline_us)
			return;
		break;
	case DRAINING:
		if (br_sink_mqtt_idle(b->mqtt)) {
			b->end_us = now;
			b->cpu = bench_cpu_s() - b->cpu0;
			b->csw = bench_ctxsw() - b->csw0;
			bench_threads_json(b->threads, sizeof b->threads);
			b->phase = CLOSING;
			br_sink_mqtt_disconnect(b->mqtt, finished, b);
			return;
		}
		break;
	default:
		return;
	}
	if (now > b->deadline_us) {
		log_error("bench: gave up in phase %d: made %ld, buffered %zu",
		    (int)b->phase, b->made, b->sink.ops->buffered(b->sink.impl));
		b->phase = FAILED;
		br_sink_mqtt_disconnect(b->mqtt, finished, b);
		return;
	}
	br_timer_start(&b->timer, 1);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pipeline -n COUNT [-B BATCH]\n"
	    "  broker, QoS, base topic, buffer: TWITCH2MQTT_MQTT_* as the daemon\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench b = { .batch = 64 };
	struct br_problems problems = { 0 };
	struct br_bus_options bo;
	int ch;

	br_jsonmem_install();   /* as the daemon's main() */
	while ((ch = getopt(argc, argv, "n:B:")) != -1) {
		switch (ch) {
		case 'n': b.n = atol(optarg); break;
		case 'B': b.batch = atol(optarg); break;
		default: usage();
		}
	}
	if (b.n <= 0 || b.batch <= 0)
		usage();
	b.cfg = br_config_load(NULL, environ, &problems);
	for (size_t i = 0; i < problems.n; i++)
		fprintf(stderr, "bench_pipeline: configuration: %s\n",
		    problems.lines[i]);
	br_problems_free(&problems);
	if (b.cfg == NULL)
		return 2;
	br_log_set_level(b.cfg->bridge.log_level);
	br_log_hook_libraries();
	br_demo_channel_id(BENCH_LOGIN, b.channel_id, sizeof b.channel_id);

	/* bridge_new's order: loop, metrics, sink, bus. */
	if ((b.loop = br_loop_new()) == NULL)
		return 2;
	b.metrics = br_metrics_new();
	declare_metrics(b.metrics);
	if (make_sink(&b) < 0)
		return 2;
	bo = (struct br_bus_options){ b.cfg->mqtt.base_topic, b.cfg->mqtt.qos };
	b.bus = br_bus_new(b.sink, b.metrics, &bo);
	br_timer_init(&b.timer, b.loop, tick, &b);

	b.deadline_us = br_mono_us() + 10 * 1000000LL;
	br_timer_start(&b.timer, 1);
	br_sink_mqtt_start(b.mqtt);
	br_loop_run(b.loop);
	br_timer_stop(&b.timer);

	long long published = br_metrics_sum(b.metrics,
	    "twitch2mqtt_events_published_total");
	long long dropped = br_metrics_sum(b.metrics,
	    "twitch2mqtt_events_dropped_total");
	double dur = (double)(b.end_us - b.start_us) / 1e6;
	printf("{\"made\":%ld,\"submitted\":%ld,\"refused\":%ld,"
	    "\"published\":%lld,\"dropped\":%lld,\"full_waits\":%ld,"
	    "\"max_buffered\":%zu,"
	    "\"duration_s\":%.6f,\"rate\":%.1f,\"rss_idle_kib\":%ld,"
	    "\"maxrss_kib\":%ld,\"vmhwm_kib\":%ld,\"buffer_max\":%ld,"
	    "\"qos\":%d,\"cpu_us_per_msg\":%.2f,\"ctxsw_per_msg\":%.3f,\"cpu_total_s\":%.3f,\"threads_cpu_s\":{%s}}\n", b.made, b.submitted, b.refused, published, dropped,
	    b.full_waits, b.max_buffered, b.phase == DONE ? dur : 0.0,
	    b.phase == DONE && dur > 0 ? (double)published / dur : 0.0,
	    b.rss_idle_kib, bench_maxrss_kib(), bench_status_kib("VmHWM"),
	    b.cfg->mqtt.buffer_max, b.cfg->mqtt.qos, b.cpu * 1e6 / (double)b.n,
	    (double)b.csw / (double)b.n, bench_cpu_s(), b.threads);
	int rc = b.phase == DONE && published == b.n ? 0 : 1;

	br_sink_mqtt_free(b.mqtt);
	br_bus_free(b.bus);
	br_loop_free(b.loop);
	br_metrics_free(b.metrics);
	br_config_free(b.cfg);
	return rc;
}
