/*
 * Where every source hands its events: dedupe -> topic -> sink, plus the
 * retained per-channel state that stream and channel_update events move.
 * Sources see only this; they never learn that MQTT exists.
 */
#ifndef BR_BUS_H
#define BR_BUS_H

#include "event.h"
#include "metrics.h"
#include "sink.h"

struct br_bus;

struct br_bus_options {
	const char *base_topic;
	int qos;
};

struct br_bus *br_bus_new(struct br_sink sink, struct br_metrics *metrics,
                          const struct br_bus_options *opts);
void br_bus_free(struct br_bus *bus);

/* Steals ev. 0: queued for the sink. -EEXIST: a duplicate id, dropped.
 * -ENOBUFS: the buffer is full; the id is forgotten so that a redelivery
 * is taken. -EINVAL: no usable channel or id, dropped. */
int br_bus_submit(struct br_bus *bus, struct br_event *ev);

/* Called with each event the bus is about to publish (deduplicated,
 * accepted), before it is queued: what an observer publishes because of
 * it (a discovery update) reaches the broker first. One observer; NULL
 * removes it. The event is borrowed for the call. */
typedef void (*br_bus_observer)(void *ctx, struct br_event *ev);
void br_bus_observe(struct br_bus *bus, br_bus_observer fn, void *ctx);

/* True when one more event would be refused for a full buffer. */
bool br_bus_full(struct br_bus *bus);

/*
 * Backpressure, for a source that can stop reading without losing
 * anything (the EventSub WebSocket: the events wait in the socket).
 * Backlogged: the broker is connected and the sink holds at least
 * BR_BUS_HIGH_WATER events (its capacity when that is smaller), so the
 * source should stop taking input. Drained: it may take input again, the
 * backlog being down to half of that or the broker disconnected. While
 * the broker is away the buffer is the store for the outage: sources go
 * on filling it up to mqtt.buffer_max, as before.
 *
 * 512: with reading resumed within a millisecond of the drain, enough to
 * keep broker and paho busy (10-25 ms of their work at the rates a busy
 * machine allows); more only holds more memory and makes every event
 * wait longer (EventSub benchmark: 2 MiB less peak RSS than at 2048,
 * events/s the same or better).
 */
#define BR_BUS_HIGH_WATER 512
bool br_bus_backlogged(struct br_bus *bus);
bool br_bus_drained(struct br_bus *bus);

/* Publishes every channel's retained state again (after a reconnect). */
void br_bus_announce(struct br_bus *bus);

/* Clears a channel's retained state (on unsubscribe of its last event). */
void br_bus_forget_channel(struct br_bus *bus, const char *login);

/* A borrowed view of a channel's state object, or NULL. */
json_t *br_bus_channel_state(struct br_bus *bus, const char *login);

#endif
