/*
 * bench_idsub: the webhook benchmark's receiving end. Subscribes to a
 * topic filter at a QoS and writes the "id" of every event that arrives
 * (the first "id":"..." of the payload), one a line, to a file, so the
 * runner can count distinct ids and compare them with what wrk had
 * acknowledged. Prints "ready" once the subscription is granted, and at
 * the end one JSON line:
 *
 *   {"count":N,"duration_s":..,"rate":..,"cpu_s":..,"lost_connection":b}
 *
 * It ends when no message came for IDLE seconds after the first one (or
 * none at all for TIMEOUT seconds), or on SIGTERM/SIGINT.
 *
 * The sync client (MQTTClient) in callback mode; paho's receive thread
 * runs on_message and does as little as possible.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <MQTTClient.h>

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct {
	FILE *out;
	long count;
	int64_t first_us, last_us;
	bool lost;
	pthread_mutex_t lock;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
on_message(void *ctx, char *topic, int topic_len, MQTTClient_message *m)
{
	static const char key[] = "\"id\":\"";
	const char *p = m->payload;
	size_t n = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	const char *b = memmem(p, n, key, sizeof key - 1);
	int64_t now = mono_us();

	(void)ctx;
	(void)topic_len;
	pthread_mutex_lock(&st.lock);
	if (st.count++ == 0)
		st.first_us = now;
	st.last_us = now;
	if (b != NULL) {
		const char *v = b + sizeof key - 1;
		const char *e = memchr(v, '"', n - (size_t)(v - p));
		if (e != NULL) {
			fwrite(v, 1, (size_t)(e - v), st.out);
			fputc('\n', st.out);
		}
	}
	pthread_mutex_unlock(&st.lock);
	MQTTClient_freeMessage(&m);
	MQTTClient_free(topic);
	return 1;
}

static void
on_lost(void *ctx, char *cause)
{
	(void)ctx;
	(void)cause;
	pthread_mutex_lock(&st.lock);
	st.lost = true;
	pthread_mutex_unlock(&st.lock);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_idsub -u URL -t FILTER -o IDS_FILE [-q QOS] "
	    "[-i IDLE_S] [-T TIMEOUT_S] [-c CLIENT_ID]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *filter = NULL, *path = NULL;
	const char *client_id = "bench-idsub";
	int qos = 1, ch, rc;
	double idle_s = 3, timeout_s = 120;
	MQTTClient client;
	MQTTClient_connectOptions co = MQTTClient_connectOptions_initializer;

	while ((ch = getopt(argc, argv, "u:t:o:q:i:T:c:")) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': filter = optarg; break;
		case 'o': path = optarg; break;
		case 'q': qos = atoi(optarg); break;
		case 'i': idle_s = atof(optarg); break;
		case 'T': timeout_s = atof(optarg); break;
		case 'c': client_id = optarg; break;
		default: usage();
		}
	}
	if (url == NULL || filter == NULL || path == NULL)
		usage();
	if ((st.out = fopen(path, "w")) == NULL) {
		perror(path);
		return 2;
	}
	setvbuf(st.out, NULL, _IOFBF, 1 << 20);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if ((rc = MQTTClient_create(&client, url, client_id,
	    MQTTCLIENT_PERSISTENCE_NONE, NULL)) != MQTTCLIENT_SUCCESS ||
	    (rc = MQTTClient_setCallbacks(client, NULL, on_lost, on_message,
	    NULL)) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_idsub: create rc=%d\n", rc);
		return 2;
	}
	co.keepAliveInterval = 30;
	co.cleansession = 1;
	co.MQTTVersion = MQTTVERSION_3_1_1;
	if ((rc = MQTTClient_connect(client, &co)) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_idsub: connect to %s rc=%d\n", url, rc);
		return 2;
	}
	if ((rc = MQTTClient_subscribe(client, filter, qos)) !=
	    MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "bench_idsub: subscribe rc=%d\n", rc);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);

	int64_t start = mono_us();
	while (!stop) {
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
		int64_t now = mono_us();
		pthread_mutex_lock(&st.lock);
		long count = st.count;
		int64_t last = st.last_us;
		bool lost = st.lost;
		pthread_mutex_unlock(&st.lock);
		if (lost)
			break;
		if (count > 0 && now - last > (int64_t)(idle_s * 1e6))
			break;
		if (count == 0 && now - start > (int64_t)(timeout_s * 1e6))
			break;
	}
	MQTTClient_disconnect(client, 1000);
	MQTTClient_destroy(&client);

	pthread_mutex_lock(&st.lock);
	long count = st.count;
	double dur = count > 1 ? (double)(st.last_us - st.first_us) / 1e6 : 0;
	bool lost = st.lost;
	fclose(st.out);
	pthread_mutex_unlock(&st.lock);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("{\"count\":%ld,\"duration_s\":%.6f,\"rate\":%.1f,"
	    "\"cpu_s\":%.3f,\"lost_connection\":%s}\n", count, dur,
	    dur > 0 ? (double)(count - 1) / dur : 0.0, cpu,
	    lost ? "true" : "false");
	return lost ? 1 : 0;
}
