/*
 * EventSub, pure parts that are not the normalizer: which subscriptions
 * stand behind a contract event name, the conditions they need, and the
 * WebSocket message envelope. The normalizer is in eventsub_map.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eventsub.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define B       "broadcaster_user_id"
#define BM      "broadcaster_user_id,moderator_user_id"
#define BU      "broadcaster_user_id,user_id"

/*
 * Every EventSub type the bridge knows, with the contract event it feeds.
 * A contract event subscribes to its rows in table order. Rows marked
 * feed_only are not subscribed for the event name but still map back to
 * it: channel.moderate v2 already reports bans, and a second subscription
 * would publish each ban twice; channel.ban and channel.unban remain
 * available by their Twitch names. Rows without an event are raw types
 * whose condition is not the default (version 1, broadcaster_user_id),
 * from Twitch's subscription type reference; they publish generically.
 */
struct es_type {
	const char *type, *version, *condition, *event;
	bool feed_only;
};

static const struct es_type types[] = {
	{ "channel.cheer", "1", B, "bits", false },
	{ "channel.chat.notification", "1", BU, "bits_badge", false },
	{ "channel.channel_points_custom_reward_redemption.add", "1", B,
	  "channel_points", false },
	{ "channel.channel_points_custom_reward_redemption.update", "1", B,
	  "channel_points_update", false },
	{ "channel.subscribe", "1", B, "subscription", false },
	{ "channel.subscription.message", "1", B, "subscription", false },
	{ "channel.subscription.gift", "1", B, "subscription", false },
	{ "channel.follow", "2", BM, "follow", false },
	{ "channel.raid", "1", "to_broadcaster_user_id", "raid", false },
	{ "stream.online", "1", B, "stream", false },
	{ "stream.offline", "1", B, "stream", false },
	{ "channel.update", "2", B, "channel_update", false },
	{ "channel.moderate", "2", BM, "moderation", false },
	{ "channel.ban", "1", B, "moderation", true },
	{ "channel.unban", "1", B, "moderation", true },
	{ "user.whisper.message", "1", "user_id", "whisper", false },
	{ "channel.hype_train.begin", "2", B, "hype_train", false },
	{ "channel.hype_train.progress", "2", B, "hype_train", false },
	{ "channel.hype_train.end", "2", B, "hype_train", false },
	{ "channel.poll.begin", "1", B, "poll", false },
	{ "channel.poll.progress", "1", B, "poll", false },
	{ "channel.poll.end", "1", B, "poll", false },
	{ "channel.prediction.begin", "1", B, "prediction", false },
	{ "channel.prediction.progress", "1", B, "prediction", false },
	{ "channel.prediction.lock", "1", B, "prediction", false },
	{ "channel.prediction.end", "1", B, "prediction", false },
	{ "channel.ad_break.begin", "1", B, "ad_break", false },
	{ "channel.bits.use", "1", B, "power_up", false },
	{ "channel.chat.message", "1", BU, "chat", false },
	{ "user.update", "1", "user_id", "user_update", false },

	{ "automod.message.hold", "2", BM, NULL, false },
	{ "automod.message.update", "2", BM, NULL, false },
	{ "automod.settings.update", "1", BM, NULL, false },
	{ "automod.terms.update", "1", BM, NULL, false },
	{ "channel.chat.clear", "1", BU, NULL, false },
	{ "channel.chat.clear_user_messages", "1", BU, NULL, false },
	{ "channel.chat.message_delete", "1", BU, NULL, false },
	{ "channel.chat.user_message_hold", "1", BU, NULL, false },
	{ "channel.chat.user_message_update", "1", BU, NULL, false },
	{ "channel.chat_settings.update", "1", BU, NULL, false },
	{ "channel.shield_mode.begin", "1", BM, NULL, false },
	{ "channel.shield_mode.end", "1", BM, NULL, false },
	{ "channel.shoutout.create", "1", BM, NULL, false },
	{ "channel.shoutout.receive", "1", BM, NULL, false },
	{ "channel.suspicious_user.message", "1", BM, NULL, false },
	{ "channel.suspicious_user.update", "1", BM, NULL, false },
	{ "channel.unban_request.create", "1", BM, NULL, false },
	{ "channel.unban_request.resolve", "1", BM, NULL, false },
	{ "channel.warning.acknowledge", "1", BM, NULL, false },
	{ "channel.warning.send", "1", BM, NULL, false },
};

static const struct es_type *
find_type(const char *type)
{
	for (size_t i = 0; i < N(types); i++)
		if (strcmp(types[i].type, type) == 0)
			return &types[i];
	return NULL;
}

static void
spec_from(struct br_es_spec *out, const struct es_type *t)
{
	out->type = t->type;
	out->version = t->version;
	out->condition = t->condition;
}

/* A raw type not in the table borrows the caller's string as its type. */
size_t
br_eventsub_specs(const char *event, struct br_es_spec *out)
{
	size_t n = 0;

	if (event == NULL || *event == '\0')
		return 0;
	if (strchr(event, '.') != NULL) {
		const struct es_type *t = find_type(event);
		if (t != NULL) {
			spec_from(out, t);
		} else {
			out->type = event;
			out->version = "1";
			out->condition = B;
		}
		return 1;
	}
	for (size_t i = 0; i < N(types) && n < BR_ES_MAX_SPECS; i++)
		if (types[i].event != NULL && !types[i].feed_only &&
		    strcmp(types[i].event, event) == 0)
			spec_from(&out[n++], &types[i]);
	return n;
}

