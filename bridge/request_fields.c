/*
 * Control requests (CONTRACT section 5): the keys each action accepts
 * and the judging of each value (channel, ids, transport, events, type,
 * token and refresh token), with the tables of transports and of the
 * events each carries. request.c hands over a JSON object; the rules of
 * its header hold here too: one sentence per rejection, user input
 * through br_quote(), never a token.
 */
#include <stdio.h>
#include <string.h>

#include "request.h"
#include "request_int.h"
#include "util.h"

#define TOKEN_MAX 512
#define ID_MAX 20               /* Twitch ids are decimal uint64 */
#define EVENTSUB_TYPE_MAX 80
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* The contract's event types (section 4), in the contract's order. */
static const char *const contract_types[] = {
	"bits", "bits_badge", "channel_points", "channel_points_update",
	"subscription", "follow", "raid", "stream", "channel_update",
	"moderation", "whisper", "hype_train", "poll", "prediction",
	"ad_break", "power_up", "chat", "user_update", NULL
};

const char *const br_default_events[] = {
	"bits", "channel_points", "subscription", "follow", "raid", "stream",
	NULL
};
const size_t br_n_default_events = 6;

static const char *const pubsub_events[] = {
	"bits", "bits_badge", "channel_points", "channel_points_update",
	"subscription", "moderation", "whisper", NULL
};

static const char *const websub_events[] = {
	"follow", "stream", "user_update", NULL
};

struct transport {
	const char *name;
	const char *const *events;
	bool eventsub;          /* also takes raw EventSub types */
};

/* The demo source makes exactly the default events. */
static const struct transport transports[] = {
	{ "websocket", contract_types, true },
	{ "webhook", contract_types, true },
	{ "pubsub", pubsub_events, false },
	{ "websub", websub_events, false },
	{ "demo", br_default_events, false },
};
#define N_TRANSPORTS (sizeof transports / sizeof transports[0])
#define TRANSPORT_LIST "websocket, webhook, pubsub, websub, demo"

/* Accepted keys per action; "transaction" is accepted everywhere. */
static const char *const subscribe_keys[] = {
	"channel", "channel_id", "events", "transport", "token",
	"refresh_token", "moderator_id", "transaction", NULL
};
static const char *const unsubscribe_keys[] = {
	"channel", "channel_id", "events", "transport", "transaction", NULL
};
static const char *const simulate_keys[] = {
	"channel", "channel_id", "type", "transaction", NULL
};
static const char *const plain_keys[] = { "transaction", NULL };

static const char *const *const action_keys[] = {
	[BR_ACTION_SUBSCRIBE] = subscribe_keys,
	[BR_ACTION_UNSUBSCRIBE] = unsubscribe_keys,
	[BR_ACTION_SUBSCRIPTIONS] = plain_keys,
	[BR_ACTION_HEALTH] = plain_keys,
	[BR_ACTION_SIMULATE] = simulate_keys,
};

bool
br_login_ok(const char *s)
{
	size_t n = s ? strspn(s, LOWER UPPER DIGITS "_") : 0;

	return n >= 1 && n <= 25 && s[n] == '\0';
}

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* ^[a-z_]+(\.[a-z_]+)+$, the shape of an EventSub subscription type. */
static bool
eventsub_type_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= EVENTSUB_TYPE_MAX && strspn(s, LOWER "_.") == n &&
	    s[0] != '.' && s[n - 1] != '.' && strchr(s, '.') != NULL &&
	    strstr(s, "..") == NULL;
}

static const struct transport *
find_transport(const char *name)
{
	for (size_t i = 0; name != NULL && i < N_TRANSPORTS; i++)
		if (strcmp(transports[i].name, name) == 0)
			return &transports[i];
	return NULL;
}

bool
br_event_allowed(const char *transport, const char *event)
{
	const struct transport *t = find_transport(transport);

	if (t == NULL || event == NULL)
		return false;
	return in_list(t->events, event) || (t->eventsub && eventsub_type_ok(event));
}

static void
join(char *buf, size_t size, const char *const *list)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; *list != NULL && o < size; list++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s",
		    o ? ", " : "", *list);
}

/* For "did you mean": users type "event" for "events" and
 * "channel_name" for "channel". */
static const char *
near_key(const char *key, const char *const *accepted)
{
	for (; *accepted != NULL; accepted++) {
		size_t n = strlen(key) < strlen(*accepted) ? strlen(key) :
		    strlen(*accepted);
		if (n >= 4 && strncmp(key, *accepted, n) == 0)
			return *accepted;
	}
	return NULL;
}

