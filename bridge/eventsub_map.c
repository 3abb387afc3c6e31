/*
 * The EventSub normalizer: one notification body ({"subscription",
 * "event"}) from either transport becomes one contract event (CONTRACT
 * section 4). Pure; fed by the network, so fuzzed.
 *
 * Absent values (eventsub_int.h says what absent means) come out as
 * null, except text a person typed (messages, inputs, titles, prompts,
 * descriptions), which comes out as "" so that templates can use it
 * without a null check. Moderation is in eventsub_mod.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eventsub.h"
#include "eventsub_int.h"
#include "util.h"

typedef int (*map_fn)(struct br_event *, const struct br_es_ctx *);

/* Mappers, one per EventSub type or family. e is the Twitch event. */

/* The typed text of a message-like member: {"text": ...}. */
static json_t *
text_of(json_t *e, const char *member)
{
	return br_es_jtext(json_object_get(e, member), "text");
}

static int
map_cheer(struct br_event *ev, const struct br_es_ctx *c)
{
	bool anon = br_es_anonymous(c->event, "user_", "is_anonymous");

	if (!anon)
		br_es_set_user(ev, c->event, "user_");
	br_es_add(ev, "bits", br_es_jint(c->event, "bits"));
	br_es_add(ev, "message", br_es_jtext(c->event, "message"));
	br_es_add(ev, "anonymous", json_boolean(anon));
	br_es_add(ev, "badge", json_null());    /* not in EventSub's cheer */
	return 0;
}

/* Only the bits badge notice is an event; the rest of chat.notification
 * (subs, raids, announcements) has better sources. */
static int
map_badge(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;
	const char *notice = br_es_str(e, "notice_type");

	if (notice == NULL || strcmp(notice, "bits_badge_tier") != 0)
		return 1;
	if (!br_es_anonymous(e, "chatter_user_", "chatter_is_anonymous"))
		br_es_set_user(ev, e, "chatter_user_");
	br_es_add(ev, "tier", br_es_jint(json_object_get(e, "bits_badge_tier"),
	    "tier"));
	br_es_add(ev, "message", text_of(e, "message"));
	return 0;
}

static void
redemption(struct br_event *ev, json_t *e)
{
	json_t *r = json_object_get(e, "reward");

	br_es_set_user(ev, e, "user_");
	br_es_add(ev, "redemption_id", br_es_jstr(e, "id"));
	br_es_add(ev, "reward", json_pack("{s:o, s:o, s:o, s:o}",
	    "id", br_es_jstr(r, "id"), "title", br_es_jtext(r, "title"),
	    "cost", br_es_jint(r, "cost"), "prompt", br_es_jtext(r, "prompt")));
	br_es_add(ev, "input", br_es_jtext(e, "user_input"));
	br_es_add(ev, "status", br_es_jstr(e, "status"));
}

static int
map_redeem(struct br_event *ev, const struct br_es_ctx *c)
{
	char slug[128];

	br_slug(br_es_str(json_object_get(c->event, "reward"), "title"), slug,
	    sizeof slug);
	br_event_set_event_type(ev, slug);
	redemption(ev, c->event);
	return 0;
}

/* Twitch documents "unknown" as a possible status; it also stands in
 * for a missing one, so that event_type is never null. */
static int
map_redeem_update(struct br_event *ev, const struct br_es_ctx *c)
{
	const char *status = br_es_str(c->event, "status");

	br_event_set_event_type(ev, status != NULL ? status : "unknown");
	redemption(ev, c->event);
	return 0;
}

/* Tiers stay as Twitch gives them ("1000"; "prime" only comes from
 * PubSub); a number is written as a string. */
static json_t *
tier(json_t *e)
{
	json_int_t n;
	char buf[32];

	if (br_es_str(e, "tier") != NULL)
		return br_es_jstr(e, "tier");
	if (!br_es_int_of(json_object_get(e, "tier"), &n))
		return json_null();
	snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, n);
	return json_string(buf);
}

