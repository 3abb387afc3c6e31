/*
 * The discovery configs, built from nothing but their inputs. Templates
 * stay to the simplest Jinja forms ({{ value_json.a.b }} and one
 * conditional) so that they are easy to check and cheap for HA.
 */
#include <stdio.h>
#include <string.h>

#include "discovery.h"
#include "event.h"
#include "topic.h"

#define TOPIC_MAX 512
#define ID_MAX 160
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Per contract type: the entity's name and icon, and the event_type
 * values the bridge publishes (NULL-terminated; channel_points' come from
 * the rewards). moderation lists channel.moderate v2's actions, which
 * also cover channel.ban/unban; power_up lists Twitch's power-up types
 * and the mapper's fallback. */
struct kind {
	const char *type, *name, *icon;
	const char *const *event_types;
};

#define ET(...) (const char *const[]){ __VA_ARGS__, NULL }

static const struct kind kinds[] = {
	{ "bits", "Cheer", "mdi:diamond-stone", ET("cheer") },
	{ "bits_badge", "Bits badge", "mdi:police-badge", ET("badge") },
	{ "channel_points", "Channel points", "mdi:star-circle", NULL },
	{ "channel_points_update", "Redemption update", "mdi:star-check",
	  ET("fulfilled", "canceled", "unfulfilled", "unknown") },
	{ "subscription", "Subscription", "mdi:account-star",
	  ET("sub", "resub", "gift") },
	{ "follow", "Follow", "mdi:account-plus", ET("follow") },
	{ "raid", "Raid", "mdi:account-group", ET("raid") },
	{ "stream", "Stream", "mdi:broadcast", ET("online", "offline") },
	{ "channel_update", "Channel update", "mdi:pencil", ET("update") },
	{ "moderation", "Moderation", "mdi:gavel",
	  ET("ban", "timeout", "unban", "untimeout", "clear", "emoteonly",
	     "emoteonlyoff", "followers", "followersoff", "uniquechat",
	     "uniquechatoff", "slow", "slowoff", "subscribers",
	     "subscribersoff", "raid", "unraid", "delete", "vip", "unvip",
	     "mod", "unmod", "warn", "add_blocked_term", "add_permitted_term",
	     "remove_blocked_term", "remove_permitted_term",
	     "approve_unban_request", "deny_unban_request",
	     "shared_chat_ban", "shared_chat_unban", "shared_chat_timeout",
	     "shared_chat_untimeout", "shared_chat_delete") },
	{ "whisper", "Whisper", "mdi:message-lock", ET("whisper") },
	{ "hype_train", "Hype train", "mdi:train",
	  ET("begin", "progress", "end") },
	{ "poll", "Poll", "mdi:poll", ET("begin", "progress", "end") },
	{ "prediction", "Prediction", "mdi:crystal-ball",
	  ET("begin", "progress", "lock", "end") },
	{ "ad_break", "Ad break", "mdi:advertisements", ET("begin") },
	{ "power_up", "Power-up", "mdi:flash",
	  ET("message_effect", "celebration", "gigantify_an_emote",
	     "power_up") },
	{ "chat", "Chat", "mdi:chat", ET("message") },
	{ "user_update", "User update", "mdi:account-edit", ET("update") },
};

static const struct kind *
kind_of(const char *type)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (strcmp(kinds[i].type, type) == 0)
			return &kinds[i];
	return NULL;
}

/* Raw EventSub types are requested by their Twitch name, which has dots. */
static bool
is_raw(const char *type)
{
	return strchr(type, '.') != NULL;
}

void
br_disc_object_id(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return;
	for (; s != NULL && *s != '\0' && n + 1 < size; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';
		out[n++] = ok ? c : '_';
	}
	out[n] = '\0';
}