static int
check_keys(struct br_request *req, json_t *obj)
{
	const char *const *accepted = action_keys[req->action];
	const char *key, *near;
	char q[BR_QUOTE_MAX + 8], list[256], hint[64] = "";
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (in_list(accepted, key))
			continue;
		if ((near = near_key(key, accepted)) != NULL)
			snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
		br_quote(q, sizeof q, key);
		join(list, sizeof list, accepted);
		return request_fail(req, "unknown key '%s' for %s%s; "
		    "accepted: %s", q, br_action_name(req->action), hint, list);
	}
	return 0;
}

static bool
digits_ok(const char *s)
{
	size_t n = strspn(s, DIGITS);
	return n >= 1 && n <= ID_MAX && s[n] == '\0';
}

/* A Twitch user id: a digits string, or as a convenience a JSON integer. */
static int
get_id(struct br_request *req, json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);
	char q[BR_QUOTE_MAX + 8];

	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = br_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_integer(v))
		return request_fail(req, "%s must be a Twitch user id "
		    "(digits), got %" JSON_INTEGER_FORMAT, key,
		    json_integer_value(v));
	if (!json_is_string(v))
		return request_fail(req, "%s must be a string of digits (a "
		    "Twitch user id), got %s", key, br_json_kind(v));
	if (!digits_ok(json_string_value(v))) {
		br_quote(q, sizeof q, json_string_value(v));
		return request_fail(req, "%s must be a Twitch user id of 1-%d "
		    "digits, got '%s'", key, ID_MAX, q);
	}
	*out = br_xstrdup(json_string_value(v));
	return 0;
}

static int
get_channel(struct br_request *req, json_t *obj)
{
	json_t *v = json_object_get(obj, "channel");
	char q[BR_QUOTE_MAX + 8];

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return request_fail(req, "channel must be a string (a Twitch "
		    "login), got %s", br_json_kind(v));
	if (!br_login_ok(json_string_value(v))) {
		br_quote(q, sizeof q, json_string_value(v));
		return request_fail(req, "channel must be a Twitch login of "
		    "1-25 letters, digits or underscores, got '%s'", q);
	}
	req->channel = br_xstrdup(json_string_value(v));
	for (char *p = req->channel; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

static int
get_transport(struct br_request *req, json_t *obj)
{
	json_t *v = json_object_get(obj, "transport");
	char q[BR_QUOTE_MAX + 8];

	if (v == NULL) {
		req->transport = br_xstrdup("websocket");
		return 0;
	}
	if (!json_is_string(v))
		return request_fail(req, "transport must be a string, got %s; "
		    "accepted: " TRANSPORT_LIST, br_json_kind(v));
	if (find_transport(json_string_value(v)) == NULL) {
		br_quote(q, sizeof q, json_string_value(v));
		return request_fail(req, "unknown transport '%s'; accepted: "
		    TRANSPORT_LIST, q);
	}
	req->transport = br_xstrdup(json_string_value(v));
	return 0;
}

static int
check_event(struct br_request *req, const char *name)
{
	const struct transport *t = find_transport(req->transport);
	char q[BR_QUOTE_MAX + 8], list[256];

	if (br_event_allowed(t->name, name))
		return 0;
	br_quote(q, sizeof q, name);
	join(list, sizeof list, t->events);
	if (in_list(contract_types, name))
		return request_fail(req, "event '%s' is not available on "
		    "transport %s; accepted there: %s", q, t->name, list);
	if (eventsub_type_ok(name))
		return request_fail(req, "EventSub type '%s' needs transport "
		    "websocket or webhook; %s accepts: %s", q, t->name, list);
	return request_fail(req, "unknown event '%s' for transport %s; "
	    "accepted: %s%s", q, t->name, list, t->eventsub ?
	    ", or an EventSub type such as channel.shoutout.create" : "");
}

static int
get_events(struct br_request *req, json_t *obj)
{
	json_t *a = json_object_get(obj, "events");
	char q[BR_QUOTE_MAX + 8], list[256];
	size_t n;

	if (a == NULL && req->action == BR_ACTION_SUBSCRIBE) {
		req->events = br_xcalloc(br_n_default_events, sizeof(char *));
		for (n = 0; n < br_n_default_events; n++)
			req->events[n] = br_xstrdup(br_default_events[n]);
		req->n_events = n;
		return 0;
	}
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return request_fail(req, "events must be an array of event "
		    "names like [\"bits\",\"raid\"], got %s", br_json_kind(a));
	n = json_array_size(a);
	join(list, sizeof list, br_default_events);
	if (n == 0 && req->action == BR_ACTION_SUBSCRIBE)
		return request_fail(req, "events is empty; name at least one "
		    "event, or leave events out for the defaults (%s)", list);
	if (n == 0)
		return request_fail(req, "events is empty; name at least one "
		    "event, or leave events out to remove all of the channel's "
		    "events");
	if (n > BR_REQUEST_MAX_EVENTS)
		return request_fail(req, "events has %zu entries; at most %d "
		    "are accepted", n, BR_REQUEST_MAX_EVENTS);
	req->events = br_xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v))
			return request_fail(req, "events[%zu] must be a string "
			    "(an event name), got %s", i, br_json_kind(v));
		const char *name = json_string_value(v);
		if (check_event(req, name))
			return -1;
		for (size_t j = 0; j < req->n_events; j++) {
			if (strcmp(req->events[j], name) == 0) {
				br_quote(q, sizeof q, name);
				return request_fail(req,
				    "events lists '%s' twice", q);
			}
		}
		req->events[req->n_events++] = br_xstrdup(name);
	}
	return 0;
}

