/*
 * The core type: one normalized Twitch event (CONTRACT section 4).
 *
 * An event is a flat JSON object whose common fields are always present
 * and in the contract's order: id, type, event_type, source, time, test,
 * channel, user. Sources and normalizers add their further fields to the
 * object returned by br_event_json(). Depends on jansson only.
 */
#ifndef BR_EVENT_H
#define BR_EVENT_H

#include <stdbool.h>
#include <jansson.h>

struct br_event;

/* Returns a new event with id "", time now, test false and channel and
 * user null. type and source are copied. */
struct br_event *br_event_new(const char *type, const char *event_type,
                              const char *source);
void br_event_free(struct br_event *ev);

void br_event_set_id(struct br_event *ev, const char *id);
void br_event_set_time_ms(struct br_event *ev, long long unix_ms);
void br_event_set_test(struct br_event *ev, bool test);
void br_event_set_event_type(struct br_event *ev, const char *event_type);
/* All three may be NULL or "" (stored as null); login is lower-cased. */
void br_event_set_channel(struct br_event *ev, const char *id,
                          const char *login, const char *name);
/* NULL id and login means no user: "user": null. */
void br_event_set_user(struct br_event *ev, const char *id, const char *login,
                       const char *name);

/* A user object {"id","login","name"}, or json null when id and login are
 * both missing. Returns a new reference. */
json_t *br_user_json(const char *id, const char *login, const char *name);

/* Topic leaf below <base>/<channel>/; defaults to the type. Events of
 * EventSub types without a mapping go to "eventsub/<twitch type>". */
void br_event_set_topic_leaf(struct br_event *ev, const char *leaf);

const char *br_event_id(const struct br_event *ev);
const char *br_event_type(const struct br_event *ev);
const char *br_event_source(const struct br_event *ev);
const char *br_event_channel_login(const struct br_event *ev);
const char *br_event_topic_leaf(const struct br_event *ev);
long long br_event_time_ms(const struct br_event *ev);

/* Borrowed reference to the object, for adding fields. */
json_t *br_event_json(struct br_event *ev);

/* Compact JSON in field order; returns a new string (free()) and its
 * length. */
char *br_event_dump(const struct br_event *ev, size_t *len);

/* json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), byte for byte, for an
 * object or array: a new string (free()) and its length (len may be
 * NULL), or NULL where json_dumps fails. Several times faster than
 * jansson's dumper, which every event and state message goes through. */
char *br_json_compact(const json_t *j, size_t *len);

/* json_loadb(buf, len, 0, err), value for value: the same result for
 * every input, errors included (those come from jansson itself). Several
 * times faster than jansson's parser, which every EventSub WebSocket
 * message goes through. */
json_t *br_json_loadb(const char *buf, size_t len, json_error_t *err);

/* Its fast path alone: what br_json_loadb returns without asking
 * jansson, or NULL where it leaves the input to jansson (for tests). */
json_t *br_json_loadb_fast(const char *buf, size_t len);

/* A reward's slug (CONTRACT 4): "Hydrate!" -> "hydrate", "" -> "reward".
 * Writes at most size bytes including the NUL. */
void br_slug(const char *title, char *out, size_t size);

#endif
