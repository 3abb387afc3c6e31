/*
 * bench_paho: the ceiling. A bare paho MQTTAsync publisher sending N
 * messages of the pipeline's size and shape to the same broker, as fast as
 * paho allows, with the sink's in-flight window and the sink's client
 * options (MQTT version, maxInflight, no offline buffering).
 *
 * The payloads are the demo's six event types, rendered once by the
 * bridge's own code before the clock starts (so the sizes and topics are
 * the pipeline's), each with a "bench_us" field appended per message as
 * the pipeline does: CLOCK_MONOTONIC microseconds when the message is
 * made. Nothing of the bridge runs while measuring.
 *
 * The main thread takes a window slot (a semaphore of WINDOW), builds the
 * payload and calls MQTTAsync_sendMessage; paho's completion callback
 * (PUBACK for QoS 1, written for QoS 0) gives the slot back. Prints one
 * JSON line: sent, acked, failed, duration_s and rate (first send to last
 * completion), peak RSS.
 */
#include <getopt.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "bench_common.h"
#include "demo.h"
#include "event.h"
#include "sample.h"
#include "topic.h"

struct tmpl {
	char topic[256];
	char *head;             /* the rendered event without its closing '}' */
	size_t head_len;
};

static sem_t slots, connected;
static atomic_long acked, failed;
static atomic_bool connect_ok;
static _Atomic int64_t last_done_us;

static void
done(bool ok)
{
	if (ok)
		atomic_fetch_add(&acked, 1);
	else
		atomic_fetch_add(&failed, 1);
	atomic_store(&last_done_us, bench_mono_us());
	sem_post(&slots);
}

static void ok3(void *c, MQTTAsync_successData *d) { done(true); }
static void fail3(void *c, MQTTAsync_failureData *d) { done(false); }
static void ok5(void *c, MQTTAsync_successData5 *d) { done(true); }
static void fail5(void *c, MQTTAsync_failureData5 *d) { done(false); }

static void
conn_ok(void *c, MQTTAsync_successData *d)
{
	atomic_store(&connect_ok, true);
	sem_post(&connected);
}

static void
conn_fail(void *c, MQTTAsync_failureData *d)
{
	sem_post(&connected);
}

static void conn_ok5(void *c, MQTTAsync_successData5 *d) { conn_ok(c, NULL); }
static void conn_fail5(void *c, MQTTAsync_failureData5 *d) { conn_fail(c, NULL); }

static void
lost(void *c, char *cause)
{
	fprintf(stderr, "bench_paho: connection lost\n");
}