static bool
has_string(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

json_t *
br_disc_event_types(const char *type, json_t *rewards)
{
	const struct kind *k = kind_of(type);
	json_t *a = json_array();
	size_t i;
	json_t *r;

	if (k == NULL) {
		json_array_append_new(a, json_string(type));
		return a;
	}
	if (k->event_types != NULL) {
		for (const char *const *t = k->event_types; *t != NULL; t++)
			json_array_append_new(a, json_string(*t));
		return a;
	}
	json_array_foreach(rewards, i, r) {
		char slug[128];
		br_slug(json_string_value(json_object_get(r, "title")), slug,
		    sizeof slug);
		if (!has_string(a, slug))
			json_array_append_new(a, json_string(slug));
	}
	/* HA wants at least one; "reward" is the slug of an empty title. */
	if (json_array_size(a) == 0)
		json_array_append_new(a, json_string("reward"));
	return a;
}

/* ---- the pieces every config shares ---- */

static void
bridge_id(const struct br_disc_options *o, char *out, size_t size)
{
	char b[ID_MAX - 16];

	br_disc_object_id(o->base, b, sizeof b);
	snprintf(out, size, "twitch2mqtt_%s", b);
}

static json_t *
origin(const struct br_disc_options *o)
{
	return json_pack("{s:s, s:s}", "name", "twitch2mqtt", "sw_version",
	    o->version);
}

static json_t *
channel_device(const struct br_disc_options *o,
    const struct br_disc_channel *ch, const char *node)
{
	char via[ID_MAX], url[300];

	bridge_id(o, via, sizeof via);
	snprintf(url, sizeof url, "https://www.twitch.tv/%s", ch->login);
	return json_pack("{s:[s], s:s+, s:s, s:s, s:s, s:s}",
	    "identifiers", node, "name", "Twitch ",
	    ch->name != NULL && *ch->name ? ch->name : ch->login,
	    "manufacturer", "Twitch", "model", "Channel",
	    "configuration_url", url, "via_device", via);
}

/* Both must say online: the bridge runs and the channel is held. */
static json_t *
availability(const struct br_disc_options *o, const char *login)
{
	char bt[TOPIC_MAX], ct[TOPIC_MAX];

	if (br_topic_bridge(bt, sizeof bt, o->base, "state") < 0 ||
	    br_topic_channel(ct, sizeof ct, o->base, login, "availability") < 0)
		return json_array();
	return json_pack("[{s:s}, {s:s}]", "topic", bt, "topic", ct);
}

/* Adds <prefix>/<component>/<node>/<object>/config -> cfg (stolen). */
static void
put(json_t *out, const struct br_disc_options *o, const char *component,
    const char *node, const char *object, json_t *cfg)
{
	char topic[TOPIC_MAX], obj[ID_MAX];

	br_disc_object_id(object, obj, sizeof obj);
	if (cfg != NULL && snprintf(topic, sizeof topic, "%s/%s/%s/%s/config",
	    o->prefix, component, node, obj) < (int)sizeof topic)
		json_object_set_new(out, topic, cfg);
	else
		json_decref(cfg);
}

/* name, unique_id, the channel's availability, device and origin: what an
 * entity of a channel always has. */
static json_t *
entity(const struct br_disc_options *o, const struct br_disc_channel *ch,
    const char *node, const char *name, const char *what, const char *icon)
{
	char uid[ID_MAX * 2];

	snprintf(uid, sizeof uid, "%s_%s", node, what);
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "name", name,
	    "unique_id", uid, "icon", icon, "availability",
	    availability(o, ch->login), "availability_mode", "all",
	    "device", channel_device(o, ch, node), "origin", origin(o));
}

static void
add_state_entities(json_t *out, const struct br_disc_options *o,
    const struct br_disc_channel *ch, const char *node, const char *state)
{
	json_t *e;

	e = entity(o, ch, node, "Live", "live", "mdi:broadcast");
	json_object_set_new(e, "state_topic", json_string(state));
	json_object_set_new(e, "value_template",
	    json_string("{{ 'ON' if value_json.live else 'OFF' }}"));
	json_object_set_new(e, "json_attributes_topic", json_string(state));
	put(out, o, "binary_sensor", node, "live", e);

	e = entity(o, ch, node, "Title", "title", "mdi:format-title");
	json_object_set_new(e, "state_topic", json_string(state));
	json_object_set_new(e, "value_template",
	    json_string("{{ value_json.title }}"));
	put(out, o, "sensor", node, "title", e);

	e = entity(o, ch, node, "Category", "category", "mdi:gamepad-variant");
	json_object_set_new(e, "state_topic", json_string(state));
	json_object_set_new(e, "value_template",
	    json_string("{{ value_json.category }}"));
	put(out, o, "sensor", node, "category", e);
}

