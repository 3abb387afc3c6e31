/*
 * The MQTT sink: the only module that includes MQTTAsync.h. It keeps its
 * own outbox so that nothing is lost while the broker is away: a message
 * leaves the outbox only when the broker acknowledged it (QoS 1/2) or it
 * was written (QoS 0); whatever was in flight when the connection dropped
 * is sent again after the reconnect. paho's callbacks only post to the
 * loop; all state here is touched on the loop thread.
 */
#ifndef BR_SINK_MQTT_H
#define BR_SINK_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "metrics.h"
#include "sink.h"

struct br_sink_mqtt_options {
	const char *url, *client_id, *username, *password;
	int version;                    /* 5 or 3 (3.1.1) */
	const char *ca_file, *cert_file, *key_file;
	bool tls_insecure;
	size_t buffer_max;              /* events held at most */
	const char *will_topic;         /* retained "offline" */
};

struct br_sink_mqtt;

struct br_sink_mqtt *br_sink_mqtt_new(struct br_loop *loop,
    struct br_metrics *metrics, const struct br_sink_mqtt_options *opts,
    const struct br_sink_hooks *hooks);
void br_sink_mqtt_free(struct br_sink_mqtt *s);

/* The generic interface over this sink. */
struct br_sink br_sink_mqtt_sink(struct br_sink_mqtt *s);

/* Filters subscribed (QoS 1) on every connect. */
void br_sink_mqtt_subscribe(struct br_sink_mqtt *s, const char *filter);

int br_sink_mqtt_start(struct br_sink_mqtt *s);

/* True when nothing waits and nothing is in flight. */
bool br_sink_mqtt_idle(struct br_sink_mqtt *s);

/* Clean MQTT disconnect; done(arg) runs on the loop thread once paho is
 * finished (or at once when not connected). */
void br_sink_mqtt_disconnect(struct br_sink_mqtt *s, void (*done)(void *),
                             void *arg);

/* Events still held, one JSON line each, written 0600 to path (nothing
 * written and the file removed when none are held); and read back at the
 * next start, ahead of anything new. 0 or -errno. */
int br_sink_mqtt_save(struct br_sink_mqtt *s, const char *path);
int br_sink_mqtt_load(struct br_sink_mqtt *s, const char *path);

#endif