/* paho wants one; nothing arrives (nothing is subscribed). */
static int
arrived(void *c, char *topic, int len, MQTTAsync_message *m)
{
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static void
render(struct tmpl *t, const char *base, const char *type)
{
	char id[32];
	size_t len;

	br_demo_channel_id(BENCH_LOGIN, id, sizeof id);
	struct br_event *ev = br_sample_event(type, "demo", id, BENCH_LOGIN,
	    BENCH_LOGIN, 0);
	t->head = br_event_dump(ev, &len);
	t->head_len = len - 1;          /* drop the '}' */
	br_topic_channel(t->topic, sizeof t->topic, base, BENCH_LOGIN,
	    br_event_topic_leaf(ev));
	br_event_free(ev);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_paho -u URL -n COUNT [-q QOS] [-b BASE] "
	    "[-w WINDOW] [-V 5|3] [-c CLIENT_ID]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *base = "bench", *client_id = "bench-paho";
	long n = 0, window = 1024;
	int qos = 1, version = 5, ch, rc;
	struct tmpl tmpl[BENCH_NTYPES];
	MQTTAsync client;
	MQTTAsync_createOptions cr = MQTTAsync_createOptions_initializer5;
	MQTTAsync_connectOptions co3 = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions co5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_connectOptions *co;

	while ((ch = getopt(argc, argv, "u:n:q:b:w:V:c:")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'q': qos = atoi(optarg); break;
		case 'b': base = optarg; break;
		case 'w': window = atol(optarg); break;
		case 'V': version = atoi(optarg); break;
		case 'c': client_id = optarg; break;
		default: usage();
		}
	}
	if (url == NULL || n <= 0 || window <= 0)
		usage();
	for (size_t i = 0; i < BENCH_NTYPES; i++)
		render(&tmpl[i], base, bench_types[i]);

	sem_init(&slots, 0, (unsigned)window);
	sem_init(&connected, 0, 0);
	/* The sink's create and connect options. */
	cr.sendWhileDisconnected = 0;
	cr.maxBufferedMessages = (int)window * 2;
	cr.MQTTVersion = version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
	if ((rc = MQTTAsync_createWithOptions(&client, url, client_id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL, &cr)) != MQTTASYNC_SUCCESS ||
	    (rc = MQTTAsync_setCallbacks(client, NULL, lost, arrived, NULL)) !=
	    MQTTASYNC_SUCCESS) {
		fprintf(stderr, "bench_paho: create rc=%d\n", rc);
		return 2;
	}
	co = version == 5 ? &co5 : &co3;
	co->keepAliveInterval = 30;
	co->connectTimeout = 10;
	co->automaticReconnect = 0;
	co->maxInflight = (int)window;
	if (version == 5) {
		co->cleanstart = 1;
		co->onSuccess5 = conn_ok5;
		co->onFailure5 = conn_fail5;
	} else {
		co->cleansession = 1;
		co->MQTTVersion = MQTTVERSION_3_1_1;
		co->onSuccess = conn_ok;
		co->onFailure = conn_fail;
	}
	if ((rc = MQTTAsync_connect(client, co)) != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "bench_paho: connect rc=%d\n", rc);
		return 2;
	}
	sem_wait(&connected);
	if (!atomic_load(&connect_ok)) {
		fprintf(stderr, "bench_paho: connect to %s failed\n", url);
		return 2;
	}

	char payload[4096];
	long refused = 0;
	double cpu0 = bench_cpu_s();
	long csw0 = bench_ctxsw();
	int64_t start = bench_mono_us();
	for (long i = 0; i < n; i++) {
		const struct tmpl *t = &tmpl[i % BENCH_NTYPES];
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		MQTTAsync_message m = MQTTAsync_message_initializer;

		sem_wait(&slots);
		memcpy(payload, t->head, t->head_len);
		int len = (int)t->head_len + snprintf(payload + t->head_len,
		    sizeof payload - t->head_len, ",\"bench_us\":%lld}",
		    (long long)bench_mono_us());
		m.payload = payload;
		m.payloadlen = len;
		m.qos = qos;
		if (version == 5) {
			ro.onSuccess5 = ok5;
			ro.onFailure5 = fail5;
		} else {
			ro.onSuccess = ok3;
			ro.onFailure = fail3;
		}
		if (MQTTAsync_sendMessage(client, t->topic, &m, &ro) !=
		    MQTTASYNC_SUCCESS) {
			refused++;
			sem_post(&slots);
		}
	}
	/* Every slot back: everything completed. */
	for (long i = 0; i < window; i++)
		sem_wait(&slots);
	int64_t end = atomic_load(&last_done_us);
	double cpu = bench_cpu_s() - cpu0;
	long csw = bench_ctxsw() - csw0;
	char threads[512];
	bench_threads_json(threads, sizeof threads);

	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
	d.timeout = 1000;
	MQTTAsync_disconnect(client, &d);
	usleep(100 * 1000);
	MQTTAsync_destroy(&client);

	double dur = (double)(end - start) / 1e6;
	long ok = atomic_load(&acked);
	printf("{\"sent\":%ld,\"acked\":%ld,\"failed\":%ld,\"refused\":%ld,"
	    "\"duration_s\":%.6f,\"rate\":%.1f,\"maxrss_kib\":%ld,"
	    "\"vmhwm_kib\":%ld,\"cpu_us_per_msg\":%.2f,\"ctxsw_per_msg\":%.3f,\"cpu_total_s\":%.3f,\"threads_cpu_s\":{%s}}\n",
	    n, ok, atomic_load(&failed), refused, dur,
	    dur > 0 ? (double)ok / dur : 0.0, bench_maxrss_kib(),
	    bench_status_kib("VmHWM"), cpu * 1e6 / (double)n,
	    (double)csw / (double)n, bench_cpu_s(), threads);
	for (size_t i = 0; i < BENCH_NTYPES; i++)
		free(tmpl[i].head);
	return ok == n ? 0 : 1;
}
