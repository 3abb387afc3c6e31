/*
 * bench_sub_paho: the benchmark's receiving end as it was until
 * 2026-11-22, a paho synchronous client, kept to compare figures with
 * older ones (BENCH_SUB=paho; see README.md). bench_sub does the same
 * job with MQTT of its own, for a fraction of the CPU.
 *
 * The benchmark's receiving end. Subscribes to a topic filter
 * at a QoS, counts N messages and prints one JSON line:
 *
 *   {"count":N,"complete":true,"duration_s":..,"rate":..,
 *    "lat_n":..,"p50_us":..,"p99_us":..,"max_us":..}
 *
 * duration and rate run from the first counted message to the last.
 * Latency is this process's CLOCK_MONOTONIC at arrival minus the
 * "bench_us" number in the payload (the publisher's CLOCK_MONOTONIC at
 * event creation; both on this machine). Payloads without it (the daemon's
 * demo events) count but give no latency. -k names another key (the text
 * right before the number) and -W takes the wall clock (CLOCK_REALTIME)
 * instead: the EventSub benchmark's mock writes "bench_us=<epoch us>"
 * into the cheer's message text.
 *
 * Prints "ready" on a line of its own once the subscription is granted,
 * so the runner starts the publisher only then. Exits 0 when N arrived,
 * 1 when it gave up (no message for --idle seconds, or --timeout).
 *
 * The sync client (MQTTClient) in callback mode: paho's receive thread
 * runs on_message; it does as little as possible.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <MQTTClient.h>

#include "bench_report.h"

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct {
	const char *match;      /* count only payloads containing this */
	const char *key;        /* the latency number follows this */
	size_t key_len;
	clockid_t clock;
	long want;
	long count, lat_n;
	int64_t first_us, last_us;
	int64_t *lat;
	bool lost;
	pthread_mutex_t lock;
	pthread_cond_t cond;
} st = { .key = "\"bench_us\":", .clock = CLOCK_MONOTONIC,
	.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static int64_t
clock_us(void)
{
	struct timespec ts;
	clock_gettime(st.clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* memmem over a payload that is not NUL-terminated. */
static const char *
find(const char *p, size_t n, const char *needle)
{
	return memmem(p, n, needle, strlen(needle));
}

static int
on_message(void *ctx, char *topic, int topic_len, MQTTClient_message *m)
{
	int64_t now = mono_us();
	int64_t at = st.clock == CLOCK_MONOTONIC ? now : clock_us();
	const char *p = m->payload;
	size_t n = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;

	if (st.match == NULL || find(p, n, st.match) != NULL) {
		const char *b = find(p, n, st.key);
		/* Only this thread writes the counters; main reads them under
		 * the lock once signalled. */
		pthread_mutex_lock(&st.lock);
		if (st.count < st.want) {
			if (st.count == 0)
				st.first_us = now;
			st.last_us = now;
			if (b != NULL) {
				int64_t t = strtoll(b + st.key_len, NULL, 10);
				st.lat[st.lat_n++] = at - t;
			}
			if (++st.count == st.want)
				pthread_cond_signal(&st.cond);
		}
		pthread_mutex_unlock(&st.lock);
	}
	MQTTClient_freeMessage(&m);
	MQTTClient_free(topic);
	return 1;
}

static void
on_lost(void *ctx, char *cause)
{
	pthread_mutex_lock(&st.lock);
	st.lost = true;
	pthread_cond_signal(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_sub_paho -u URL -t FILTER -n COUNT [-q QOS] "
	    "[-m MATCH] [-i IDLE_S] [-T TIMEOUT_S] [-c CLIENT_ID] [-k KEY] "
	    "[-W]\n"
	    "  -k KEY  the latency number follows KEY (default \"bench_us\":)\n"
	    "  -W      it is wall clock (CLOCK_REALTIME) microseconds\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *filter = NULL, *client_id = "bench-sub";
	int qos = 0, ch, rc;
	double idle_s = 5, timeout_s = 60;
	MQTTClient client;
	MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;

	while ((ch = getopt(argc, argv, "u:t:n:q:m:i:T:c:k:W")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': filter = optarg; break;
		case 'n': st.want = atol(optarg); break;
		case 'q': qos = atoi(optarg); break;
		case 'm': st.match = optarg; break;
		case 'i': idle_s = atof(optarg); break;
		case 'T': timeout_s = atof(optarg); break;
		case 'c': client_id = optarg; break;
		case 'k': st.key = optarg; break;
		case 'W': st.clock = CLOCK_REALTIME; break;
		default: usage();
		}
	}
	if (url == NULL || filter == NULL || st.want <= 0 || *st.key == '\0')
		usage();
	st.key_len = strlen(st.key);
	st.lat = calloc((size_t)st.want, sizeof *st.lat);
	if (st.lat == NULL)
		return 2;

	if ((rc = MQTTClient_create(&client, url, client_id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL)) != MQTTCLIENT_SUCCESS ||
	    (rc = MQTTClient_setCallbacks(client, NULL, on_lost, on_message,
	    NULL)) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_sub_paho: create rc=%d\n", rc);
		return 2;
	}
	co.keepAliveInterval = 30;
	co.cleansession = 1;
	co.MQTTVersion = MQTTVERSION_3_1_1;
	if ((rc = MQTTClient_connect(client, &co)) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_sub_paho: connect to %s rc=%d\n", url, rc);
		return 2;
	}
	/* MQTTClient_subscribe returns once the SUBACK is in. */
	if ((rc = MQTTClient_subscribe(client, filter, qos)) !=
	    MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_sub_paho: subscribe rc=%d\n", rc);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);

	int64_t start = mono_us(), seen_at = start;
	long seen = 0;
	pthread_mutex_lock(&st.lock);
	while (st.count < st.want && !st.lost) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&st.cond, &st.lock, &ts);
		int64_t now = mono_us();
		if (st.count != seen) {
			seen = st.count;
			seen_at = now;
		} else if (seen > 0 && now - seen_at > (int64_t)(idle_s * 1e6)) {
			break;
		}
		if (now - start > (int64_t)(timeout_s * 1e6))
			break;
	}
	long count = st.count, lat_n = st.lat_n;
	int64_t first = st.first_us, last = st.last_us;
	bool lost = st.lost;
	pthread_mutex_unlock(&st.lock);

	MQTTClient_disconnect(client, 1000);
	MQTTClient_destroy(&client);

	bench_sub_report(count, st.want, lost, first, last, st.lat, lat_n);
	free(st.lat);
	return count == st.want ? 0 : 1;
}
