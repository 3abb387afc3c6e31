/*
 * Private to the MQTT sink: sink_mqtt.c moves messages (the outbox, the
 * window of messages in flight, acknowledgements); sink_mqtt_conn.c owns
 * the paho client and the connection.
 */
#ifndef BR_SINK_MQTT_INT_H
#define BR_SINK_MQTT_INT_H

#include <pthread.h>

#include <MQTTAsync.h>

#include "backoff.h"
#include "outbox.h"
#include "sink_mqtt.h"

/* Messages handed to paho and not yet confirmed. Large enough to keep the
 * socket busy, small enough that a reconnect re-sends little. */
#define WINDOW 1024
#define MAX_ATTEMPTS 5
#define MAX_FILTERS 8
/* From this many messages in flight on, Nagle's algorithm may coalesce
 * them (see sinkq_nagle()). */
#define NAGLE_FROM 32

/* One per message handed to paho; paho gives it back in exactly one of
 * its callbacks, which posts it to the loop. Those that paho never gives
 * back (connection torn down) are freed with the sink. */
struct send_ctx {
	struct br_sink_mqtt *s;
	uint64_t seq;
	bool ok, stale;
	struct send_ctx *prev, *next;   /* outstanding, or spare (next) */
	struct send_ctx *done_next;     /* on the done list */
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
	struct send_ctx *spare;         /* settled, for reuse */
	/* Settled by paho's threads, waiting for the loop: one wake-up and
	 * no allocation per batch, however many messages it holds. */
	pthread_mutex_t done_lock;
	struct send_ctx *done, **done_tail;
	int sock;               /* paho's socket, or -1 (see sinkq_nagle()) */
	bool nodelay;           /* TCP_NODELAY is on on sock */
	void (*disconnect_done)(void *);
	void *disconnect_arg;
};


/* sink_mqtt.c */
void sinkq_init(struct br_sink_mqtt *s);
void sinkq_release(struct br_sink_mqtt *s);
void sinkq_pump(struct br_sink_mqtt *s);
void sinkq_requeue(struct br_sink_mqtt *s);
void sinkq_find_socket(struct br_sink_mqtt *s);

#endif