static int
get_type(struct br_request *req, json_t *obj)
{
	json_t *v = json_object_get(obj, "type");
	char q[BR_QUOTE_MAX + 8], list[256];

	join(list, sizeof list, contract_types);
	if (v == NULL)
		return request_fail(req, "simulate needs type, the event type "
		    "to publish; accepted: %s", list);
	if (!json_is_string(v))
		return request_fail(req, "type must be a string, got %s; "
		    "accepted: %s", br_json_kind(v), list);
	if (!in_list(contract_types, json_string_value(v))) {
		br_quote(q, sizeof q, json_string_value(v));
		return request_fail(req, "unknown type '%s' for simulate; "
		    "accepted: %s", q, list);
	}
	req->type = br_xstrdup(json_string_value(v));
	return 0;
}

/* A secret string: a token or a refresh token. Its value is never quoted
 * back: answers are published. */
struct secret_key {
	const char *key;
	const char *kind;       /* "a user access token" */
	const char *if_empty;   /* what to do instead */
};

static const struct secret_key token_key = { "token", "a user access token",
	"give a user access token or leave token out to use the bridge's own" };
static const struct secret_key refresh_key = { "refresh_token",
	"the refresh token that came with token", "give the refresh token "
	"that came with token, or leave refresh_token out" };

static int
get_secret(struct br_request *req, json_t *obj, const struct secret_key *k,
    char **out)
{
	json_t *v = json_object_get(obj, k->key);
	const char *s;

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return request_fail(req, "%s must be a string (%s), got %s",
		    k->key, k->kind, br_json_kind(v));
	s = json_string_value(v);
	if (*s == '\0')
		return request_fail(req, "%s is empty; %s", k->key, k->if_empty);
	for (const char *p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || p - s >= TOKEN_MAX)
			return request_fail(req, "%s must be at most %d "
			    "printable characters without spaces", k->key,
			    TOKEN_MAX);
	*out = br_xstrdup(s);
	return 0;
}

/* refresh_token (an extension of the contract) only means something
 * beside the token it refreshes. */
static int
get_tokens(struct br_request *req, json_t *obj)
{
	if (get_secret(req, obj, &token_key, &req->token) ||
	    get_secret(req, obj, &refresh_key, &req->refresh_token))
		return -1;
	if (req->refresh_token != NULL && req->token == NULL)
		return request_fail(req, "refresh_token needs token: give the "
		    "user access token it belongs to as token, or leave "
		    "refresh_token out");
	return 0;
}

static bool
needs_channel(enum br_action a)
{
	return a == BR_ACTION_SUBSCRIBE || a == BR_ACTION_UNSUBSCRIBE ||
	    a == BR_ACTION_SIMULATE;
}

void
request_validate(struct br_request *req, json_t *obj)
{
	enum br_action a = req->action;

	if (check_keys(req, obj) || get_channel(req, obj) ||
	    get_id(req, obj, "channel_id", &req->channel_id))
		return;
	if (needs_channel(a) && req->channel == NULL && req->channel_id == NULL) {
		request_fail(req, "%s needs channel (a Twitch login) or "
		    "channel_id", br_action_name(a));
		return;
	}
	if (a == BR_ACTION_SUBSCRIBE || a == BR_ACTION_UNSUBSCRIBE) {
		if (get_transport(req, obj) || get_events(req, obj))
			return;
	}
	if (a == BR_ACTION_SIMULATE && get_type(req, obj))
		return;
	if (a == BR_ACTION_SUBSCRIBE && (get_tokens(req, obj) ||
	    get_id(req, obj, "moderator_id", &req->moderator_id)))
		return;
}
