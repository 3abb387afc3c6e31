/*
 * The PubSub normalizer: one MESSAGE frame's inner document becomes one
 * contract event (CONTRACT section 4). Pure; fed by the network, so
 * fuzzed. It reads through eventsub_int.h's lenient getters, so that
 * every TwitchIO crash of pubsub.md section 5 (a missing key, an unknown
 * kind, null where an object was) is only an absent value here.
 *
 * The route is the topic prefix, the channel id the topic suffix; the
 * kind is inside the document (message_type, type or context).
 * Moderation is in pubsub_mod.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pubsub_int.h"
#include "util.h"

/* ---- topics ---- */

static const struct {
	const char *event, *prefix;
	bool user;              /* <user>. precedes the channel */
	bool user_only;         /* whispers.<user> */
} topics[] = {
	{ "bits", "channel-bits-events-v2", false, false },
	{ "bits_badge", "channel-bits-badge-unlocks", false, false },
	{ "channel_points", "channel-points-channel-v1", false, false },
	{ "channel_points_update", "channel-points-channel-v1", false, false },
	{ "subscription", "channel-subscribe-events-v1", false, false },
	{ "moderation", "chat_moderator_actions", true, false },
	{ "whisper", "whispers", true, true },
};

int
br_ps_topic(const char *event, const char *channel_id, const char *user_id,
    char *buf, size_t size)
{
	for (size_t i = 0; i < BR_ES_N(topics); i++) {
		if (strcmp(topics[i].event, event) != 0)
			continue;
		if ((topics[i].user && (user_id == NULL || !*user_id)) ||
		    (!topics[i].user_only && (channel_id == NULL ||
		    !*channel_id)))
			return -EINVAL;
		int n = topics[i].user_only ? snprintf(buf, size, "%s.%s",
		    topics[i].prefix, user_id) : topics[i].user ?
		    snprintf(buf, size, "%s.%s.%s", topics[i].prefix, user_id,
		    channel_id) : snprintf(buf, size, "%s.%s", topics[i].prefix,
		    channel_id);
		return n > 0 && (size_t)n < size ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* The length of the prefix before the first '.'. */
static size_t
prefix_len(const char *topic)
{
	const char *dot = strchr(topic, '.');
	return dot != NULL ? (size_t)(dot - topic) : strlen(topic);
}

static bool
prefix_is(const char *topic, const char *prefix)
{
	size_t n = prefix_len(topic);
	return strlen(prefix) == n && strncmp(topic, prefix, n) == 0;
}

bool
br_ps_topic_carries(const char *topic, const char *event)
{
	for (size_t i = 0; i < BR_ES_N(topics); i++)
		if (strcmp(topics[i].event, event) == 0 &&
		    prefix_is(topic, topics[i].prefix))
			return true;
	return false;
}

/* The last dot-separated part: the channel (or, for whispers, the
 * user) id. */
static void
topic_suffix(const char *topic, char *buf, size_t size)
{
	const char *dot = strrchr(topic, '.');
	snprintf(buf, size, "%s", dot != NULL ? dot + 1 : "");
}

/* ---- frames ---- */

static int
fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

static enum br_ps_kind
kind_of(const char *type)
{
	if (strcmp(type, "MESSAGE") == 0)
		return BR_PS_MESSAGE;
	if (strcmp(type, "RESPONSE") == 0)
		return BR_PS_RESPONSE;
	if (strcmp(type, "PONG") == 0)
		return BR_PS_PONG;
	if (strcmp(type, "RECONNECT") == 0)
		return BR_PS_RECONNECT;
	return BR_PS_UNKNOWN;
}

int
br_ps_frame_parse(const char *buf, size_t len, struct br_ps_frame *f,
    char *err, size_t errlen)
{
	json_t *data;

	memset(f, 0, sizeof *f);
	f->root = br_json_loadb(buf, len, NULL);
	if (!json_is_object(f->root)) {
		br_ps_frame_release(f);
		return fail(err, errlen, "not a JSON object");
	}
	f->type = json_string_value(json_object_get(f->root, "type"));
	if (f->type == NULL) {
		br_ps_frame_release(f);
		return fail(err, errlen, "no type");
	}
	f->kind = kind_of(f->type);
	f->nonce = json_string_value(json_object_get(f->root, "nonce"));
	f->error = json_string_value(json_object_get(f->root, "error"));
	if (f->kind != BR_PS_MESSAGE)
		return 0;
	data = json_object_get(f->root, "data");
	f->topic = json_string_value(json_object_get(data, "topic"));
	json_t *msg = json_object_get(data, "message");
	f->message = json_string_value(msg);
	f->message_len = json_string_length(msg);
	if (f->topic == NULL || f->message == NULL) {
		br_ps_frame_release(f);
		return fail(err, errlen, "a MESSAGE without data.topic or "
		    "data.message string");
	}
	return 0;
}

void
br_ps_frame_release(struct br_ps_frame *f)
{
	json_decref(f->root);
	memset(f, 0, sizeof *f);
}

/* ---- shared helpers ---- */

/* An id that may come as a string or (whispers) as a number. */
const char *
br_ps_id(json_t *obj, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(obj, key);
	const char *s = br_es_str(obj, key);

	if (s != NULL)
		return s;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return buf;
	}
	return NULL;
}

/* PubSub often has only the login: the name falls back to it, so that
 * a user object always reads well. */
json_t *
br_ps_person(const char *id, const char *login, const char *name)
{
	return br_user_json(id, login, name != NULL ? name : login);
}

void
br_ps_set_time(struct br_event *ev, const char *when)
{
	int64_t ms;

	if (when != NULL && br_parse_time(when, &ms) == 0)
		br_event_set_time_ms(ev, ms);
}

/* ---- bits ---- */

static int
map_bits(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	json_t *d = json_object_get(doc, "data");
	json_t *be = json_object_get(d, "badge_entitlement"), *badge;
	json_int_t tier, prev;
	bool anon = br_es_flag(doc, "is_anonymous") ||
	    br_es_flag(d, "is_anonymous") ||
	    br_es_anonymous(d, "user_", "is_anonymous") ||
	    (br_es_str(d, "user_id") == NULL && br_es_str(d, "user_name") ==
	    NULL);

	c->id = br_es_str(doc, "message_id");
	br_ps_set_time(ev, br_es_str(d, "time"));
	if (c->ch_login == NULL)
		c->ch_login = br_es_str(d, "channel_name");
	if (!anon)
		br_es_add(ev, "user", br_ps_person(br_es_str(d, "user_id"),
		    br_es_str(d, "user_name"), NULL));
	br_es_add(ev, "bits", br_es_jint(d, "bits_used"));
	br_es_add(ev, "message", br_es_jtext(d, "chat_message"));
	br_es_add(ev, "anonymous", json_boolean(anon));
	badge = json_null();
	/* Twitch sends previous_version; TwitchIO read old_version. */
	if (br_es_int_of(json_object_get(be, "new_version"), &tier)) {
		badge = json_pack("{s:I}", "tier", (json_int_t)tier);
		if (br_es_int_of(json_object_get(be, "previous_version"),
		    &prev) || br_es_int_of(json_object_get(be, "old_version"),
		    &prev))
			json_object_set_new(badge, "previous_tier",
			    json_integer(prev));
	}
	br_es_add(ev, "badge", badge);
	br_es_add(ev, "total_bits", br_es_jint(d, "total_bits_used"));
	return 0;
}

static int
map_bits_badge(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	br_ps_set_time(ev, br_es_str(doc, "time"));
	if (c->ch_login == NULL)
		c->ch_login = br_es_str(doc, "channel_name");
	br_es_add(ev, "user", br_ps_person(br_es_str(doc, "user_id"),
	    br_es_str(doc, "user_name"), NULL));
	br_es_add(ev, "tier", br_es_jint(doc, "badge_tier"));
	br_es_add(ev, "message", br_es_jtext(doc, "chat_message"));
	return 0;
}

/* ---- channel points ---- */

/* EventSub's statuses and actions are lower case; PubSub's upper case
 * ones are written the same way. */
void
br_ps_lower(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	buf[i] = '\0';
}

static int
map_points(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	const char *kind = br_es_str(doc, "type");
	json_t *d = json_object_get(doc, "data");
	json_t *r = json_object_get(d, "redemption");
	json_t *rw = json_object_get(r, "reward"), *u = json_object_get(r,
	    "user");
	char status[64], slug[128];
	bool update;

	if (kind == NULL || !json_is_object(r))
		return 1;       /* custom-reward-updated, progress, ... */
	update = strcmp(kind, "redemption-status-update") == 0;
	if (!update && strcmp(kind, "reward-redeemed") != 0)
		return 1;
	br_ps_lower(br_es_str(r, "status"), status, sizeof status);
	if (update) {
		/* The redemption id is the redeem's own: the update needs
		 * one of its own, or dedupe would drop it. */
		snprintf(c->idbuf, sizeof c->idbuf, "%.80s:%s",
		    br_es_str(r, "id") ? br_es_str(r, "id") : "", *status ?
		    status : "unknown");
		c->id = br_es_str(r, "id") ? c->idbuf : NULL;
		br_event_set_event_type(ev, *status ? status : "unknown");
		br_ps_set_time(ev, br_es_str(d, "timestamp"));
	} else {
		c->id = br_es_str(r, "id");
		br_slug(br_es_str(rw, "title"), slug, sizeof slug);
		br_event_set_event_type(ev, slug);
		br_ps_set_time(ev, br_es_str(r, "redeemed_at"));
	}
	c->type = update ? "channel_points_update" : "channel_points";
	br_es_add(ev, "user", br_ps_person(br_es_str(u, "id"), br_es_str(u,
	    "login"), br_es_str(u, "display_name")));
	br_es_add(ev, "redemption_id", br_es_jstr(r, "id"));
	br_es_add(ev, "reward", json_pack("{s:o, s:o, s:o, s:o}",
	    "id", br_es_jstr(rw, "id"), "title", br_es_jtext(rw, "title"),
	    "cost", br_es_jint(rw, "cost"), "prompt", br_es_jtext(rw,
	    "prompt")));
	br_es_add(ev, "input", br_es_jtext(r, "user_input"));
	br_es_add(ev, "status", *status ? json_string(status) : json_null());
	return 0;
}

/* ---- subscriptions ---- */

static json_t *
sub_tier(json_t *doc)
{
	const char *plan = br_es_str(doc, "sub_plan");
	char buf[32];

	if (plan == NULL)
		return json_null();
	br_ps_lower(plan, buf, sizeof buf);   /* "Prime" -> "prime" */
	return json_string(buf);
}

static json_int_t
int_or(json_t *obj, const char *key, json_int_t fallback)
{
	json_int_t n;

	return br_es_int_of(json_object_get(obj, key), &n) && n > 0 ? n :
	    fallback;
}

/* One message per recipient: a gift is count 1 with its recipient;
 * "user" is the buyer or gifter, null when anonymous. */
static int
map_sub(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	const char *ctx = br_es_str(doc, "context");
	bool gift = br_es_flag(doc, "is_gift") || (ctx != NULL &&
	    strstr(ctx, "gift") != NULL);
	bool anon = (ctx != NULL && strncmp(ctx, "anon", 4) == 0) ||
	    br_es_anonymous(doc, "user_", "is_anonymous") ||
	    (br_es_str(doc, "user_id") == NULL && br_es_str(doc, "user_name")
	    == NULL);
	const char *login = br_es_str(doc, "user_name");

	if (login != NULL && strcasecmp(login, "ananonymousgifter") == 0)
		anon = true;
	br_event_set_event_type(ev, gift ? "gift" : ctx != NULL &&
	    strcmp(ctx, "resub") == 0 ? "resub" : "sub");
	br_ps_set_time(ev, br_es_str(doc, "time"));
	if (c->ch_login == NULL)
		c->ch_login = br_es_str(doc, "channel_name");
	if (!anon)
		br_es_add(ev, "user", br_ps_person(br_es_str(doc, "user_id"),
		    login, br_es_str(doc, "display_name")));
	br_es_add(ev, "tier", sub_tier(doc));
	br_es_add(ev, "months", json_integer(int_or(doc, "cumulative_months",
	    int_or(doc, "months", 1))));
	br_es_add(ev, "streak", br_es_jint(doc, "streak_months"));
	br_es_add(ev, "duration", json_integer(int_or(doc,
	    "multi_month_duration", 1)));
	br_es_add(ev, "gift", json_boolean(gift));
	br_es_add(ev, "count", json_integer(1));
	br_es_add(ev, "recipient", gift ? br_ps_person(br_es_str(doc,
	    "recipient_id"), br_es_str(doc, "recipient_user_name"),
	    br_es_str(doc, "recipient_display_name")) : json_null());
	br_es_add(ev, "message", br_es_jtext(json_object_get(doc,
	    "sub_message"), "message"));
	br_es_add(ev, "anonymous", json_boolean(anon));
	br_es_add(ev, "context", br_es_jstr(doc, "context"));
	return 0;
}

/* ---- whispers ---- */

/* data_object, else the third layer: data is the same document as a
 * string. *owned is set when it had to be parsed. */
static json_t *
whisper_body(json_t *doc, json_t **owned)
{
	json_t *o = json_object_get(doc, "data_object");
	const char *s = json_string_value(json_object_get(doc, "data"));

	*owned = NULL;
	if (json_is_object(o))
		return o;
	if (s == NULL)
		return NULL;
	*owned = br_json_loadb(s, strlen(s), NULL);
	return json_is_object(*owned) ? *owned : NULL;
}

static int
map_whisper(struct br_event *ev, json_t *doc, struct br_ps_ctx *c)
{
	const char *kind = br_es_str(doc, "type");
	json_t *owned, *w = whisper_body(doc, &owned);
	json_t *tags = json_object_get(w, "tags");
	json_t *to = json_object_get(w, "recipient");
	char from_id[32], to_id[32];
	json_int_t ts;

	/* Only what the token's owner received is an event. */
	if (kind == NULL || strcmp(kind, "whisper_received") != 0 || w == NULL) {
		json_decref(owned);
		return 1;
	}
	c->id = br_es_str(w, "message_id");
	if (c->id != NULL) {
		snprintf(c->idbuf, sizeof c->idbuf, "%s", c->id);
		c->id = c->idbuf;       /* w may be freed below */
	}
	if (br_es_int_of(json_object_get(w, "sent_ts"), &ts) && ts > 0 &&
	    ts < 100000000000LL)
		br_event_set_time_ms(ev, ts * 1000);
	br_es_add(ev, "user", br_ps_person(br_ps_id(w, "from_id", from_id,
	    sizeof from_id), br_es_str(tags, "login"), br_es_str(tags,
	    "display_name")));
	br_es_add(ev, "message", br_es_jtext(w, "body"));
	/* br_ps_id returns the string itself, or to_id for a number. */
	const char *tid = br_ps_id(to, "id", to_id, sizeof to_id);
	const char *tlogin = br_es_str(to, "username");
	const char *tname = br_es_str(to, "display_name");
	br_es_add(ev, "recipient", br_ps_person(tid, tlogin, tname));
	/* The channel is the receiver, the token's owner. */
	snprintf(c->chbuf_id, sizeof c->chbuf_id, "%s", tid ? tid : "");
	snprintf(c->chbuf_login, sizeof c->chbuf_login, "%s",
	    tlogin ? tlogin : "");
	snprintf(c->chbuf_name, sizeof c->chbuf_name, "%s",
	    tname ? tname : c->chbuf_login);
	if (c->chbuf_login[0] != '\0') {
		c->ch_id = c->chbuf_id[0] != '\0' ? c->chbuf_id : NULL;
		c->ch_login = c->chbuf_login;
		c->ch_name = c->chbuf_name;
	}
	json_decref(owned);
	return 0;
}

/* ---- dispatch ---- */

static const struct {
	const char *prefix, *type, *event_type;
	int (*fn)(struct br_event *, json_t *, struct br_ps_ctx *);
} routes[] = {
	{ "channel-bits-events-v2", "bits", "cheer", map_bits },
	{ "channel-bits-events-v1", "bits", "cheer", map_bits },
	{ "channel-bits-badge-unlocks", "bits_badge", "badge", map_bits_badge },
	{ "channel-points-channel-v1", "channel_points", NULL, map_points },
	{ "channel-subscribe-events-v1", "subscription", "sub", map_sub },
	{ "chat_moderator_actions", "moderation", NULL, br_ps_map_moderation },
	{ "whispers", "whisper", "whisper", map_whisper },
};

/* Messages without an id of their own (badges, subs, moderation) get
 * one from their content: a redelivery is still a duplicate. */
static void
derive_id(struct br_ps_ctx *c, const char *topic, const char *msg,
    size_t len)
{
	uint64_t h = br_hash64(msg, len, br_hash64(topic, strlen(topic),
	    0x7073756273756231ULL));
	snprintf(c->idbuf, sizeof c->idbuf, "pubsub-%016llx",
	    (unsigned long long)h);
	c->id = c->idbuf;
}

static int
finish(struct br_event *ev, struct br_ps_ctx *c, const char *topic,
    const char *msg, size_t len)
{
	char suffix[64];

	if (c->id == NULL)
		derive_id(c, topic, msg, len);
	br_event_set_id(ev, c->id);
	if (c->ch_login == NULL)
		return -EINVAL;
	topic_suffix(topic, suffix, sizeof suffix);
	br_event_set_channel(ev, c->ch_id != NULL ? c->ch_id : suffix,
	    c->ch_login, c->ch_name != NULL ? c->ch_name : c->ch_login);
	return 0;
}

static int
route(const char *topic)
{
	for (size_t i = 0; i < BR_ES_N(routes); i++)
		if (prefix_is(topic, routes[i].prefix))
			return (int)i;
	return -1;
}

int
br_pubsub_normalize(const char *topic, const char *message, size_t len,
    const struct br_ps_channel *ch, const char *source,
    struct br_event **out, char *err, size_t errlen)
{
	struct br_ps_ctx c = { 0 };
	int i = topic != NULL ? route(topic) : -1, rc;
	json_t *doc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (i < 0)
		return fail(err, errlen, "a MESSAGE on an unknown topic");
	doc = br_json_loadb(message, len, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return fail(err, errlen, "data.message is not a JSON object");
	}
	if (ch != NULL && ch->login != NULL && *ch->login != '\0') {
		c.ch_id = ch->id;
		c.ch_login = ch->login;
		c.ch_name = ch->name;
	}
	c.type = routes[i].type;
	struct br_event *ev = br_event_new(routes[i].type, routes[i].event_type,
	    source != NULL ? source : "");
	rc = routes[i].fn(ev, doc, &c);
	if (rc == 0 && strcmp(c.type, routes[i].type) != 0)
		json_object_set_new(br_event_json(ev), "type",
		    json_string(c.type));
	if (rc == 0 && finish(ev, &c, topic, message, len) < 0)
		rc = fail(err, errlen, "no channel login for this topic");
	json_decref(doc);
	if (rc != 0) {
		if (rc > 0)
			fail(err, errlen, "a kind that is not published");
		br_event_free(ev);
		return rc;
	}
	*out = ev;
	return 0;
}