/* The subscription fields in contract order; steals the json_t *s. */
struct sub {
	json_t *months, *streak, *duration, *count, *recipient, *message;
	bool gift, anonymous;
};

static void
sub_fields(struct br_event *ev, json_t *e, const struct sub *s)
{
	br_es_add(ev, "tier", tier(e));
	br_es_add(ev, "months", s->months);
	br_es_add(ev, "streak", s->streak);
	br_es_add(ev, "duration", s->duration);
	br_es_add(ev, "gift", json_boolean(s->gift));
	br_es_add(ev, "count", s->count);
	br_es_add(ev, "recipient", s->recipient);
	br_es_add(ev, "message", s->message);
	br_es_add(ev, "anonymous", json_boolean(s->anonymous));
}

/*
 * channel.subscribe also arrives for each recipient of a gift. Its user
 * is then the recipient, and the gifter is not in the payload (it is in
 * the companion channel.subscription.gift). The event keeps PubSub's
 * reading of a gift: "user" is the gifter, here unknown and so null, and
 * "recipient" the viewer who got the sub. It stays event_type "sub": the
 * gift itself is the "gift" event, counted once, and automations keyed
 * on "gift" must not fire once more per recipient.
 */
static int
map_sub(struct br_event *ev, const struct br_es_ctx *c)
{
	bool gift = br_es_flag(c->event, "is_gift");

	if (!gift)
		br_es_set_user(ev, c->event, "user_");
	sub_fields(ev, c->event, &(struct sub){
	    .months = json_integer(1), .streak = json_null(),
	    .duration = json_integer(1), .count = json_integer(1),
	    .recipient = gift ? br_es_person(c->event, "user_") : json_null(),
	    .message = json_string(""), .gift = gift });
	return 0;
}

static int
map_resub(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;

	br_es_set_user(ev, e, "user_");
	sub_fields(ev, e, &(struct sub){
	    .months = br_es_jint(e, "cumulative_months"),
	    .streak = br_es_jint(e, "streak_months"),
	    .duration = br_es_jint(e, "duration_months"),
	    .count = json_integer(1), .recipient = json_null(),
	    .message = text_of(e, "message") });
	return 0;
}

/* cumulative_total is always present on a gift, null when Twitch does
 * not share it, so that consumers see one shape. */
static int
map_gift(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;
	bool anon = br_es_anonymous(e, "user_", "is_anonymous");

	if (!anon)
		br_es_set_user(ev, e, "user_");
	sub_fields(ev, e, &(struct sub){
	    .months = json_integer(1), .streak = json_null(),
	    .duration = json_integer(1), .count = br_es_jint(e, "total"),
	    .recipient = json_null(), .message = json_string(""),
	    .gift = true, .anonymous = anon });
	br_es_add(ev, "cumulative_total", br_es_jint(e, "cumulative_total"));
	return 0;
}

static int
map_follow(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_set_user(ev, c->event, "user_");
	br_es_add(ev, "followed_at", br_es_jstr(c->event, "followed_at"));
	return 0;
}

static int
map_raid(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_set_user(ev, c->event, "from_broadcaster_user_");
	br_es_add(ev, "viewers", br_es_jint(c->event, "viewers"));
	return 0;
}

/* stream_type (live, playlist, rerun, ...) is beyond the contract's
 * fields: automations may want to ignore reruns. */
static int
map_online(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_add(ev, "started_at", br_es_jstr(c->event, "started_at"));
	br_es_add(ev, "stream_type", br_es_jstr(c->event, "type"));
	return 0;
}

static int
map_offline(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_add(ev, "started_at", json_null());
	return 0;
}

/* v1 and v2 share these fields. A channel without a category (Twitch
 * sends "") has "category": null rather than an object of nulls. */