static void
add_event_entity(json_t *out, const struct br_disc_options *o,
    const struct br_disc_channel *ch, const char *node, const char *type)
{
	const struct kind *k = kind_of(type);
	char topic[TOPIC_MAX], leaf[300], what[ID_MAX];

	if (k == NULL && !is_raw(type))
		return;
	snprintf(leaf, sizeof leaf, "%s%s", k ? "" : "eventsub/", type);
	if (br_topic_channel(topic, sizeof topic, o->base, ch->login, leaf) < 0)
		return;
	br_disc_object_id(type, what, sizeof what);
	json_t *e = entity(o, ch, node, k ? k->name : type, what,
	    k ? k->icon : "mdi:twitch");
	json_object_set_new(e, "state_topic", json_string(topic));
	json_object_set_new(e, "event_types",
	    br_disc_event_types(type, ch->rewards));
	put(out, o, "event", node, what, e);
}

/* A device trigger per reward: "<title> redeemed" in the automation
 * editor, matched on the reward id so that a renamed reward still fires.
 * Device triggers take no availability. */
static void
add_reward_triggers(json_t *out, const struct br_disc_options *o,
    const struct br_disc_channel *ch, const char *node)
{
	char topic[TOPIC_MAX], object[ID_MAX];
	size_t i;
	json_t *r;

	if (br_topic_channel(topic, sizeof topic, o->base, ch->login,
	    "channel_points") < 0)
		return;
	json_array_foreach(ch->rewards, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *title = json_string_value(json_object_get(r,
		    "title"));
		if (id == NULL || *id == '\0' || title == NULL)
			continue;
		snprintf(object, sizeof object, "reward_%s", id);
		put(out, o, "device_automation", node, object, json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
		    "automation_type", "trigger", "type", "redeemed",
		    "subtype", title, "topic", topic,
		    "value_template", "{{ value_json.reward.id }}",
		    "payload", id, "device", channel_device(o, ch, node),
		    "origin", origin(o)));
	}
}

json_t *
br_disc_channel(const struct br_disc_options *o,
    const struct br_disc_channel *ch)
{
	json_t *out = json_object();
	char node[ID_MAX], bid[ID_MAX - 16], state[TOPIC_MAX];
	size_t i;
	json_t *ev;

	if (ch->id == NULL || *ch->id == '\0' || ch->login == NULL ||
	    br_topic_channel(state, sizeof state, o->base, ch->login,
	    "state") < 0)
		return out;
	/* The broadcaster id, not the login: a rename keeps the entities. */
	br_disc_object_id(ch->id, bid, sizeof bid);
	snprintf(node, sizeof node, "twitch_%s", bid);
	add_state_entities(out, o, ch, node, state);
	json_array_foreach(ch->events, i, ev)
		add_event_entity(out, o, ch, node, json_string_value(ev));
	if (has_string(ch->events, "channel_points"))
		add_reward_triggers(out, o, ch, node);
	return out;
}

/* The bridge's own device. Its connectivity sensor reads the very topic
 * the others take availability from, so it has none itself: it shows
 * "disconnected" rather than "unavailable" when the bridge is away. */
json_t *
br_disc_bridge(const struct br_disc_options *o)
{
	char id[ID_MAX], uid[ID_MAX * 2], state[TOPIC_MAX];
	json_t *out = json_object();

	if (br_topic_bridge(state, sizeof state, o->base, "state") < 0)
		return out;
	bridge_id(o, id, sizeof id);
	snprintf(uid, sizeof uid, "%s_connection", id);
	put(out, o, "binary_sensor", id, "connection", json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:{s:[s], s:s, s:s, s:s, s:s}, s:o}",
	    "name", "MQTT connection", "unique_id", uid,
	    "device_class", "connectivity", "entity_category", "diagnostic",
	    "state_topic", state, "payload_on", "online",
	    "payload_off", "offline", "icon", "mdi:lan-connect",
	    "device", "identifiers", id, "name", "twitch2mqtt",
	    "manufacturer", "twitch2mqtt", "model", "Bridge",
	    "sw_version", o->version, "origin", origin(o)));
	return out;
}
