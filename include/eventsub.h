/*
 * EventSub, pure: which subscriptions stand behind a contract event name,
 * the WebSocket frame envelope, and the one normalizer that turns a
 * notification body ({"subscription","event"}) into a contract event for
 * both transports. No I/O. Fuzzed.
 */
#ifndef BR_EVENTSUB_H
#define BR_EVENTSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "event.h"

/* One EventSub subscription to create. */
struct br_es_spec {
	const char *type;       /* "channel.cheer" */
	const char *version;    /* "1" */
	/* Condition fields, comma-separated. "broadcaster_user_id" and
	 * "to_broadcaster_user_id" take the channel's id; "moderator_user_id"
	 * and "user_id" take the token user's id. */
	const char *condition;
};

#define BR_ES_MAX_SPECS 4

/* The subscriptions behind a contract event name ("bits" ->
 * channel.cheer v1), or behind a raw EventSub type (its known version
 * and condition, else version "1" and broadcaster_user_id). Returns how
 * many were written to out (at most BR_ES_MAX_SPECS), 0 when unknown. */
size_t br_eventsub_specs(const char *event, struct br_es_spec *out);

/* The condition object for spec; a new reference. */
json_t *br_eventsub_condition(const struct br_es_spec *spec,
                              const char *broadcaster_id,
                              const char *user_id);

/* The contract event name a subscription type feeds ("channel.cheer" ->
 * "bits"), or NULL for types without a mapping (published generically). */
const char *br_eventsub_event_name(const char *type);

/* An EventSub WebSocket message, parsed. Strings are borrowed from root. */
enum br_es_kind {
	BR_ES_WELCOME, BR_ES_KEEPALIVE, BR_ES_NOTIFICATION, BR_ES_RECONNECT,
	BR_ES_REVOCATION, BR_ES_UNKNOWN,
};

struct br_es_frame {
	json_t *root;           /* owned; br_es_frame_release() */
	enum br_es_kind kind;
	const char *message_id, *message_type, *timestamp;
	json_t *payload;        /* borrowed */
	/* welcome / reconnect */
	const char *session_id, *reconnect_url;
	long keepalive_s;       /* -1 when absent or null */
};

/* 0, or -EINVAL with a reason in err (not JSON, no metadata, ...). */
int br_es_frame_parse(const char *buf, size_t len, struct br_es_frame *f,
                      char *err, size_t errlen);
void br_es_frame_release(struct br_es_frame *f);

/* Normalizes a notification body. message_id and message_time come from
 * the WebSocket metadata or the webhook headers; source is
 * "eventsub-websocket" or "eventsub-webhook". Returns 0 with *out set,
 * 1 when the notification is deliberately not published (a
 * channel.bits.use that is a plain cheer, a chat notification that is
 * not a bits badge), or -EINVAL with a reason in err. Lenient: null, ""
 * and missing optional fields are alike, unknown fields are ignored,
 * ids stay strings. */
int br_eventsub_normalize(json_t *body, const char *message_id,
                          const char *message_time, const char *source,
                          struct br_event **out, char *err, size_t errlen);

#endif
