/*
 * Inside the EventSub normalizer: what eventsub_map.c (dispatch and the
 * plain types), eventsub_mod.c (moderation) and eventsub_json.c (the
 * lenient getters) share. Not for other modules.
 *
 * Leniency lives in the getters so that no mapper has to think about
 * it: a member that is missing, null, "" or of the wrong type is
 * absent; numbers may come as numeric strings and booleans as
 * "true"/"false" (Twitch's own examples did, twitchdev issue 857).
 */
#ifndef BR_EVENTSUB_INT_H
#define BR_EVENTSUB_INT_H

#include <stdbool.h>
#include <jansson.h>

#include "event.h"

#define BR_ES_N(a) (sizeof(a) / sizeof((a)[0]))

/* One notification being normalized. */
struct br_es_ctx {
	const char *type;       /* subscription.type */
	json_t *event;          /* borrowed; an object */
	const char *chan;       /* prefix of the channel's fields */
	bool have_time;
	long long time_ms;      /* the message time, when have_time */
	char *err;
	size_t errlen;
};

/* Writes err and returns -EINVAL. */
int br_es_fail(const struct br_es_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Borrowed strings, NULL when absent; pstr reads <prefix><field>. */
const char *br_es_str(json_t *obj, const char *key);
const char *br_es_pstr(json_t *obj, const char *prefix, const char *field);
bool br_es_int_of(json_t *v, json_int_t *out);
bool br_es_bool_of(json_t *v, bool *out);
bool br_es_flag(json_t *obj, const char *key);  /* true only if true */

/* New references: a string or null; a string or ""; a number or null;
 * a boolean or null. */
json_t *br_es_jstr(json_t *obj, const char *key);
json_t *br_es_jtext(json_t *obj, const char *key);
json_t *br_es_jint(json_t *obj, const char *key);
json_t *br_es_jbool(json_t *obj, const char *key);

/* A user object from <prefix>id/login/name, or null; new reference. */
json_t *br_es_person(json_t *obj, const char *prefix);
bool br_es_anonymous(json_t *obj, const char *prefix, const char *flag_key);

/* Adds a field to the event; steals value. */
void br_es_add(struct br_event *ev, const char *key, json_t *value);
void br_es_set_user(struct br_event *ev, json_t *obj, const char *prefix);

/* Whole seconds from from_ms to the RFC 3339 time to, or null. */
json_t *br_es_seconds_until(bool have_from, long long from_ms,
    const char *to);

/* eventsub_mod.c */
int br_es_map_moderate(struct br_event *ev, const struct br_es_ctx *c);
int br_es_map_ban(struct br_event *ev, const struct br_es_ctx *c);
int br_es_map_unban(struct br_event *ev, const struct br_es_ctx *c);

#endif
