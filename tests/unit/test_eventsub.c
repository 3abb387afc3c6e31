/*
 * EventSub: the subscription table, the WebSocket envelope and the
 * normalizer, against CONTRACT section 4. Fixtures are read at run time
 * from the shared research directory next to the repository
 * ($BR_SOURCE_DIR/../shared/twitch); a missing file fails the test.
 *
 * Expected JSON is written with ' for " and compared as text after a
 * round trip through jansson, so key order counts.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eventsub.h"
#include "shared_path.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The message time every fixture is normalized with. */
#define T0 "2025-03-14T18:22:05.123456789Z"

#define CH "'channel':{'id':'1337','login':'cool_streamer'," \
	"'name':'Cool_Streamer'}"
#define HEAD(type, et) "{'id':'msg-1','type':'" type "','event_type':'" \
	et "','source':'eventsub-websocket'," \
	"'time':'2025-03-14T18:22:05.123Z','test':false," CH
#define HV "{'id':'9001','login':'happy_viewer','name':'Happy_Viewer'}"
#define MOD "{'id':'5150','login':'helpful_mod','name':'Helpful_Mod'}"
#define SPAM "{'id':'6666','login':'spammy_user','name':'Spammy_User'}"
#define SPAM_FIELDS "'user_id':'6666','user_login':'spammy_user'," \
	"'user_name':'Spammy_User'"

/* Helpers. */

static json_t *
load_json(const char *rel)
{
	char *path = shared_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (j == NULL)
		fail_msg("cannot read %s: %s", path, jerr.text);
	free(path);
	return j;
}

static json_t *fixtures;

/* A fresh copy of the fixture body for an EventSub type. */
static json_t *
fixture(const char *type)
{
	if (fixtures == NULL)
		fixtures = load_json("twitch/eventsub-fixtures.json");
	json_t *f = json_object_get(fixtures, type);
	if (!json_is_object(f))
		fail_msg("eventsub-fixtures.json has no %s", type);
	return json_deep_copy(f);
}

static json_t *
event_of(json_t *body)
{
	return json_object_get(body, "event");
}

/* ' becomes ", so that expected JSON reads in C. */
static json_t *
qjson(const char *s)
{
	char *t = br_xstrdup(s);
	json_error_t jerr;

	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *j = json_loads(t, JSON_DECODE_ANY, &jerr);
	if (j == NULL)
		fail_msg("bad expected JSON (%s): %s", jerr.text, t);
	free(t);
	return j;
}

static void
expect_json(json_t *got, const char *want)
{
	if (got == NULL)
		fail_msg("no value where %s was expected", want);
	json_t *w = qjson(want);
	char *gs = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	char *ws = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY);

	assert_string_equal(gs, ws);
	free(gs);
	free(ws);
	json_decref(w);
}

static void
expect_event(struct br_event *ev, const char *want)
{
	expect_json(br_event_json(ev), want);
}

static int
norm(json_t *body, const char *time, struct br_event **ev, char *err,
    size_t errlen)
{
	return br_eventsub_normalize(body, "msg-1", time, "eventsub-websocket",
	    ev, err, errlen);
}

/* Normalizes body (stolen) and expects success. */
static struct br_event *
norm_ok(json_t *body)
{
	struct br_event *ev;
	char err[256];
	int rc = norm(body, T0, &ev, err, sizeof err);

	if (rc != 0)
		fail_msg("normalize returned %d: %s", rc, err);
	json_decref(body);
	return ev;
}

static int
norm_rc(json_t *body, char *err, size_t errlen)
{
	struct br_event *ev = (struct br_event *)&ev;   /* poison */
	int rc = norm(body, T0, &ev, err, errlen);

	if (rc == 0)
		br_event_free(ev);
	else
		assert_null(ev);
	return rc;
}

static void
check_body(json_t *body, const char *want)
{
	struct br_event *ev = norm_ok(body);

	expect_event(ev, want);
	br_event_free(ev);
}

static void
check_fixture(const char *type, const char *want)
{
	check_body(fixture(type), want);
}

static json_t *
field(struct br_event *ev, const char *key)
{
	return json_object_get(br_event_json(ev), key);
}

/* A key anywhere in j. */
static bool
has_key(json_t *j, const char *name)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(j, key, v)
		if (strcmp(key, name) == 0 || has_key(v, name))
			return true;
	json_array_foreach(j, i, v)
		if (has_key(v, name))
			return true;
	return false;
}

/* Replaces a member of the event; value stolen (NULL deletes). */
static void
set_event(json_t *body, const char *key, json_t *value)
{
	if (value == NULL)
		json_object_del(event_of(body), key);
	else
		json_object_set_new(event_of(body), key, value);
}

/* Subscription table. */

struct spec_case {
	const char *event;
	size_t n;
	const char *type, *version, *condition;     /* the first spec */
};

static const struct spec_case spec_cases[] = {
	{ "bits", 1, "channel.cheer", "1", "broadcaster_user_id" },
	{ "bits_badge", 1, "channel.chat.notification", "1",
	  "broadcaster_user_id,user_id" },
	{ "channel_points", 1,
	  "channel.channel_points_custom_reward_redemption.add", "1",
	  "broadcaster_user_id" },
	{ "channel_points_update", 1,
	  "channel.channel_points_custom_reward_redemption.update", "1",
	  "broadcaster_user_id" },
	{ "subscription", 3, "channel.subscribe", "1", "broadcaster_user_id" },
	{ "follow", 1, "channel.follow", "2",
	  "broadcaster_user_id,moderator_user_id" },
	{ "raid", 1, "channel.raid", "1", "to_broadcaster_user_id" },
	{ "stream", 2, "stream.online", "1", "broadcaster_user_id" },
	{ "channel_update", 1, "channel.update", "2", "broadcaster_user_id" },
	{ "moderation", 1, "channel.moderate", "2",
	  "broadcaster_user_id,moderator_user_id" },
	{ "whisper", 1, "user.whisper.message", "1", "user_id" },
	{ "hype_train", 3, "channel.hype_train.begin", "2",
	  "broadcaster_user_id" },
	{ "poll", 3, "channel.poll.begin", "1", "broadcaster_user_id" },
	{ "prediction", 4, "channel.prediction.begin", "1",
	  "broadcaster_user_id" },
	{ "ad_break", 1, "channel.ad_break.begin", "1", "broadcaster_user_id" },
	{ "power_up", 1, "channel.bits.use", "1", "broadcaster_user_id" },
	{ "chat", 1, "channel.chat.message", "1",
	  "broadcaster_user_id,user_id" },
	{ "user_update", 1, "user.update", "1", "user_id" },
	/* raw EventSub types */
	{ "channel.ban", 1, "channel.ban", "1", "broadcaster_user_id" },
	{ "channel.unban", 1, "channel.unban", "1", "broadcaster_user_id" },
	{ "channel.follow", 1, "channel.follow", "2",
	  "broadcaster_user_id,moderator_user_id" },
	{ "channel.hype_train.end", 1, "channel.hype_train.end", "2",
	  "broadcaster_user_id" },
	{ "channel.shoutout.create", 1, "channel.shoutout.create", "1",
	  "broadcaster_user_id,moderator_user_id" },
	{ "channel.vip.add", 1, "channel.vip.add", "1", "broadcaster_user_id" },
	/* unknown */
	{ "bogus", 0, NULL, NULL, NULL },
	{ "", 0, NULL, NULL, NULL },
	{ "Bits", 0, NULL, NULL, NULL },
};

