/*
 * The seam between the bridge and where its messages go. The sink knows
 * topics and payloads, never Twitch. sink_mqtt is the one implementation
 * shipped; tests may swap in their own.
 */
#ifndef BR_SINK_H
#define BR_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_msg {
	char *topic;
	char *payload;
	size_t len;
	int qos;
	bool retain;
	bool is_event;          /* counts against the buffer; saved at exit */
	char *label;            /* metrics label (the event type), or NULL */
	char *corr;             /* MQTT 5 correlation data to attach, or NULL */
	size_t corr_len;
	int64_t created_us;     /* monotonic, for latency figures */
	int attempts;
};

/* Copies topic and payload. */
struct br_msg *br_msg_new(const char *topic, const char *payload, size_t len,
                          int qos, bool retain);
/* Copies topic, takes payload: malloc()ed, len bytes and a NUL. */
struct br_msg *br_msg_adopt(const char *topic, char *payload, size_t len,
                            int qos, bool retain);
void br_msg_free(struct br_msg *msg);

/* A message that arrived on a topic the bridge subscribed to. */
struct br_inmsg {
	char *topic;
	char *payload;
	size_t len;
	char *response_topic;   /* MQTT 5, or NULL */
	char *corr;             /* MQTT 5, or NULL */
	size_t corr_len;
};

struct br_sink_hooks {
	void *ctx;
	/* Connected (first time or again): re-announce retained state. */
	void (*connected)(void *ctx);
	void (*disconnected)(void *ctx);
	/* Borrowed message, valid during the call. */
	void (*message)(void *ctx, const struct br_inmsg *msg);
};

struct br_sink_ops {
	/* Steals msg. -ENOBUFS when msg is an event and the buffer is full. */
	int (*publish)(void *impl, struct br_msg *msg);
	/* Queues msg ahead of everything waiting (announcements on connect). */
	void (*publish_first)(void *impl, struct br_msg *msg);
	bool (*connected)(void *impl);
	size_t (*buffered)(void *impl);     /* events not yet acknowledged */
	size_t (*capacity)(void *impl);     /* events it may hold */
};

struct br_sink {
	const struct br_sink_ops *ops;
	void *impl;
};

#endif