static int
map_update(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event, *category = json_null();

	if (br_es_str(e, "category_id") != NULL ||
	    br_es_str(e, "category_name") != NULL)
		category = json_pack("{s:o, s:o}", "id",
		    br_es_jstr(e, "category_id"), "name",
		    br_es_jstr(e, "category_name"));
	br_es_add(ev, "title", br_es_jtext(e, "title"));
	br_es_add(ev, "category", category);
	br_es_add(ev, "language", br_es_jstr(e, "language"));
	return 0;
}

static int
map_whisper(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_set_user(ev, c->event, "from_user_");
	br_es_add(ev, "message", text_of(c->event, "whisper"));
	br_es_add(ev, "recipient", br_es_person(c->event, "to_user_"));
	return 0;
}

/* An ended train has no goal and no progress. */
static int
map_hype(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;
	bool end = strcmp(c->type, "channel.hype_train.end") == 0;

	br_es_add(ev, "level", br_es_jint(e, "level"));
	br_es_add(ev, "total", br_es_jint(e, "total"));
	br_es_add(ev, "goal", br_es_jint(end ? NULL : e, "goal"));
	br_es_add(ev, "progress", br_es_jint(end ? NULL : e, "progress"));
	return 0;
}

/* A column of a poll choice or prediction outcome. */
struct column {
	const char *key;
	json_t *(*get)(json_t *, const char *);
};

/* choices / outcomes: each object reduced to the columns; others dropped. */
static json_t *
reduce(json_t *list, const struct column *cols, size_t ncols)
{
	json_t *out = json_array(), *item;
	size_t i;

	json_array_foreach(list, i, item) {
		if (!json_is_object(item))
			continue;
		json_t *o = json_object();
		for (size_t k = 0; k < ncols; k++)
			json_object_set_new(o, cols[k].key,
			    cols[k].get(item, cols[k].key));
		json_array_append_new(out, o);
	}
	return out;
}

/* votes, users and channel_points are null until the first progress. */
static int
map_poll(struct br_event *ev, const struct br_es_ctx *c)
{
	static const struct column cols[] = {
		{ "id", br_es_jstr }, { "title", br_es_jtext },
		{ "votes", br_es_jint },
	};

	br_es_add(ev, "title", br_es_jtext(c->event, "title"));
	br_es_add(ev, "choices", reduce(json_object_get(c->event, "choices"),
	    cols, BR_ES_N(cols)));
	return 0;
}

static int
map_prediction(struct br_event *ev, const struct br_es_ctx *c)
{
	static const struct column cols[] = {
		{ "id", br_es_jstr }, { "title", br_es_jtext },
		{ "color", br_es_jstr }, { "users", br_es_jint },
		{ "channel_points", br_es_jint },
	};

	br_es_add(ev, "title", br_es_jtext(c->event, "title"));
	br_es_add(ev, "outcomes", reduce(json_object_get(c->event, "outcomes"),
	    cols, BR_ES_N(cols)));
	return 0;
}

static int
map_ad(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_add(ev, "duration", br_es_jint(c->event, "duration_seconds"));
	br_es_add(ev, "automatic", br_es_jbool(c->event, "is_automatic"));
	return 0;
}

/* Plain cheers also come as channel.cheer, which is what "bits" is
 * made of; publishing them here too would count every cheer twice
 * (eventsub.md 2.9). A Power-up's message is null when it has none. */
static int
map_power_up(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *e = c->event;
	const char *kind = br_es_str(e, "type");
	const char *pu = br_es_str(json_object_get(e, "power_up"), "type");

	if (kind == NULL || strcmp(kind, "power_up") != 0)
		return 1;
	br_event_set_event_type(ev, pu != NULL ? pu : "power_up");
	br_es_set_user(ev, e, "user_");
	br_es_add(ev, "bits", br_es_jint(e, "bits"));
	br_es_add(ev, "message", br_es_jstr(json_object_get(e, "message"),
	    "text"));
	return 0;
}

