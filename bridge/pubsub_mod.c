/*
 * PubSub moderation (chat_moderator_actions): every kind of pubsub.md
 * 3.5 in the shape channel.moderate gives (eventsub_mod.c): the action
 * as event_type, moderator, target, reason, duration, args. Kinds
 * TwitchIO crashed on (moderator_removed, vip_added, a delete without
 * created_by_user_id) are ordinary here, and unknown kinds are passed on
 * with their data.
 */
#include <stdio.h>
#include <string.h>

#include "pubsub_int.h"
#include "util.h"

/* Who did it and to whom, per kind: the field names differ. */
struct who {
	const char *mod_id, *mod_login, *target_id, *target_login;
};

static const struct who by_created = { "created_by_user_id", "created_by",
	"target_user_id", "target_user_login" };
static const struct who by_unban = { "created_by_id", "created_by_login",
	"target_user_id", "target_user_login" };
static const struct who by_requester = { "requester_id", "requester_login",
	NULL, NULL };

/* args: the strings of the list, others dropped; [] when absent. */
static json_t *
args_of(json_t *d)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(d, "args"), i, v)
		if (json_is_string(v))
			json_array_append(out, v);
	return out;
}

static const char *
arg(json_t *args, size_t i)
{
	const char *s = json_string_value(json_array_get(args, i));
	return s != NULL && *s != '\0' ? s : NULL;
}

static json_t *
int_arg(json_t *args, size_t i, json_int_t scale)
{
	json_int_t n;

	if (!br_es_int_of(json_array_get(args, i), &n) || n < 0 ||
	    n > 1000000000)
		return json_null();
	return json_integer(n * scale);
}

/* A targeted action's login is often only args[0]. */
static json_t *
target_of(json_t *d, const struct who *w, json_t *args)
{
	const char *id, *login;

	if (w->target_id == NULL)
		return json_null();
	id = br_es_str(d, w->target_id);
	login = br_es_str(d, w->target_login);
	if (login == NULL && id != NULL)
		login = arg(args, 0);
	return br_ps_person(id, login, NULL);
}

/* The reason and length a moderation_action carries in its args:
 * ban [login, reason], timeout [login, seconds, reason], slow
 * [seconds], followers [minutes]. */
static void
from_args(const char *action, json_t *args, json_t **reason,
    json_t **duration)
{
	const char *r = NULL;

	*duration = json_null();
	if (strcmp(action, "ban") == 0) {
		r = arg(args, 1);
	} else if (strcmp(action, "timeout") == 0) {
		r = arg(args, 2);
		json_decref(*duration);
		*duration = int_arg(args, 1, 1);
	} else if (strcmp(action, "slow") == 0) {
		json_decref(*duration);
		*duration = int_arg(args, 0, 1);
	} else if (strcmp(action, "followers") == 0) {
		json_decref(*duration);
		*duration = int_arg(args, 0, 60);
	}
	*reason = r != NULL ? json_string(r) : json_null();
}

static void
fields(struct br_event *ev, json_t *d, const struct who *w, json_t *reason,
    json_t *duration, json_t *args)
{
	br_es_add(ev, "moderator", br_ps_person(br_es_str(d, w->mod_id),
	    br_es_str(d, w->mod_login), NULL));
	br_es_add(ev, "target", target_of(d, w, args));
	br_es_add(ev, "reason", reason);
	br_es_add(ev, "duration", duration);
	br_es_add(ev, "args", args);
}

/* Lower case, and EventSub's names for the term actions. */
static void
action_name(const char *s, char *buf, size_t size)
{
	if (s != NULL && strncmp(s, "delete_", 7) == 0 &&
	    strstr(s, "_term") != NULL)
		snprintf(buf, size, "remove_%s", s + 7);
	else
		br_ps_lower(s, buf, size);
}

static const struct {
	const char *kind, *action;      /* action NULL: from the data */
	const struct who *who;
} kinds[] = {
	{ "moderation_action", NULL, &by_created },
	{ "moderator_added", "mod", &by_created },
	{ "moderator_removed", "unmod", &by_created },
	{ "vip_added", "vip", &by_created },
	{ "vip_removed", "unvip", &by_created },
	{ "approve_unban_request", NULL, &by_unban },
	{ "deny_unban_request", NULL, &by_unban },
	{ "channel_terms_action", NULL, &by_requester },
};

int
br_ps_map_moderation(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	const char *kind = br_es_str(doc, "type");
	json_t *d = json_object_get(doc, "data");
	json_t *args = args_of(d), *reason, *duration;
	const struct who *w = &by_created;
	const char *action = NULL;
	bool known = false;
	char name[80];

	(void)c;
	for (size_t i = 0; kind != NULL && i < BR_ES_N(kinds); i++) {
		if (strcmp(kinds[i].kind, kind) != 0)
			continue;
		known = true;
		w = kinds[i].who;
		action = kinds[i].action;
	}
	if (!known && br_es_str(d, "created_by_user_id") == NULL &&
	    br_es_str(d, "created_by_id") != NULL)
		w = &by_unban;
	if (action == NULL)
		action = br_es_str(d, "moderation_action");
	if (action == NULL && kind != NULL &&
	    strcmp(kind, "channel_terms_action") == 0)
		action = br_es_str(d, "type");
	if (action == NULL)
		action = kind != NULL ? kind : "unknown";
	action_name(action, name, sizeof name);
	br_event_set_event_type(ev, name);
	br_ps_set_time(ev, br_es_str(d, "created_at") != NULL ?
	    br_es_str(d, "created_at") : br_es_str(d, "updated_at"));
	from_args(name, args, &reason, &duration);
	if (w == &by_unban && json_is_null(reason)) {
		json_decref(reason);
		reason = br_es_jstr(d, "moderator_message");
	}
	if (w == &by_requester && br_es_str(d, "text") != NULL)
		json_array_append_new(args, json_string(br_es_str(d, "text")));
	fields(ev, d, w, reason, duration, args);
	if (!known)
		br_es_add(ev, "data", json_is_object(d) ? json_incref(d) :
		    json_null());
	br_es_add(ev, "from_automod", br_es_jbool(d, "from_automod"));
	return 0;
}
