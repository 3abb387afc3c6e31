/*
 * Home Assistant MQTT discovery (per-component, retained): one HA device
 * per held channel, linked via_device to one bridge device. The builder
 * half is pure: given the topics' base, the discovery prefix and a
 * channel it returns every config topic with its payload, so that unit
 * tests see exactly what Home Assistant will. discovery_pub.c publishes
 * them.
 */
#ifndef BR_DISCOVERY_H
#define BR_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct br_disc_options {
	const char *base;       /* mqtt.base_topic */
	const char *prefix;     /* homeassistant.prefix */
	const char *version;    /* the origin's sw_version */
};

/* A held channel: the union of its events over every transport. */
struct br_disc_channel {
	const char *id, *login, *name;  /* id: the broadcaster id */
	json_t *events;         /* borrowed array of event names */
	json_t *rewards;        /* borrowed array of {"id","title"}, or NULL */
};

/* Object of config topic -> config object (new references); every topic
 * is <prefix>/<component>/<node>/<object>/config. An empty object when
 * the channel lacks an id or login or names no usable topic. */
json_t *br_disc_channel(const struct br_disc_options *o,
                        const struct br_disc_channel *ch);
json_t *br_disc_bridge(const struct br_disc_options *o);

/* The event_type values the bridge publishes for an event type (CONTRACT
 * 4), as an array (new reference). channel_points: the slugs of rewards
 * (["reward"] when none is known); a raw EventSub type: itself. */
json_t *br_disc_event_types(const char *type, json_t *rewards);

/* s with everything but [a-zA-Z0-9_-] turned into '_'; truncated to fit. */
void br_disc_object_id(const char *s, char *out, size_t size);

/* ---- publishing (discovery_pub.c), on the loop thread ---- */

struct br_loop;
struct br_sink;
struct br_subs;
struct br_helix;
struct br_auth;
struct br_event;

struct br_disc_pub_options {
	const char *base, *prefix, *version;
	const char *state_dir;  /* remembers the topics published */
	bool off;               /* homeassistant.discovery false: only clear
	                         * what an earlier run published */
};

struct br_disc_pub_hooks {
	void *ctx;
	/* Publish availability and retained state again: after configs, so
	 * that Home Assistant sees them once its entities exist. */
	void (*announce)(void *ctx);
};

struct br_disc_pub;

/* helix and auth may be NULL (no reward lists from Twitch then). */
struct br_disc_pub *br_disc_pub_new(struct br_loop *loop,
    const struct br_sink *sink, struct br_subs *subs, struct br_helix *helix,
    struct br_auth *auth, const struct br_disc_pub_options *o,
    const struct br_disc_pub_hooks *hooks);
void br_disc_pub_free(struct br_disc_pub *p);

/* <prefix>/status: Home Assistant's birth and will. */
const char *br_disc_pub_status_topic(const struct br_disc_pub *p);

/* Makes the retained configs match what is held: new and changed ones
 * published, ones no longer wanted cleared (empty retained). all: every
 * config again (after a reconnect). Nothing while the broker is away. */
void br_disc_pub_sync(struct br_disc_pub *p, bool all);

/* A message on the status topic: "online" re-publishes every config and,
 * a moment later, the state. True when the topic was the status topic. */
bool br_disc_pub_message(struct br_disc_pub *p, const char *topic,
                         const char *payload, size_t len);

/* The bus observer: a redemption naming a reward not known yet adds it
 * and asks Twitch for the channel's list again. */
void br_disc_pub_event(void *p, struct br_event *ev);

#endif