static int
map_chat(struct br_event *ev, const struct br_es_ctx *c)
{
	br_es_set_user(ev, c->event, "chatter_user_");
	br_es_add(ev, "message", text_of(c->event, "message"));
	br_es_add(ev, "message_id", br_es_jstr(c->event, "message_id"));
	return 0;
}

/* The user is the channel; its email (with user:read:email) is never
 * published. login is the channel's, lower-cased like every login. */
static int
map_user_update(struct br_event *ev, const struct br_es_ctx *c)
{
	json_t *ch = json_object_get(br_event_json(ev), "channel");

	br_es_add(ev, "login", json_deep_copy(json_object_get(ch, "login")));
	br_es_add(ev, "name", br_es_jstr(c->event, "user_name"));
	br_es_add(ev, "description", br_es_jtext(c->event, "description"));
	return 0;
}

/* Keys no event carries, at any depth: an email needs a scope the
 * bridge never asks for, and "event_types" belongs to Home Assistant's
 * discovery, which reads event payloads too. */
static void
scrub(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_del(j, "email");
		json_object_del(j, "event_types");
		json_object_foreach(j, key, v)
			scrub(v);
	}
	json_array_foreach(j, i, v)
		scrub(v);
}

/*
 * Types without a mapping: the Twitch event as it came, below
 * "eventsub/<type>". The user is the payload's user_* when it has one
 * that is not the channel.
 */
static int
map_generic(struct br_event *ev, const struct br_es_ctx *c)
{
	char leaf[128];
	json_t *copy = json_deep_copy(c->event);

	snprintf(leaf, sizeof leaf, "eventsub/%s", c->type);
	br_event_set_topic_leaf(ev, leaf);
	if (strcmp(c->chan, "user_") != 0 &&
	    !br_es_flag(c->event, "is_anonymous"))
		br_es_set_user(ev, c->event, "user_");
	scrub(copy);
	br_es_add(ev, "event", copy);
	return 0;
}

/* Dispatch. */

struct mapper {
	const char *type;
	const char *event_type;         /* NULL: the mapper sets it */
	const char *chan;               /* prefix of the channel's fields */
	map_fn fn;
};

/* CONTRACT 4: a raid's channel is the raided one, a whisper's its
 * recipient, a user.update's the user. */
#define BC "broadcaster_user_"

static const struct mapper mappers[] = {
	{ "channel.cheer", "cheer", BC, map_cheer },
	{ "channel.chat.notification", "badge", BC, map_badge },
	{ "channel.channel_points_custom_reward_redemption.add", NULL, BC,
	  map_redeem },
	{ "channel.channel_points_custom_reward_redemption.update", NULL, BC,
	  map_redeem_update },
	{ "channel.subscribe", "sub", BC, map_sub },
	{ "channel.subscription.message", "resub", BC, map_resub },
	{ "channel.subscription.gift", "gift", BC, map_gift },
	{ "channel.follow", "follow", BC, map_follow },
	{ "channel.raid", "raid", "to_broadcaster_user_", map_raid },
	{ "stream.online", "online", BC, map_online },
	{ "stream.offline", "offline", BC, map_offline },
	{ "channel.update", "update", BC, map_update },
	{ "channel.moderate", NULL, BC, br_es_map_moderate },
	{ "channel.ban", NULL, BC, br_es_map_ban },
	{ "channel.unban", NULL, BC, br_es_map_unban },
	{ "user.whisper.message", "whisper", "to_user_", map_whisper },
	{ "channel.hype_train.begin", "begin", BC, map_hype },
	{ "channel.hype_train.progress", "progress", BC, map_hype },
	{ "channel.hype_train.end", "end", BC, map_hype },
	{ "channel.poll.begin", "begin", BC, map_poll },
	{ "channel.poll.progress", "progress", BC, map_poll },
	{ "channel.poll.end", "end", BC, map_poll },
	{ "channel.prediction.begin", "begin", BC, map_prediction },
	{ "channel.prediction.progress", "progress", BC, map_prediction },
	{ "channel.prediction.lock", "lock", BC, map_prediction },
	{ "channel.prediction.end", "end", BC, map_prediction },
	{ "channel.ad_break.begin", "begin", BC, map_ad },
	{ "channel.bits.use", NULL, BC, map_power_up },
	{ "channel.chat.message", "message", BC, map_chat },
	{ "user.update", "update", "user_", map_user_update },
};