const char *
br_eventsub_event_name(const char *type)
{
	const struct es_type *t = type != NULL ? find_type(type) : NULL;

	return t != NULL ? t->event : NULL;
}

/*
 * Whose id a condition field takes. The channel's own id goes to the
 * broadcaster fields. "user_id" means two things at Twitch: next to
 * broadcaster_user_id (chat.message, chat.notification) it is the user
 * who reads the chat, which is the token's user; alone (user.update,
 * user.whisper.message) it is the user the events are about, and for the
 * bridge that user is the channel itself: a whisper's channel is its
 * recipient (CONTRACT 4), user.update reports on the channel's account.
 * Without a token user the channel's id stands in, which is right when
 * the token belongs to the broadcaster.
 */
static const char *
condition_id(const char *field, bool alone, const char *broadcaster_id,
    const char *user_id)
{
	bool token_user = strcmp(field, "moderator_user_id") == 0 ||
	    (strcmp(field, "user_id") == 0 && !alone);

	if (token_user && user_id != NULL && *user_id != '\0')
		return user_id;
	return broadcaster_id != NULL ? broadcaster_id : "";
}

json_t *
br_eventsub_condition(const struct br_es_spec *spec,
    const char *broadcaster_id, const char *user_id)
{
	json_t *cond = json_object();
	const char *p = spec != NULL && spec->condition != NULL ?
	    spec->condition : "";
	bool alone = strchr(p, ',') == NULL;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char field[64];
		if (n > 0 && n < sizeof field) {
			memcpy(field, p, n);
			field[n] = '\0';
			const char *id = condition_id(field, alone,
			    broadcaster_id, user_id);
			json_object_set_new(cond, field, json_string(id));
		}
		p += n + (p[n] == ',');
	}
	return cond;
}

/* WebSocket frames (eventsub.md section 2). */

static const struct {
	const char *name;
	enum br_es_kind kind;
} kinds[] = {
	{ "session_welcome", BR_ES_WELCOME },
	{ "session_keepalive", BR_ES_KEEPALIVE },
	{ "notification", BR_ES_NOTIFICATION },
	{ "session_reconnect", BR_ES_RECONNECT },
	{ "revocation", BR_ES_REVOCATION },
};

static enum br_es_kind
kind_of(const char *type)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (strcmp(kinds[i].name, type) == 0)
			return kinds[i].kind;
	return BR_ES_UNKNOWN;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *
str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * A session's fields. The session id is what every subscription is
 * created with, and the reconnect URL the only place to go next, so a
 * welcome without the one or a reconnect without the other is refused
 * like a frame without metadata: the caller cannot act on it.
 */
static int
parse_session(struct br_es_frame *f, char *err, size_t errlen)
{
	json_t *s = json_object_get(f->payload, "session");
	json_t *ka = json_object_get(s, "keepalive_timeout_seconds");

	f->session_id = str(s, "id");
	f->reconnect_url = str(s, "reconnect_url");
	if (json_is_integer(ka) && json_integer_value(ka) >= 0 &&
	    json_integer_value(ka) <= 86400)
		f->keepalive_s = (long)json_integer_value(ka);
	if (f->kind == BR_ES_WELCOME && f->session_id == NULL)
		return fail(err, errlen, "session_welcome without "
		    "payload.session.id");
	if (f->kind == BR_ES_RECONNECT && f->reconnect_url == NULL)
		return fail(err, errlen, "session_reconnect without "
		    "payload.session.reconnect_url");
	return 0;
}

static int
parse_frame(struct br_es_frame *f, char *err, size_t errlen)
{
	json_t *meta = json_object_get(f->root, "metadata");

	if (!json_is_object(f->root))
		return fail(err, errlen, "message is not a JSON object");
	if (!json_is_object(meta))
		return fail(err, errlen, "message has no metadata object");
	f->message_type = str(meta, "message_type");
	f->message_id = str(meta, "message_id");
	f->timestamp = str(meta, "message_timestamp");
	if (f->message_type == NULL)
		return fail(err, errlen, "metadata has no message_type");
	if (f->message_id == NULL)
		return fail(err, errlen, "metadata has no message_id");
	f->kind = kind_of(f->message_type);
	f->payload = json_object_get(f->root, "payload");
	if (!json_is_object(f->payload))
		f->payload = NULL;
	if (f->kind == BR_ES_WELCOME || f->kind == BR_ES_RECONNECT)
		return parse_session(f, err, errlen);
	return 0;
}

int
br_es_frame_parse(const char *buf, size_t len, struct br_es_frame *f,
    char *err, size_t errlen)
{
	json_error_t jerr;
	int rc;

	memset(f, 0, sizeof *f);
	f->kind = BR_ES_UNKNOWN;
	f->keepalive_s = -1;
	f->root = br_json_loadb(buf, len, &jerr);
	if (f->root == NULL)
		return fail(err, errlen, "message is not JSON: %s (at byte %d)",
		    jerr.text, jerr.position);
	if ((rc = parse_frame(f, err, errlen)) != 0)
		br_es_frame_release(f);
	return rc;
}

void
br_es_frame_release(struct br_es_frame *f)
{
	if (f == NULL)
		return;
	json_decref(f->root);
	memset(f, 0, sizeof *f);
	f->kind = BR_ES_UNKNOWN;
	f->keepalive_s = -1;
}
