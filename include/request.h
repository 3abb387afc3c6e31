/*
 * Control requests (CONTRACT section 5): parsing and validation, pure.
 * Turns the payload of <base>/bridge/request/<action> into a struct
 * br_request, or into an error sentence that says what was wrong and what
 * is accepted. No I/O, no state: the control module acts on the result.
 */
#ifndef BR_REQUEST_H
#define BR_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

enum br_action {
	BR_ACTION_SUBSCRIBE,
	BR_ACTION_UNSUBSCRIBE,
	BR_ACTION_SUBSCRIPTIONS,
	BR_ACTION_HEALTH,
	BR_ACTION_SIMULATE,
};

#define BR_REQUEST_MAX_EVENTS 64
#define BR_REQUEST_MAX_PAYLOAD (64 * 1024)

struct br_request {
	enum br_action action;
	char error[512];      /* non-empty: the request is invalid */
	json_t *transaction;  /* any JSON value, echoed; NULL when absent */

	char *channel;        /* lower-cased login, or NULL if only an id */
	char *channel_id;     /* digits, or NULL */
	char *transport;      /* "websocket" (default), "webhook", "pubsub", "websub",
	                       * "demo"; NULL for actions without a transport */
	char **events;        /* validated names; NULL with n_events 0 = all */
	size_t n_events;      /* (unsubscribe) or the defaults (subscribe) */
	char *type;           /* simulate: the event type */
	char *token;          /* secret: a broadcaster's user token, or NULL */
	char *refresh_token;  /* secret: token's refresh token, or NULL (only
	                       * with token; an extension of the contract) */
	char *moderator_id;   /* pubsub moderation/whisper user id, or NULL */
};

/* Always returns a new request (free with br_request_free). When invalid,
 * error holds one human sentence and transaction is still set if the
 * payload was a JSON object carrying one. */
struct br_request *br_request_parse(const char *action, const char *payload,
                                    size_t len);

/* Same, for a subscribe request already held as JSON (the config's
 * "channels" elements). */
struct br_request *br_request_from_json(enum br_action action, json_t *obj);

void br_request_free(struct br_request *req);

const char *br_action_name(enum br_action action);

/* The six events a subscribe without "events" means. */
extern const char *const br_default_events[];
extern const size_t br_n_default_events;

/* True when event (a contract name, or for websocket/webhook an EventSub
 * type like "channel.shoutout.create") may be held on transport. */
bool br_event_allowed(const char *transport, const char *event);

/* True for a Twitch login: 1-25 of [a-zA-Z0-9_]. */
bool br_login_ok(const char *s);

/* For error sentences that quote user input (also used by config):
 * copies s as printable ASCII, other bytes and ' and \ as \xNN, cut
 * to about BR_QUOTE_MAX characters with "..." appended. size >= 8. */
#define BR_QUOTE_MAX 64
void br_quote(char *dst, size_t size, const char *s);

/* "an object", "a string", "an integer", ... for "got %s" in errors. */
const char *br_json_kind(const json_t *v);

/* Cuts jansson's error text before the " near '<input>'" it ends in: the
 * input may be a token (also used by config). */
void br_json_error_cut(char *text);

#endif