static void
test_specs(void **state)
{
	struct br_es_spec out[BR_ES_MAX_SPECS];

	for (size_t i = 0; i < N(spec_cases); i++) {
		const struct spec_case *c = &spec_cases[i];
		size_t n = br_eventsub_specs(c->event, out);
		assert_int_equal(n, c->n);
		if (n == 0)
			continue;
		assert_string_equal(out[0].type, c->type);
		assert_string_equal(out[0].version, c->version);
		assert_string_equal(out[0].condition, c->condition);
	}
	assert_int_equal(br_eventsub_specs(NULL, out), 0);
}

static void
test_specs_families(void **state)
{
	static const char *const want[] = { "channel.prediction.begin",
		"channel.prediction.progress", "channel.prediction.lock",
		"channel.prediction.end" };
	struct br_es_spec out[BR_ES_MAX_SPECS];

	assert_int_equal(br_eventsub_specs("prediction", out), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(out[i].type, want[i]);
	assert_int_equal(br_eventsub_specs("subscription", out), 3);
	assert_string_equal(out[1].type, "channel.subscription.message");
	assert_string_equal(out[2].type, "channel.subscription.gift");
	assert_int_equal(br_eventsub_specs("stream", out), 2);
	assert_string_equal(out[1].type, "stream.offline");
	assert_int_equal(br_eventsub_specs("hype_train", out), 3);
	assert_string_equal(out[2].version, "2");
	assert_int_equal(br_eventsub_specs("poll", out), 3);
	assert_string_equal(out[2].type, "channel.poll.end");
}

/* An unknown raw type: version 1, the broadcaster, and the caller's
 * own string as the type. */
static void
test_specs_raw_unknown(void **state)
{
	struct br_es_spec out[BR_ES_MAX_SPECS];
	const char *type = "channel.something_new";

	assert_int_equal(br_eventsub_specs(type, out), 1);
	assert_ptr_equal(out[0].type, type);
	assert_string_equal(out[0].version, "1");
	assert_string_equal(out[0].condition, "broadcaster_user_id");
}

static const char *const contract_names[] = {
	"bits", "bits_badge", "channel_points", "channel_points_update",
	"subscription", "follow", "raid", "stream", "channel_update",
	"moderation", "whisper", "hype_train", "poll", "prediction",
	"ad_break", "power_up", "chat", "user_update",
};

/* Every subscription of a name maps back to that name. */
static void
test_specs_round_trip(void **state)
{
	struct br_es_spec out[BR_ES_MAX_SPECS];

	for (size_t i = 0; i < N(contract_names); i++) {
		size_t n = br_eventsub_specs(contract_names[i], out);
		assert_true(n >= 1);
		for (size_t k = 0; k < n; k++) {
			const char *back = br_eventsub_event_name(out[k].type);
			assert_non_null(back);
			assert_string_equal(back, contract_names[i]);
		}
	}
}

static void
test_event_name(void **state)
{
	static const char *const pairs[][2] = {
		{ "channel.cheer", "bits" },
		{ "channel.chat.notification", "bits_badge" },
		{ "channel.subscription.gift", "subscription" },
		{ "channel.ban", "moderation" },
		{ "channel.unban", "moderation" },
		{ "channel.moderate", "moderation" },
		{ "channel.bits.use", "power_up" },
		{ "user.update", "user_update" },
		{ "stream.offline", "stream" },
	};

	for (size_t i = 0; i < N(pairs); i++)
		assert_string_equal(br_eventsub_event_name(pairs[i][0]),
		    pairs[i][1]);
	assert_null(br_eventsub_event_name("channel.shoutout.create"));
	assert_null(br_eventsub_event_name("nope"));
	assert_null(br_eventsub_event_name(NULL));
}

static void
check_condition(const char *event, const char *bid, const char *uid,
    const char *want)
{
	struct br_es_spec out[BR_ES_MAX_SPECS];

	assert_true(br_eventsub_specs(event, out) >= 1);
	json_t *cond = br_eventsub_condition(&out[0], bid, uid);
	expect_json(cond, want);
	json_decref(cond);
}

static void
test_condition(void **state)
{
	check_condition("bits", "1337", "7777",
	    "{'broadcaster_user_id':'1337'}");
	check_condition("follow", "1337", "7777",
	    "{'broadcaster_user_id':'1337','moderator_user_id':'7777'}");
	check_condition("moderation", "1337", "7777",
	    "{'broadcaster_user_id':'1337','moderator_user_id':'7777'}");
	/* the reader of chat is the token's user */
	check_condition("chat", "1337", "7777",
	    "{'broadcaster_user_id':'1337','user_id':'7777'}");
	check_condition("bits_badge", "1337", "7777",
	    "{'broadcaster_user_id':'1337','user_id':'7777'}");
	/* a lone user_id is the channel itself */
	check_condition("user_update", "1337", "7777", "{'user_id':'1337'}");
	check_condition("whisper", "1337", "7777", "{'user_id':'1337'}");
	check_condition("raid", "1337", "7777",
	    "{'to_broadcaster_user_id':'1337'}");
	/* no token user: the broadcaster stands in */
	check_condition("follow", "1337", NULL,
	    "{'broadcaster_user_id':'1337','moderator_user_id':'1337'}");
	check_condition("chat", "1337", "",
	    "{'broadcaster_user_id':'1337','user_id':'1337'}");

	json_t *cond = br_eventsub_condition(NULL, "1", "2");
	expect_json(cond, "{}");
	json_decref(cond);
}

/* WebSocket frames. */

static int
parse_q(const char *text, struct br_es_frame *f, char *err, size_t errlen)
{
	char *t = br_xstrdup(text);

	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	int rc = br_es_frame_parse(t, strlen(t), f, err, errlen);
	free(t);
	return rc;
}

#define META(type) "{'metadata':{'message_id':'m-1','message_type':'" type \
	"','message_timestamp':'2025-03-14T17:00:00.123456789Z'"

static void
test_frame_welcome(void **state)
{
	struct br_es_frame f;
	char err[128];

	assert_int_equal(parse_q(META("session_welcome") "},'payload':"
	    "{'session':{'id':'AgoQq2o4','status':'connected',"
	    "'keepalive_timeout_seconds':10,'reconnect_url':null,"
	    "'connected_at':'2025-03-14T17:00:00.12Z'}}}", &f, err,
	    sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_WELCOME);
	assert_string_equal(f.message_id, "m-1");
	assert_string_equal(f.message_type, "session_welcome");
	assert_string_equal(f.timestamp, "2025-03-14T17:00:00.123456789Z");
	assert_string_equal(f.session_id, "AgoQq2o4");
	assert_null(f.reconnect_url);
	assert_int_equal(f.keepalive_s, 10);
	br_es_frame_release(&f);
	assert_null(f.root);
	br_es_frame_release(&f);        /* twice is harmless */
}

static void
test_frame_kinds(void **state)
{
	struct br_es_frame f;
	char err[128];

	assert_int_equal(parse_q(META("session_keepalive") "},'payload':{}}",
	    &f, err, sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_KEEPALIVE);
	assert_int_equal(f.keepalive_s, -1);
	assert_non_null(f.payload);
	br_es_frame_release(&f);

	assert_int_equal(parse_q(META("notification") ",'subscription_type':"
	    "'channel.cheer','subscription_version':'1'},'payload':"
	    "{'subscription':{'type':'channel.cheer'},'event':{}}}", &f, err,
	    sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_NOTIFICATION);
	assert_non_null(json_object_get(f.payload, "event"));
	br_es_frame_release(&f);

	assert_int_equal(parse_q(META("session_reconnect") "},'payload':"
	    "{'session':{'id':'AgoQq2o4','status':'reconnecting',"
	    "'keepalive_timeout_seconds':null,'reconnect_url':"
	    "'wss://cell-a.eventsub.wss.twitch.tv/ws?challenge=x&id=y'}}}",
	    &f, err, sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_RECONNECT);
	assert_string_equal(f.reconnect_url,
	    "wss://cell-a.eventsub.wss.twitch.tv/ws?challenge=x&id=y");
	assert_int_equal(f.keepalive_s, -1);
	br_es_frame_release(&f);

	assert_int_equal(parse_q(META("revocation") ",'subscription_type':"
	    "'channel.follow','subscription_version':'2'},'payload':"
	    "{'subscription':{'status':'authorization_revoked',"
	    "'type':'channel.follow'}}}", &f, err, sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_REVOCATION);
	br_es_frame_release(&f);

	/* unknown types are not errors: Twitch may add some */
	assert_int_equal(parse_q(META("session_shiny_new") "},'payload':7}",
	    &f, err, sizeof err), 0);
	assert_int_equal(f.kind, BR_ES_UNKNOWN);
	assert_null(f.payload);
	br_es_frame_release(&f);
}

static const struct {
	const char *text, *error;
} bad_frames[] = {
	{ "", "not JSON" },
	{ "garbage", "not JSON" },
	{ "{'metadata':", "not JSON" },
	{ "[1,2]", "not a JSON object" },
	{ "'str'", "not JSON" },
	{ "{}", "no metadata object" },
	{ "{'metadata':'x'}", "no metadata object" },
	{ "{'metadata':{'message_id':'m'}}", "no message_type" },
	{ "{'metadata':{'message_type':7,'message_id':'m'}}",
	  "no message_type" },
	{ "{'metadata':{'message_type':'notification'}}", "no message_id" },
	{ "{'metadata':{'message_type':'notification','message_id':''}}",
	  "no message_id" },
	{ META("session_welcome") "},'payload':{}}", "payload.session.id" },
	{ META("session_welcome") "},'payload':{'session':'x'}}",
	  "payload.session.id" },
	{ META("session_reconnect") "},'payload':{'session':{'id':'a',"
	  "'reconnect_url':null}}}", "reconnect_url" },
};

static void
test_frame_bad(void **state)
{
	struct br_es_frame f;
	char err[128];

	for (size_t i = 0; i < N(bad_frames); i++) {
		err[0] = '\0';
		assert_int_equal(parse_q(bad_frames[i].text, &f, err,
		    sizeof err), -EINVAL);
		assert_null(f.root);
		if (strstr(err, bad_frames[i].error) == NULL)
			fail_msg("frame %zu: \"%s\" lacks \"%s\"", i, err,
			    bad_frames[i].error);
	}
	/* no room for a reason is fine too */
	assert_int_equal(br_es_frame_parse("x", 1, &f, NULL, 0), -EINVAL);
	/* length is honoured: the buffer need not end in NUL */
	assert_int_equal(br_es_frame_parse("{}garbage", 2, &f, err,
	    sizeof err), -EINVAL);
	assert_non_null(strstr(err, "no metadata"));
}

/* Real frames from the twitch-cli mock, notifications normalized. */
static void
test_frame_capture(void **state)
{
	json_t *recs = load_json("twitch/twitch-cli-samples/websocket/"
	    "session1-subscribe-notify-reconnect.json"), *r;
	size_t i, frames = 0, notes = 0, reconnects = 0;

	json_array_foreach(recs, i, r) {
		json_t *k = json_object_get(r, "kind");
		const char *kind = json_string_value(k);
		if (kind == NULL || strcmp(kind, "text") != 0)
			continue;
		char *text = json_dumps(json_object_get(r, "msg"), 0);
		struct br_es_frame f;
		char err[256];
		assert_int_equal(br_es_frame_parse(text, strlen(text), &f, err,
		    sizeof err), 0);
		frames++;
		if (f.kind == BR_ES_RECONNECT) {
			reconnects++;
			assert_non_null(strstr(f.reconnect_url,
			    "reconnect_id="));
		}
		if (f.kind == BR_ES_WELCOME)
			assert_int_equal(f.keepalive_s, 10);
		if (f.kind == BR_ES_NOTIFICATION) {
			struct br_event *ev;
			assert_int_equal(br_eventsub_normalize(f.payload,
			    f.message_id, f.timestamp, "eventsub-websocket",
			    &ev, err, sizeof err), 0);
			assert_string_equal(br_event_id(ev), f.message_id);
			int64_t ms;
			assert_int_equal(br_parse_time(f.timestamp, &ms), 0);
			assert_int_equal(br_event_time_ms(ev), ms);
			br_event_free(ev);
			notes++;
		}
		br_es_frame_release(&f);
		free(text);
	}
	assert_true(frames >= 10);
	assert_int_equal(notes, 4);
	assert_int_equal(reconnects, 1);
	json_decref(recs);
}

/* The fixtures, field by field. */

static void
test_cheer(void **state)
{
	check_fixture("channel.cheer", HEAD("bits", "cheer") ",'user':" HV
	    ",'bits':100,'message':'Cheer100 lights to purple please',"
	    "'anonymous':false,'badge':null}");

	json_t *body = fixture("channel.cheer");
	set_event(body, "is_anonymous", json_true());
	set_event(body, "user_id", json_null());
	set_event(body, "user_login", json_null());
	set_event(body, "user_name", json_null());
	set_event(body, "bits", json_string("100"));
	check_body(body, HEAD("bits", "cheer") ",'user':null,'bits':100,"
	    "'message':'Cheer100 lights to purple please','anonymous':true,"
	    "'badge':null}");
}

#define REWARD "'reward':{'id':'8c2b0e1a-7f3d-4e5a-b6c7-d8e9f0a1b2c3'," \
	"'title':'Turn the lights purple','cost':500,'prompt':'Sets the " \
	"studio lights to purple for 5 minutes'}"

static void
test_redemption(void **state)
{
	check_fixture("channel.channel_points_custom_reward_redemption.add",
	    HEAD("channel_points", "turn_the_lights_purple") ",'user':" HV
	    ",'redemption_id':'17fa2df1-ad76-4804-bfa5-a40ef63efe63',"
	    REWARD ",'input':'','status':'unfulfilled'}");
	check_fixture("channel.channel_points_custom_reward_redemption.update",
	    HEAD("channel_points_update", "fulfilled") ",'user':" HV
	    ",'redemption_id':'17fa2df1-ad76-4804-bfa5-a40ef63efe63',"
	    REWARD ",'input':'','status':'fulfilled'}");

	/* a title with nothing to slug; cost as a string; no status */
	json_t *body = fixture(
	    "channel.channel_points_custom_reward_redemption.update");
	json_t *r = json_object_get(event_of(body), "reward");
	json_object_set_new(r, "title", json_string("!!!"));
	json_object_set_new(r, "cost", json_string("500"));
	json_object_del(r, "prompt");
	set_event(body, "status", json_null());
	set_event(body, "user_input", json_string("purple pls"));
	check_body(body, HEAD("channel_points_update", "unknown") ",'user':"
	    HV ",'redemption_id':'17fa2df1-ad76-4804-bfa5-a40ef63efe63',"
	    "'reward':{'id':'8c2b0e1a-7f3d-4e5a-b6c7-d8e9f0a1b2c3','title':"
	    "'!!!','cost':500,'prompt':''},'input':'purple pls',"
	    "'status':null}");

	body = fixture("channel.channel_points_custom_reward_redemption.add");
	json_object_set_new(json_object_get(event_of(body), "reward"),
	    "title", json_string("!!!"));
	struct br_event *ev = norm_ok(body);
	assert_string_equal(json_string_value(field(ev, "event_type")),
	    "reward");
	br_event_free(ev);
}

static void
test_subscriptions(void **state)
{
	check_fixture("channel.subscribe", HEAD("subscription", "sub")
	    ",'user':" HV ",'tier':'1000','months':1,'streak':null,"
	    "'duration':1,'gift':false,'count':1,'recipient':null,"
	    "'message':'','anonymous':false}");
	check_fixture("channel.subscription.message", HEAD("subscription",
	    "resub") ",'user':" HV ",'tier':'2000','months':24,'streak':12,"
	    "'duration':1,'gift':false,'count':1,'recipient':null,"
	    "'message':'Two years already Kappa','anonymous':false}");
	check_fixture("channel.subscription.gift", HEAD("subscription",
	    "gift") ",'user':" HV ",'tier':'1000','months':1,'streak':null,"
	    "'duration':1,'gift':true,'count':5,'recipient':null,"
	    "'message':'','anonymous':false,'cumulative_total':42}");

	/* a gifted sub: the payload's user is the recipient */
	json_t *body = fixture("channel.subscribe");
	set_event(body, "is_gift", json_true());
	check_body(body, HEAD("subscription", "sub") ",'user':null,"
	    "'tier':'1000','months':1,'streak':null,'duration':1,'gift':true,"
	    "'count':1,'recipient':" HV ",'message':'','anonymous':false}");

	/* an anonymous gift with nulls, numbers as strings */
	body = fixture("channel.subscription.gift");
	set_event(body, "is_anonymous", json_true());
	set_event(body, "user_id", json_null());
	set_event(body, "user_login", json_null());
	set_event(body, "user_name", json_null());
	set_event(body, "cumulative_total", json_null());
	set_event(body, "total", json_string("20"));
	set_event(body, "tier", json_integer(3000));
	check_body(body, HEAD("subscription", "gift") ",'user':null,"
	    "'tier':'3000','months':1,'streak':null,'duration':1,'gift':true,"
	    "'count':20,'recipient':null,'message':'','anonymous':true,"
	    "'cumulative_total':null}");

	/* a resub without a shared streak or a message */
	body = fixture("channel.subscription.message");
	set_event(body, "streak_months", json_null());
	set_event(body, "message", json_null());
	check_body(body, HEAD("subscription", "resub") ",'user':" HV
	    ",'tier':'2000','months':24,'streak':null,'duration':1,"
	    "'gift':false,'count':1,'recipient':null,'message':'',"
	    "'anonymous':false}");
}

static void
test_follow_raid_stream(void **state)
{
	check_fixture("channel.follow", HEAD("follow", "follow") ",'user':" HV
	    ",'followed_at':'2025-03-14T18:22:05.123456789Z'}");
	check_fixture("channel.raid", HEAD("raid", "raid") ",'user':{'id':"
	    "'4242','login':'friendly_raider','name':'Friendly_Raider'},"
	    "'viewers':87}");
	check_fixture("stream.online", HEAD("stream", "online") ",'user':null,"
	    "'started_at':'2025-03-14T18:22:05.123456789Z','stream_type':"
	    "'live'}");
	check_fixture("stream.offline", HEAD("stream", "offline")
	    ",'user':null,'started_at':null}");
}

static void
test_channel_update(void **state)
{
	check_fixture("channel.update", HEAD("channel_update", "update")
	    ",'user':null,'title':'Home automation night: wiring MQTT lights',"
	    "'category':{'id':'509670','name':'Science & Technology'},"
	    "'language':'en'}");

	/* v1, no category */
	json_t *body = fixture("channel.update");
	json_object_set_new(json_object_get(body, "subscription"), "version",
	    json_string("1"));
	set_event(body, "category_id", json_string(""));
	set_event(body, "category_name", json_string(""));
	set_event(body, "is_mature", json_false());
	check_body(body, HEAD("channel_update", "update") ",'user':null,"
	    "'title':'Home automation night: wiring MQTT lights',"
	    "'category':null,'language':'en'}");
}

static void
test_user_update(void **state)
{
	struct br_event *ev = norm_ok(fixture("user.update"));
	char *s = br_event_dump(ev, NULL);

	expect_event(ev, HEAD("user_update", "update") ",'user':null,"
	    "'login':'cool_streamer','name':'Cool_Streamer',"
	    "'description':'I stream smart-home builds.'}");
	assert_null(strstr(s, "email"));
	assert_null(strstr(s, "streamer@example.org"));
	free(s);
	br_event_free(ev);
}

static void
test_moderate_timeout(void **state)
{
	check_fixture("channel.moderate", HEAD("moderation", "timeout")
	    ",'user':null,'moderator':" MOD ",'target':" SPAM ",'reason':"
	    "'link spam','duration':600,'args':['spammy_user','600']}");

	/* without a message time there is no duration */
	struct br_event *ev;
	char err[128];
	json_t *body = fixture("channel.moderate");
	assert_int_equal(norm(body, "not a time", &ev, err, sizeof err), 0);
	expect_json(field(ev, "duration"), "null");
	expect_json(field(ev, "args"), "['spammy_user']");
	br_event_free(ev);
	json_decref(body);
}

struct mod_case {
	const char *action, *member, *data;     /* data: JSON or NULL */
	const char *want;       /* {target, reason, duration, args} */
};

static const struct mod_case mod_cases[] = {
	{ "ban", "ban", "{" SPAM_FIELDS ",'reason':'spam'}",
	  "{'target':" SPAM ",'reason':'spam','duration':null,"
	  "'args':['spammy_user']}" },
	{ "unban", "unban", "{" SPAM_FIELDS "}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user']}" },
	{ "vip", "vip", "{" SPAM_FIELDS "}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user']}" },
	{ "raid", "raid", "{" SPAM_FIELDS ",'viewer_count':12}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user','12']}" },
	{ "delete", "delete", "{" SPAM_FIELDS ",'message_id':'m-9',"
	  "'message_body':'buy followers'}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user','buy followers','m-9']}" },
	{ "slow", "slow", "{'wait_time_seconds':30}",
	  "{'target':null,'reason':null,'duration':30,'args':['30']}" },
	{ "followers", "followers", "{'follow_duration_minutes':'10'}",
	  "{'target':null,'reason':null,'duration':600,'args':['10']}" },
	{ "add_blocked_term", "automod_terms", "{'action':'add','list':"
	  "'blocked','terms':['badword',7,'worse'],'from_automod':false}",
	  "{'target':null,'reason':null,'duration':null,"
	  "'args':['badword','worse']}" },
	{ "clear", NULL, NULL,
	  "{'target':null,'reason':null,'duration':null,'args':[]}" },
	{ "warn", "warn", "{" SPAM_FIELDS ",'reason':'be nice',"
	  "'chat_rules_cited':null}",
	  "{'target':" SPAM ",'reason':'be nice','duration':null,"
	  "'args':['spammy_user']}" },
	{ "approve_unban_request", "unban_request", "{'is_approved':true,"
	  SPAM_FIELDS ",'moderator_message':'ok this time'}",
	  "{'target':" SPAM ",'reason':'ok this time','duration':null,"
	  "'args':['spammy_user']}" },
	{ "shared_chat_timeout", "shared_chat_timeout", "{" SPAM_FIELDS
	  ",'reason':'','expires_at':'2025-03-14T18:22:15.123456789Z'}",
	  "{'target':" SPAM ",'reason':null,'duration':10,"
	  "'args':['spammy_user','10']}" },
	/* an action from the future, its data under its own name */
	{ "nuke", "nuke", "{" SPAM_FIELDS "}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user']}" },
	/* ... or somewhere else: the object that names a user */
	{ "zap", "zap_data", "{" SPAM_FIELDS "}",
	  "{'target':" SPAM ",'reason':null,'duration':null,"
	  "'args':['spammy_user']}" },
	/* the action's member of the wrong type */
	{ "ban", "ban", "'6666'",
	  "{'target':null,'reason':null,'duration':null,'args':[]}" },
};

static void
test_moderate_actions(void **state)
{
	static const char *const keys[] = { "target", "reason", "duration",
		"args" };

	for (size_t i = 0; i < N(mod_cases); i++) {
		const struct mod_case *c = &mod_cases[i];
		json_t *body = fixture("channel.moderate");
		set_event(body, "timeout", json_null());
		set_event(body, "action", json_string(c->action));
		if (c->member != NULL)
			set_event(body, c->member, qjson(c->data));
		struct br_event *ev = norm_ok(body);
		json_t *want = qjson(c->want);
		assert_string_equal(json_string_value(field(ev, "event_type")),
		    c->action);
		expect_json(field(ev, "moderator"), MOD);
		assert_true(json_is_null(field(ev, "user")));
		for (size_t k = 0; k < N(keys); k++)
			if (!json_equal(field(ev, keys[k]),
			    json_object_get(want, keys[k])))
				fail_msg("%s: %s differs", c->action, keys[k]);
		json_decref(want);
		br_event_free(ev);
	}
}

static void
test_ban_unban(void **state)
{
	check_fixture("channel.ban", HEAD("moderation", "ban") ",'user':null,"
	    "'moderator':" MOD ",'target':" SPAM ",'reason':'repeated spam',"
	    "'duration':null,'args':['spammy_user']}");
	check_fixture("channel.unban", HEAD("moderation", "unban")
	    ",'user':null,'moderator':" MOD ",'target':" SPAM ",'reason':null,"
	    "'duration':null,'args':['spammy_user']}");

	/* a channel.ban that is a timeout */
	json_t *body = fixture("channel.ban");
	set_event(body, "is_permanent", json_false());
	set_event(body, "ends_at",
	    json_string("2025-03-14T18:32:05.123456789Z"));
	check_body(body, HEAD("moderation", "timeout") ",'user':null,"
	    "'moderator':" MOD ",'target':" SPAM ",'reason':'repeated spam',"
	    "'duration':600,'args':['spammy_user','600']}");

	/* is_permanent missing, an ends_at and no banned_at */
	body = fixture("channel.ban");
	set_event(body, "is_permanent", NULL);
	set_event(body, "banned_at", json_string("yesterday"));
	set_event(body, "ends_at", json_string("2025-03-14T18:23:05.2Z"));
	set_event(body, "reason", json_string(""));
	check_body(body, HEAD("moderation", "timeout") ",'user':null,"
	    "'moderator':" MOD ",'target':" SPAM ",'reason':null,"
	    "'duration':60,'args':['spammy_user','60']}");
}

static void
test_whisper_chat(void **state)
{
	check_fixture("user.whisper.message", HEAD("whisper", "whisper")
	    ",'user':" HV ",'message':'your porch light is still on',"
	    "'recipient':{'id':'1337','login':'cool_streamer','name':"
	    "'Cool_Streamer'}}");
	check_fixture("channel.chat.message", HEAD("chat", "message")
	    ",'user':" HV ",'message':'!lights blue @Cool_Streamer',"
	    "'message_id':'c0ffee00-1234-4abc-8def-0123456789ab'}");

	/* the channel of a whisper is its recipient */
	json_t *body = fixture("user.whisper.message");
	set_event(body, "to_user_login", json_string("Other_Streamer"));
	struct br_event *ev = norm_ok(body);
	assert_string_equal(br_event_channel_login(ev), "other_streamer");
	br_event_free(ev);
}

static void
test_hype_train(void **state)
{
	check_fixture("channel.hype_train.begin", HEAD("hype_train", "begin")
	    ",'user':null,'level':1,'total':1500,'goal':1800,"
	    "'progress':1500}");
	check_fixture("channel.hype_train.progress", HEAD("hype_train",
	    "progress") ",'user':null,'level':2,'total':2600,'goal':2100,"
	    "'progress':800}");
	check_fixture("channel.hype_train.end", HEAD("hype_train", "end")
	    ",'user':null,'level':3,'total':4100,'goal':null,"
	    "'progress':null}");
}

#define CHOICES_BEGIN "'choices':[{'id':'a1','title':'Purple'," \
	"'votes':null},{'id':'b2','title':'Green','votes':null}]}"
#define CHOICES "'choices':[{'id':'a1','title':'Purple','votes':31}," \
	"{'id':'b2','title':'Green','votes':17}]}"
#define POLL_TITLE ",'user':null,'title':'Light colour for the next hour?',"

static void
test_poll(void **state)
{
	check_fixture("channel.poll.begin", HEAD("poll", "begin") POLL_TITLE
	    CHOICES_BEGIN);
	check_fixture("channel.poll.progress", HEAD("poll", "progress")
	    POLL_TITLE CHOICES);
	check_fixture("channel.poll.end", HEAD("poll", "end") POLL_TITLE
	    CHOICES);
}

#define PRED_TITLE ",'user':null,'title':'Will the relay click on?',"
#define OUTCOMES_BEGIN "'outcomes':[{'id':'o-blue','title':'It works " \
	"first try','color':'blue','users':null,'channel_points':null}," \
	"{'id':'o-pink','title':'Magic smoke','color':'pink','users':null," \
	"'channel_points':null}]}"
#define OUTCOMES "'outcomes':[{'id':'o-blue','title':'It works first " \
	"try','color':'blue','users':3,'channel_points':3500},{'id':" \
	"'o-pink','title':'Magic smoke','color':'pink','users':2," \
	"'channel_points':1200}]}"

static void
test_prediction(void **state)
{
	check_fixture("channel.prediction.begin", HEAD("prediction", "begin")
	    PRED_TITLE OUTCOMES_BEGIN);
	check_fixture("channel.prediction.progress", HEAD("prediction",
	    "progress") PRED_TITLE OUTCOMES);
	check_fixture("channel.prediction.lock", HEAD("prediction", "lock")
	    PRED_TITLE OUTCOMES);
	check_fixture("channel.prediction.end", HEAD("prediction", "end")
	    PRED_TITLE OUTCOMES);

	/* junk among the outcomes is dropped */
	json_t *body = fixture("channel.prediction.begin");
	json_t *list = json_object_get(event_of(body), "outcomes");
	json_array_insert_new(list, 0, json_string("o-green"));
	json_array_append_new(list, json_null());
	check_body(body, HEAD("prediction", "begin") PRED_TITLE
	    OUTCOMES_BEGIN);
}

static void
test_ad_break(void **state)
{
	check_fixture("channel.ad_break.begin", HEAD("ad_break", "begin")
	    ",'user':null,'duration':90,'automatic':true}");

	/* as in Twitch's own example (twitchdev/issues#857) */
	json_t *body = fixture("channel.ad_break.begin");
	set_event(body, "duration_seconds", json_string("90"));
	set_event(body, "is_automatic", json_string("false"));
	check_body(body, HEAD("ad_break", "begin") ",'user':null,"
	    "'duration':90,'automatic':false}");

	body = fixture("channel.ad_break.begin");
	set_event(body, "duration_seconds", json_string("ninety"));
	set_event(body, "is_automatic", json_string("yes"));
	check_body(body, HEAD("ad_break", "begin") ",'user':null,"
	    "'duration':null,'automatic':null}");
}

static void
test_power_up(void **state)
{
	char err[128];

	/* a plain cheer is published as bits, from channel.cheer */
	json_t *body = fixture("channel.bits.use");
	assert_int_equal(norm_rc(body, err, sizeof err), 1);
	json_decref(body);

	body = fixture("channel.bits.use");
	set_event(body, "type", json_string("power_up"));
	set_event(body, "bits", json_integer(50));
	set_event(body, "power_up", qjson("{'type':'message_effect',"
	    "'emote':null,'message_effect_id':'cosmic_abyss'}"));
	set_event(body, "message", qjson("{'text':'shiny!','fragments':[]}"));
	check_body(body, HEAD("power_up", "message_effect") ",'user':" HV
	    ",'bits':50,'message':'shiny!'}");

	body = fixture("channel.bits.use");
	set_event(body, "type", json_string("power_up"));
	set_event(body, "bits", json_string("100"));
	set_event(body, "power_up", qjson("{'type':'gigantify_an_emote',"
	    "'emote':{'id':'25','name':'Kappa'}}"));
	set_event(body, "message", json_null());
	check_body(body, HEAD("power_up", "gigantify_an_emote") ",'user':" HV
	    ",'bits':100,'message':null}");
}

static json_t *
notification_body(const char *notice)
{
	json_t *body = qjson("{'subscription':{'id':'s-1','status':'enabled',"
	    "'type':'channel.chat.notification','version':'1','condition':"
	    "{'broadcaster_user_id':'1337','user_id':'1337'}},'event':{"
	    "'broadcaster_user_id':'1337','broadcaster_user_login':"
	    "'cool_streamer','broadcaster_user_name':'Cool_Streamer',"
	    "'chatter_user_id':'9001','chatter_user_login':'happy_viewer',"
	    "'chatter_user_name':'Happy_Viewer','chatter_is_anonymous':false,"
	    "'color':'','badges':[],'system_message':'happy_viewer just "
	    "earned a new 1K Bits badge!','message_id':'n-1','message':"
	    "{'text':'Just unlocked the 1K badge!','fragments':[]},"
	    "'notice_type':'','sub':null,'resub':null,'announcement':null,"
	    "'bits_badge_tier':{'tier':1000}}}");

	set_event(body, "notice_type", json_string(notice));
	return body;
}

static void
test_bits_badge(void **state)
{
	char err[128];

	check_body(notification_body("bits_badge_tier"), HEAD("bits_badge",
	    "badge") ",'user':" HV ",'tier':1000,'message':"
	    "'Just unlocked the 1K badge!'}");

	json_t *body = notification_body("announcement");
	assert_int_equal(norm_rc(body, err, sizeof err), 1);
	json_decref(body);
	body = notification_body("bits_badge_tier");
	set_event(body, "notice_type", NULL);
	assert_int_equal(norm_rc(body, err, sizeof err), 1);
	json_decref(body);
}

/* A type without a mapping is published whole below eventsub/<type>. */
static void
test_unmapped(void **state)
{
	json_t *body = qjson("{'subscription':{'id':'s-1','status':'enabled',"
	    "'type':'channel.shoutout.create','version':'1','condition':"
	    "{'broadcaster_user_id':'1337','moderator_user_id':'1337'}},"
	    "'event':{'broadcaster_user_id':'1337','broadcaster_user_login':"
	    "'cool_streamer','broadcaster_user_name':'Cool_Streamer',"
	    "'to_broadcaster_user_id':'4242','to_broadcaster_user_login':"
	    "'friendly_raider','to_broadcaster_user_name':'Friendly_Raider',"
	    "'moderator_user_id':'5150','moderator_user_login':'helpful_mod',"
	    "'moderator_user_name':'Helpful_Mod','viewer_count':87,"
	    "'started_at':'2025-03-14T18:22:05.123456789Z',"
	    "'cooldown_ends_at':'2025-03-14T18:24:05Z',"
	    "'target_cooldown_ends_at':'2025-03-14T19:22:05Z'}}");
	json_t *copy = json_deep_copy(event_of(body));
	struct br_event *ev = norm_ok(body);
	char *want = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *text = br_xasprintf("%s,'user':null,'event':%s}",
	    HEAD("eventsub", "channel.shoutout.create"), want);

	for (char *p = text; *p; p++)
		if (*p == '"')
			*p = '\'';
	expect_event(ev, text);
	assert_string_equal(br_event_topic_leaf(ev),
	    "eventsub/channel.shoutout.create");
	free(text);
	free(want);
	json_decref(copy);
	br_event_free(ev);

	/* generic events keep no email and no "event_types", at any depth */
	body = qjson("{'subscription':{'type':'channel.vip.add'},'event':"
	    "{'broadcaster_user_login':'cool_streamer','user_id':'9001',"
	    "'user_login':'happy_viewer','user_name':'Happy_Viewer',"
	    "'email':'x@example.org','event_types':['a'],'list':[{'email':"
	    "'y@example.org','note':'email'}]}}");
	ev = norm_ok(body);
	expect_json(field(ev, "user"), HV);
	expect_json(field(ev, "event"), "{'broadcaster_user_login':"
	    "'cool_streamer','user_id':'9001','user_login':'happy_viewer',"
	    "'user_name':'Happy_Viewer','list':[{'note':'email'}]}");
	br_event_free(ev);
}

/* Every fixture type normalizes, and the common fields are right. */
static void
test_every_fixture(void **state)
{
	const char *type;
	json_t *body;
	size_t n = 0;

	json_decref(fixture("channel.cheer"));       /* loads */
	json_object_foreach(fixtures, type, body) {
		struct br_event *ev;
		char err[256];
		int rc = norm(body, T0, &ev, err, sizeof err);
		if (strcmp(type, "channel.bits.use") == 0) {
			assert_int_equal(rc, 1);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: %d %s", type, rc, err);
		const char *name = br_eventsub_event_name(type);
		assert_non_null(name);
		assert_string_equal(br_event_type(ev), name);
		assert_string_equal(br_event_id(ev), "msg-1");
		assert_string_equal(br_event_source(ev), "eventsub-websocket");
		assert_string_equal(br_event_channel_login(ev),
		    "cool_streamer");
		assert_int_equal(br_event_time_ms(ev), 1741976525123LL);
		assert_true(json_is_string(field(ev, "event_type")));
		assert_true(json_is_false(field(ev, "test")));
		assert_null(field(ev, "event_types"));
		char *s = br_event_dump(ev, NULL);
		assert_null(strstr(s, "email"));
		free(s);
		br_event_free(ev);
		n++;
	}
	assert_int_equal(n, 28);
}

/* twitch-cli's webhook captures. */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
list_samples(const char *dir, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL && n < max)
		if (strstr(de->d_name, ".json") != NULL)
			names[n++] = br_xstrdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	return n;
}

static const char *
header(json_t *sample, const char *name)
{
	return json_string_value(json_object_get(json_object_get(sample,
	    "headers"), name));
}

/* Checks on particular captures, by file number. */
static void
check_sample(const char *name, struct br_event *ev)
{
	json_t *obj = br_event_json(ev);

	if (strncmp(name, "001", 3) == 0) {
		expect_json(field(ev, "user"), "{'id':'3959397','login':"
		    "'testfromuser','name':'testFromUser'}");
		expect_json(field(ev, "bits"), "100");
	} else if (strncmp(name, "005", 3) == 0) {
		expect_json(field(ev, "cumulative_total"), "119");
	} else if (strncmp(name, "011", 3) == 0) {
		assert_null(json_object_get(obj, "email"));
		expect_json(field(ev, "description"), "''");
	} else if (strncmp(name, "014", 3) == 0) {
		/* the CLI still sends hype train v1 bodies */
		expect_json(field(ev, "level"), "2");
		expect_json(field(ev, "goal"), "98003");
	} else if (strncmp(name, "024", 3) == 0) {
		expect_json(field(ev, "automatic"), "false");
		expect_json(field(ev, "duration"), "60");
	} else if (strncmp(name, "025", 3) == 0) {
		/* no broadcaster: the user is the channel */
		assert_string_equal(br_event_type(ev), "eventsub");
		assert_string_equal(br_event_channel_login(ev), "testfromuser");
	} else if (strncmp(name, "027", 3) == 0) {
		expect_json(field(ev, "category"),
		    "{'id':'2913','name':'Just Chatting'}");
	} else if (strncmp(name, "030", 3) == 0) {
		assert_string_equal(json_string_value(field(ev, "time")),
		    "2024-05-01T12:00:00.500Z");
	} else if (strncmp(name, "031", 3) == 0) {
		assert_true(json_is_null(field(ev, "user")));
		assert_true(json_is_true(field(ev, "anonymous")));
		expect_json(field(ev, "bits"), "100");
	} else if (strncmp(name, "032", 3) == 0) {
		assert_true(json_is_null(field(ev, "user")));
		assert_true(json_is_true(field(ev, "anonymous")));
		expect_json(field(ev, "count"), "5");
		expect_json(field(ev, "cumulative_total"), "null");
	}
}

static void
test_webhook_samples(void **state)
{
	char *dir = shared_path("twitch/twitch-cli-samples/webhook");
	char *names[64];
	size_t n = list_samples(dir, names, N(names)), notes = 0;

	assert_true(n >= 33);
	for (size_t i = 0; i < n; i++) {
		char *rel = br_xasprintf("twitch/twitch-cli-samples/webhook/%s",
		    names[i]);
		json_t *sample = load_json(rel);
		const char *kind = header(sample,
		    "Twitch-Eventsub-Message-Type");
		const char *id = header(sample, "Twitch-Eventsub-Message-Id");
		const char *ts = header(sample,
		    "Twitch-Eventsub-Message-Timestamp");
		struct br_event *ev;
		char err[256];
		int rc = br_eventsub_normalize(json_object_get(sample, "body"),
		    id, ts, "eventsub-webhook", &ev, err, sizeof err);

		if (strcmp(kind, "notification") != 0) {
			/* verification and revocation carry no event */
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err, "no event object"));
		} else {
			if (rc != 0)
				fail_msg("%s: %d %s", names[i], rc, err);
			int64_t ms;
			assert_int_equal(br_parse_time(ts, &ms), 0);
			assert_string_equal(br_event_id(ev), id);
			assert_string_equal(br_event_source(ev),
			    "eventsub-webhook");
			assert_int_equal(br_event_time_ms(ev), ms);
			check_sample(names[i], ev);
			br_event_free(ev);
			notes++;
		}
		json_decref(sample);
		free(rel);
		free(names[i]);
	}
	assert_int_equal(notes, 30);
	free(dir);
}

/* Message times: 0 to 9 fraction digits, offsets; junk means now. */
static void
test_times(void **state)
{
	static const char *const cases[][2] = {
		{ "2025-03-14T18:22:05Z", "2025-03-14T18:22:05.000Z" },
		{ "2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.500Z" },
		{ "2025-03-14T18:22:05.1234567Z", "2025-03-14T18:22:05.123Z" },
		{ "2026-11-21T23:12:00.61056199Z", "2026-11-21T23:12:00.610Z" },
		{ T0, "2025-03-14T18:22:05.123Z" },
		{ "2025-03-14T20:22:05.999+02:00", "2025-03-14T18:22:05.999Z" },
	};
	static const char *const junk[] = { "2025-03-14T18:22:05.1234567890Z",
		"yesterday", "", "2025-13-14T18:22:05Z" };
	struct br_event *ev;
	char err[128];

	for (size_t i = 0; i < N(cases); i++) {
		json_t *body = fixture("stream.offline");
		assert_int_equal(norm(body, cases[i][0], &ev, err, sizeof err),
		    0);
		assert_string_equal(json_string_value(field(ev, "time")),
		    cases[i][1]);
		br_event_free(ev);
		json_decref(body);
	}
	for (size_t i = 0; i <= N(junk); i++) {
		json_t *body = fixture("stream.offline");
		long long before = br_now_ms();
		assert_int_equal(norm(body, i < N(junk) ? junk[i] : NULL, &ev,
		    err, sizeof err), 0);
		assert_in_range(br_event_time_ms(ev), before, br_now_ms());
		br_event_free(ev);
		json_decref(body);
	}
}

/* Hostile bodies. */

static void
expect_einval(json_t *body, const char *reason)
{
	char err[256] = "";

	assert_int_equal(norm_rc(body, err, sizeof err), -EINVAL);
	if (strstr(err, reason) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, reason);
	json_decref(body);
}

static void
test_bad_bodies(void **state)
{
	char err[8];

	expect_einval(NULL, "not a JSON object");
	expect_einval(json_array(), "not a JSON object");
	expect_einval(qjson("{}"), "no subscription object");
	expect_einval(qjson("{'subscription':'channel.cheer','event':{}}"),
	    "no subscription object");
	expect_einval(qjson("{'subscription':{'type':7},'event':{}}"),
	    "subscription.type is missing");
	expect_einval(qjson("{'subscription':{'type':''},'event':{}}"),
	    "subscription.type is missing");
	expect_einval(qjson("{'subscription':{'type':'channel.cheer'}}"),
	    "no event object in a channel.cheer notification");
	expect_einval(qjson("{'subscription':{'type':'channel.cheer'},"
	    "'event':'x'}"), "no event object");
	expect_einval(qjson("{'subscription':{'type':'channel.cheer'},"
	    "'event':[]}"), "no event object");
	expect_einval(qjson("{'subscription':{'type':'channel.cheer'},"
	    "'event':{}}"),
	    "no broadcaster_user_login in a channel.cheer event");
	expect_einval(qjson("{'subscription':{'type':'channel.raid'},"
	    "'event':{'broadcaster_user_login':'x'}}"),
	    "no to_broadcaster_user_login in a channel.raid event");
	expect_einval(qjson("{'subscription':{'type':'user.update'},"
	    "'event':{'broadcaster_user_login':'x'}}"),
	    "no user_login in a user.update event");
	expect_einval(qjson("{'subscription':{'type':'user.whisper.message'},"
	    "'event':{'from_user_login':'x'}}"), "no to_user_login");
	expect_einval(qjson("{'subscription':{'type':'channel.cheer'},"
	    "'event':{'broadcaster_user_login':7}}"),
	    "no broadcaster_user_login");
	expect_einval(qjson("{'subscription':{'type':'channel.moderate'},"
	    "'event':{'broadcaster_user_login':'x'}}"),
	    "no action in a channel.moderate event");
	expect_einval(qjson("{'subscription':{'type':'a/b+#'},"
	    "'event':{'broadcaster_user_login':'x'}}"),
	    "is not an EventSub type name");
	expect_einval(qjson("{'subscription':{'type':'nothing.here'},"
	    "'event':{'id':'1'}}"), "no broadcaster_user_login");

	/* a short or missing err buffer is fine */
	json_t *body = qjson("{}");
	assert_int_equal(norm_rc(body, err, sizeof err), -EINVAL);
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(norm_rc(body, NULL, 0), -EINVAL);
	json_decref(body);
}

/* Every optional member null, and a 1 MB message. */
static void
test_nulls_and_huge(void **state)
{
	json_t *body = fixture("channel.cheer"), *v;
	const char *key;
	void *tmp;

	json_object_foreach_safe(event_of(body), tmp, key, v)
		if (strncmp(key, "broadcaster_", 12) != 0)
			set_event(body, key, json_null());
	check_body(body, HEAD("bits", "cheer") ",'user':null,'bits':null,"
	    "'message':'','anonymous':true,'badge':null}");

	size_t big = 1 << 20;
	char *s = br_xmalloc(big + 1);
	memset(s, 'a', big);
	s[big] = '\0';
	body = fixture("user.whisper.message");
	json_object_set_new(json_object_get(event_of(body), "whisper"),
	    "text", json_string(s));
	struct br_event *ev = norm_ok(body);
	assert_int_equal(json_string_length(field(ev, "message")), big);
	br_event_free(ev);

	/* a huge type name is refused, not copied into a topic */
	char *type = br_xasprintf("x.%s", s);
	body = qjson("{'subscription':{},'event':{'broadcaster_user_login':"
	    "'x'}}");
	json_object_set_new(json_object_get(body, "subscription"), "type",
	    json_string(type));
	expect_einval(body, "is not an EventSub type name");
	free(type);
	free(s);
}

/* Each member of each fixture replaced by every kind of wrong value:
 * never a crash, a leak or a forbidden key. */
static json_t *
wrong_value(size_t k)
{
	switch (k) {
	case 0: return json_null();
	case 1: return json_string("");
	case 2: return json_string("x");
	case 3: return json_integer(-12345);
	case 4: return json_string("99999999999999999999999");
	case 5: return json_array();
	case 6: return json_object();
	case 7: return json_true();
	case 8: return json_real(1e300);
	default: return NULL;   /* deleted */
	}
}

static size_t tries;

static void
try_body(json_t *body)
{
	struct br_event *ev;
	char err[256];
	int rc = norm(body, T0, &ev, err, sizeof err);

	tries++;
	assert_true(rc == 0 || rc == 1 || rc == -EINVAL);
	if (rc != 0)
		return;
	assert_false(has_key(br_event_json(ev), "event_types"));
	assert_false(has_key(br_event_json(ev), "email"));
	br_event_free(ev);
}

static void
mutate(json_t *body, json_t *obj, int depth)
{
	size_t n = json_object_size(obj), i = 0;
	char **keys = br_xcalloc(n + 1, sizeof *keys);
	const char *key;
	json_t *v;

	/* a snapshot: deleting and re-adding a key moves it to the end */
	json_object_foreach(obj, key, v)
		keys[i++] = br_xstrdup(key);
	for (i = 0; i < n; i++) {
		json_t *saved = json_incref(json_object_get(obj, keys[i]));
		for (size_t k = 0; k <= 9; k++) {
			json_t *w = wrong_value(k);
			if (w == NULL)
				json_object_del(obj, keys[i]);
			else
				json_object_set_new(obj, keys[i], w);
			try_body(body);
		}
		json_object_set(obj, keys[i], saved);
		if (depth > 0 && json_is_object(saved))
			mutate(body, saved, depth - 1);
		json_t *first = json_array_get(saved, 0);
		if (depth > 0 && json_is_object(first))
			mutate(body, first, depth - 1);
		json_decref(saved);
		free(keys[i]);
	}
	free(keys);
}

static void
test_mutations(void **state)
{
	const char *type;
	json_t *body;

	json_decref(fixture("channel.cheer"));
	json_object_foreach(fixtures, type, body) {
		json_t *copy = json_deep_copy(body);
		mutate(copy, event_of(copy), 2);
		mutate(copy, json_object_get(copy, "subscription"), 0);
		json_decref(copy);
	}
	json_t *n = notification_body("bits_badge_tier");
	mutate(n, event_of(n), 2);
	json_decref(n);
	printf("%zu mutated bodies\n", tries);
	assert_true(tries > 5000);
}

static int
teardown(void **state)
{
	json_decref(fixtures);
	fixtures = NULL;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_specs_families),
		cmocka_unit_test(test_specs_raw_unknown),
		cmocka_unit_test(test_specs_round_trip),
		cmocka_unit_test(test_event_name),
		cmocka_unit_test(test_condition),
		cmocka_unit_test(test_frame_welcome),
		cmocka_unit_test(test_frame_kinds),
		cmocka_unit_test(test_frame_bad),
		cmocka_unit_test(test_frame_capture),
		cmocka_unit_test(test_cheer),
		cmocka_unit_test(test_redemption),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_follow_raid_stream),
		cmocka_unit_test(test_channel_update),
		cmocka_unit_test(test_user_update),
		cmocka_unit_test(test_moderate_timeout),
		cmocka_unit_test(test_moderate_actions),
		cmocka_unit_test(test_ban_unban),
		cmocka_unit_test(test_whisper_chat),
		cmocka_unit_test(test_hype_train),
		cmocka_unit_test(test_poll),
		cmocka_unit_test(test_prediction),
		cmocka_unit_test(test_ad_break),
		cmocka_unit_test(test_power_up),
		cmocka_unit_test(test_bits_badge),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_every_fixture),
		cmocka_unit_test(test_webhook_samples),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_nulls_and_huge),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
