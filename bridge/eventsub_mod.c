/*
 * Moderation. channel.moderate v2 names the action and fills the one
 * member that belongs to it; the target is that member's user. args
 * follows PubSub's chat_moderator_actions: the target's login, then the
 * action's salient values as strings (a timeout's seconds, a raid's
 * viewer count, a deleted message's text and id, slow mode's seconds,
 * followers-only minutes, automod terms). Reasons have their own field
 * and are not repeated there.
 */
#include <stdio.h>
#include <string.h>

#include "eventsub_int.h"
#include "util.h"

enum margs { MA_LOGIN, MA_TIMEOUT, MA_RAID, MA_DELETE, MA_SLOW, MA_FOLLOWERS,
	MA_TERMS };

/* Actions whose data member is not named after them or whose args are
 * more than the login; every other action is { action, action, login }. */
static const struct {
	const char *action, *member;
	enum margs args;
} actions[] = {
	{ "timeout", "timeout", MA_TIMEOUT },
	{ "shared_chat_timeout", "shared_chat_timeout", MA_TIMEOUT },
	{ "raid", "raid", MA_RAID },
	{ "delete", "delete", MA_DELETE },
	{ "shared_chat_delete", "shared_chat_delete", MA_DELETE },
	{ "slow", "slow", MA_SLOW },
	{ "followers", "followers", MA_FOLLOWERS },
	{ "add_blocked_term", "automod_terms", MA_TERMS },
	{ "add_permitted_term", "automod_terms", MA_TERMS },
	{ "remove_blocked_term", "automod_terms", MA_TERMS },
	{ "remove_permitted_term", "automod_terms", MA_TERMS },
	{ "approve_unban_request", "unban_request", MA_LOGIN },
	{ "deny_unban_request", "unban_request", MA_LOGIN },
};

static void
append_str(json_t *args, json_t *obj, const char *key)
{
	const char *s = br_es_str(obj, key);

	if (s != NULL)
		json_array_append_new(args, json_string(s));
}

/* A number as a string; n is borrowed. */
static void
append_int(json_t *args, json_t *n)
{
	char buf[32];

	if (json_is_integer(n)) {
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(n));
		json_array_append_new(args, json_string(buf));
	}
}

static void
append_num(json_t *args, json_t *obj, const char *key)
{
	json_t *n = br_es_jint(obj, key);

	append_int(args, n);
	json_decref(n);
}

/* The moderation fields, in contract order; steals duration. */
static void
mod_fields(struct br_event *ev, json_t *e, json_t *target, json_t *reason,
    json_t *duration, json_t *args)
{
	br_es_add(ev, "moderator", br_es_person(e, "moderator_user_"));
	br_es_add(ev, "target", target);
	br_es_add(ev, "reason", reason);
	br_es_add(ev, "duration", duration);
	br_es_add(ev, "args", args);
}

/* The object holding the action's data; failing the known member, the
 * first member object that names a user. */
static json_t *
action_data(json_t *e, const char *member)
{
	json_t *data = json_object_get(e, member), *v;
	const char *key;

	if (json_is_object(data))
		return data;
	json_object_foreach(e, key, v)
		if (json_is_object(v) && br_es_str(v, "user_id") != NULL)
			return v;
	return NULL;
}

static json_t *
mod_args(enum margs kind, json_t *data, json_t *target, json_t *duration)
{
	json_t *args = json_array(), *term;
	size_t i;

	append_str(args, target, "login");
	switch (kind) {
	case MA_TIMEOUT:
	case MA_SLOW:
		append_int(args, duration);
		break;
	case MA_RAID:
		append_num(args, data, "viewer_count");
		break;
	case MA_DELETE:
		append_str(args, data, "message_body");
		append_str(args, data, "message_id");
		break;
	case MA_FOLLOWERS:
		append_num(args, data, "follow_duration_minutes");
		break;
	case MA_TERMS:
		json_array_foreach(json_object_get(data, "terms"), i, term)
			if (json_string_value(term) != NULL)
				json_array_append(args, term);
		break;
	case MA_LOGIN:
		break;
	}
	return args;
}

/* A timeout's length: expires_at minus the message time, when both are
 * known; slow mode's wait; followers-only minutes in seconds. */
static json_t *
mod_duration(enum margs kind, json_t *data, const struct br_es_ctx *c)
{
	json_t *minutes = json_object_get(data, "follow_duration_minutes");
	json_int_t n;

	switch (kind) {
	case MA_TIMEOUT:
		return br_es_seconds_until(c->have_time, c->time_ms,
		    br_es_str(data, "expires_at"));
	case MA_SLOW:
		return br_es_jint(data, "wait_time_seconds");
	case MA_FOLLOWERS:
		if (!br_es_int_of(minutes, &n) || n < 0 || n > 1000000000)
			return json_null();
		return json_integer(n * 60);
	default:
		return json_null();
	}
}

int
br_es_map_moderate(struct br_event *ev, const struct br_es_ctx *c)
{
	const char *action = br_es_str(c->event, "action");
	const char *member = action;
	enum margs kind = MA_LOGIN;

	if (action == NULL)
		return br_es_fail(c, "no action in a %.80s event", c->type);
	for (size_t i = 0; i < BR_ES_N(actions); i++)
		if (strcmp(actions[i].action, action) == 0) {
			member = actions[i].member;
			kind = actions[i].args;
		}
	json_t *data = action_data(c->event, member);
	json_t *target = br_es_person(data, "user_");
	json_t *duration = mod_duration(kind, data, c);
	const char *reason = br_es_str(data, "reason");

	if (reason == NULL)
		reason = br_es_str(data, "moderator_message");
	br_event_set_event_type(ev, action);
	mod_fields(ev, c->event, target, reason != NULL ? json_string(reason)
	    : json_null(), duration, mod_args(kind, data, target, duration));
	return 0;
}

/* channel.ban covers timeouts too: is_permanent false, or an ends_at.
 * Its length runs from banned_at (else the message time) to ends_at. */
int
br_es_map_ban(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;
	const char *ends = br_es_str(e, "ends_at");
	bool permanent, have_from = c->have_time;
	int64_t from = c->time_ms, banned;

	if (!br_es_bool_of(json_object_get(e, "is_permanent"), &permanent))
		permanent = ends == NULL;
	if (br_parse_time(br_es_str(e, "banned_at"), &banned) == 0) {
		from = banned;
		have_from = true;
	}
	json_t *duration = permanent ? json_null() :
	    br_es_seconds_until(have_from, from, ends);
	json_t *target = br_es_person(e, "user_");
	enum margs kind = permanent ? MA_LOGIN : MA_TIMEOUT;

	br_event_set_event_type(ev, permanent ? "ban" : "timeout");
	mod_fields(ev, e, target, br_es_jstr(e, "reason"), duration,
	    mod_args(kind, NULL, target, duration));
	return 0;
}

int
br_es_map_unban(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *target = br_es_person(c->event, "user_");

	br_event_set_event_type(ev, "unban");
	mod_fields(ev, c->event, target, json_null(), json_null(),
	    mod_args(MA_LOGIN, NULL, target, NULL));
	return 0;
}