static const struct mapper *
find_mapper(const char *type)
{
	for (size_t i = 0; i < BR_ES_N(mappers); i++)
		if (strcmp(mappers[i].type, type) == 0)
			return &mappers[i];
	return NULL;
}

/* A generic event's type goes into its topic: only EventSub's own
 * alphabet, and the same length bound as subscribe requests. */
static bool
type_name_ok(const char *type)
{
	size_t n = strlen(type);

	return n <= 80 && strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_.")
	    == n;
}

/* A generic event's channel: the first of these the payload names. */
static const char *
generic_chan(json_t *e)
{
	static const char *const prefixes[] = { BC, "to_broadcaster_user_",
		"user_" };

	for (size_t i = 0; i < BR_ES_N(prefixes); i++)
		if (br_es_pstr(e, prefixes[i], "login") != NULL)
			return prefixes[i];
	return BC;
}

static int
check_body(json_t *body, struct br_es_ctx *c)
{
	json_t *sub = json_object_get(body, "subscription");

	if (!json_is_object(body))
		return br_es_fail(c, "notification body is not a JSON object");
	if (!json_is_object(sub))
		return br_es_fail(c, "notification has no subscription object");
	if ((c->type = br_es_str(sub, "type")) == NULL)
		return br_es_fail(c, "subscription.type is missing or not a "
		    "string");
	c->event = json_object_get(body, "event");
	if (!json_is_object(c->event))
		return br_es_fail(c, "no event object in a %.80s notification",
		    c->type);
	return 0;
}

int
br_eventsub_normalize(json_t *body, const char *message_id,
    const char *message_time, const char *source, struct br_event **out,
    char *err, size_t errlen)
{
	struct br_es_ctx c = { .err = err, .errlen = errlen };
	int64_t ms;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = check_body(body, &c)) != 0)
		return rc;
	/* A mapper without a contract name would publish a null type. */
	const char *name = br_eventsub_event_name(c.type);
	const struct mapper *m = name != NULL ? find_mapper(c.type) : NULL;
	if (m == NULL && !type_name_ok(c.type))
		return br_es_fail(&c, "subscription.type \"%.80s\" is not an "
		    "EventSub type name", c.type);
	c.chan = m != NULL ? m->chan : generic_chan(c.event);
	const char *login = br_es_pstr(c.event, c.chan, "login");
	if (login == NULL)
		return br_es_fail(&c, "no %slogin in a %.80s event", c.chan,
		    c.type);

	/* The time is when Twitch sent the message. An unparseable one
	 * (a broken clock or header) keeps br_event_new's "now" rather
	 * than dropping the event: when it happened matters less than
	 * that it is published. */
	c.have_time = message_time != NULL && br_parse_time(message_time,
	    &ms) == 0;
	c.time_ms = c.have_time ? ms : 0;

	struct br_event *ev = br_event_new(m != NULL ? name : "eventsub",
	    m != NULL ? m->event_type : c.type, source != NULL ? source : "");
	br_event_set_id(ev, message_id != NULL ? message_id : "");
	if (c.have_time)
		br_event_set_time_ms(ev, c.time_ms);
	br_event_set_channel(ev, br_es_pstr(c.event, c.chan, "id"), login,
	    br_es_pstr(c.event, c.chan, "name"));
	rc = m != NULL ? m->fn(ev, &c) : map_generic(ev, &c);
	if (rc != 0) {
		if (rc > 0 && err != NULL && errlen > 0)
			snprintf(err, errlen, "this %.80s event is not "
			    "published", c.type);
		br_event_free(ev);
		return rc;
	}
	*out = ev;
	return 0;
}

