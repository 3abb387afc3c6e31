/*
 * PubSub, pure: topics, the outer frame and the normalizer, against
 * CONTRACT section 4. The byte-exact example frames are read at run time
 * from ../shared/twitch/pubsub.md (section 7); variants of every kind of
 * section 3 are written here. Inner documents are written with ' for ".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pubsub.h"
#include "shared_path.h"
#include "util.h"

#define CHID "123456789"
static const struct br_ps_channel chan = { CHID, "riverbend", "Riverbend" };

static char *
quotes(const char *s)
{
	char *d = br_xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* The json blocks of pubsub.md section 7, in order. */
static json_t *
md_frames(void)
{
	char *path = shared_path("twitch/pubsub.md"), *text, *p;
	size_t len;
	json_t *out = json_array();

	if (br_read_file(path, 1 << 20, &text, &len) != 0)
		fail_msg("cannot read %s", path);
	p = strstr(text, "## 7. Test fixtures");
	assert_non_null(p);
	while ((p = strstr(p, "```json\n")) != NULL) {
		p += 8;
		char *end = strstr(p, "\n```");
		assert_non_null(end);
		json_array_append_new(out, json_stringn(p, (size_t)(end - p)));
		p = end;
	}
	free(text);
	free(path);
	return out;
}

/* Normalizes a whole frame text; returns the event as JSON (new
 * reference) or NULL with *rc set. */
static json_t *
frame_event(const char *text, const struct br_ps_channel *ch, int *rcp)
{
	struct br_ps_frame f;
	struct br_event *ev = NULL;
	char err[256];
	json_t *j = NULL;
	int rc;

	assert_int_equal(br_ps_frame_parse(text, strlen(text), &f, err,
	    sizeof err), 0);
	assert_int_equal(f.kind, BR_PS_MESSAGE);
	rc = br_pubsub_normalize(f.topic, f.message, f.message_len, ch,
	    "pubsub", &ev, err, sizeof err);
	if (rc == 0) {
		size_t n;
		char *s = br_event_dump(ev, &n);
		j = json_loads(s, JSON_PRESERVE_ORDER, NULL);
		free(s);
		br_event_free(ev);
	}
	br_ps_frame_release(&f);
	if (rcp)
		*rcp = rc;
	return j;
}

/* Normalizes an inner document (with ' quotes) on topic. */
static json_t *
inner(const char *topic, const char *doc, int *rcp)
{
	char *d = quotes(doc);
	json_t *frame = json_pack("{s:s, s:{s:s, s:s}}", "type", "MESSAGE",
	    "data", "topic", topic, "message", d);
	char *text = json_dumps(frame, JSON_COMPACT);
	json_t *ev = frame_event(text, &chan, rcp);

	free(text);
	json_decref(frame);
	free(d);
	return ev;
}

/* Compares j[key] with expected JSON (' quotes). */
static void
expect(json_t *j, const char *key, const char *want)
{
	char *w = quotes(want);
	json_t *wj = json_loads(w, JSON_DECODE_ANY, NULL);
	json_t *got = json_object_get(j, key);

	if (wj == NULL)
		fail_msg("bad expectation %s", want);
	if (!json_equal(wj, got)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY)
		    : br_xstrdup("(absent)");
		fail_msg("%s: want %s, got %s", key, w, g);
	}
	json_decref(wj);
	free(w);
}

static const char *const common[] = { "id", "type", "event_type", "source",
	"time", "test", "channel", "user" };

static void
check_common(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	json_object_foreach(j, key, v) {
		if (i < 8)
			assert_string_equal(key, common[i]);
		i++;
	}
	assert_true(i >= 8);
	expect(j, "source", "'pubsub'");
	expect(j, "test", "false");
}

/* ---- topics and frames ---- */

static void
test_topics(void **state)
{
	char buf[BR_PS_TOPIC_MAX];
	(void)state;

	assert_int_equal(br_ps_topic("bits", "1", "2", buf, sizeof buf), 0);
	assert_string_equal(buf, "channel-bits-events-v2.1");
	br_ps_topic("bits_badge", "1", NULL, buf, sizeof buf);
	assert_string_equal(buf, "channel-bits-badge-unlocks.1");
	br_ps_topic("channel_points_update", "1", NULL, buf, sizeof buf);
	assert_string_equal(buf, "channel-points-channel-v1.1");
	br_ps_topic("subscription", "1", NULL, buf, sizeof buf);
	assert_string_equal(buf, "channel-subscribe-events-v1.1");
	br_ps_topic("moderation", "1", "2", buf, sizeof buf);
	assert_string_equal(buf, "chat_moderator_actions.2.1");
	br_ps_topic("whisper", "1", "2", buf, sizeof buf);
	assert_string_equal(buf, "whispers.2");
	assert_int_equal(br_ps_topic("moderation", "1", NULL, buf, sizeof buf),
	    -EINVAL);
	assert_int_equal(br_ps_topic("follow", "1", "2", buf, sizeof buf),
	    -EINVAL);
	assert_int_equal(br_ps_topic("bits", "1", NULL, buf, 5), -EINVAL);
	assert_true(br_ps_topic_carries("channel-points-channel-v1.1",
	    "channel_points_update"));
	assert_false(br_ps_topic_carries("channel-points-channel-v1.1", "bits"));
}

static void
test_frames(void **state)
{
	struct br_ps_frame f;
	char err[128];
	static const char *bad[] = { "", "[]", "{", "\"x\"", "{\"type\":1}",
		"{\"type\":\"MESSAGE\"}",
		"{\"type\":\"MESSAGE\",\"data\":{\"topic\":\"x\",\"message\":{}}}",
		"{\"type\":\"MESSAGE\",\"data\":\"{\\\"topic\\\":1}\"}" };
	(void)state;

	assert_int_equal(br_ps_frame_parse("{\"type\":\"PONG\"}", 15, &f, err,
	    sizeof err), 0);
	assert_int_equal(f.kind, BR_PS_PONG);
	br_ps_frame_release(&f);
	const char *r = "{\"type\":\"RESPONSE\",\"nonce\":\"ab\",\"error\":"
	    "\"ERR_BADAUTH\"}";
	assert_int_equal(br_ps_frame_parse(r, strlen(r), &f, err, sizeof err),
	    0);
	assert_int_equal(f.kind, BR_PS_RESPONSE);
	assert_string_equal(f.nonce, "ab");
	assert_string_equal(f.error, "ERR_BADAUTH");
	br_ps_frame_release(&f);
	r = "{\"type\":\"RECONNECT\"}";
	assert_int_equal(br_ps_frame_parse(r, strlen(r), &f, err, sizeof err),
	    0);
	assert_int_equal(f.kind, BR_PS_RECONNECT);
	br_ps_frame_release(&f);
	r = "{\"type\":\"WHATEVER\"}";
	assert_int_equal(br_ps_frame_parse(r, strlen(r), &f, err, sizeof err),
	    0);
	assert_int_equal(f.kind, BR_PS_UNKNOWN);
	br_ps_frame_release(&f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(br_ps_frame_parse(bad[i], strlen(bad[i]), &f,
		    err, sizeof err), -EINVAL);
}

/* ---- the example frames of pubsub.md ---- */

static void
test_md_frames(void **state)
{
	json_t *frames = md_frames(), *v, *j;
	size_t i;
	static const char *types[] = { "bits", "bits_badge", "channel_points",
		"subscription", "moderation", "whisper" };
	(void)state;

	assert_int_equal(json_array_size(frames), 6);
	json_array_foreach(frames, i, v) {
		int rc;
		j = frame_event(json_string_value(v), &chan, &rc);
		assert_int_equal(rc, 0);
		check_common(j);
		char want[64];
		snprintf(want, sizeof want, "'%s'", types[i]);
		expect(j, "type", want);
		json_decref(j);
	}
	json_decref(frames);
}

static json_t *
md_event(size_t i)
{
	json_t *frames = md_frames();
	json_t *j = frame_event(json_string_value(json_array_get(frames, i)),
	    &chan, NULL);
	json_decref(frames);
	assert_non_null(j);
	return j;
}

static void
test_md_bits(void **state)
{
	json_t *j = md_event(0);
	(void)state;
	check_common(j);
	char *want = quotes("{'id':'1f0c3a52-8b7e-5d21-9c4f-2a6e0b9d7c14',"
	    "'type':'bits','event_type':'cheer','source':'pubsub',"
	    "'time':'2024-11-02T19:04:11.512Z','test':false,"
	    "'channel':{'id':'123456789','login':'riverbend','name':'Riverbend'},"
	    "'user':{'id':'41522301','login':'pixelfox','name':'pixelfox'},"
	    "'bits':100,'message':'Cheer100','anonymous':false,'badge':null,"
	    "'total_bits':1600}");
	char *got = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(j);
}

static void
test_md_others(void **state)
{
	json_t *j;
	(void)state;

	j = md_event(1);
	expect(j, "type", "'bits_badge'");
	expect(j, "event_type", "'badge'");
	expect(j, "tier", "1000");
	expect(j, "message", "'Finally the 1k badge!'");
	expect(j, "user", "{'id':'41522301','login':'pixelfox','name':'pixelfox'}");
	assert_true(strncmp(json_string_value(json_object_get(j, "id")),
	    "pubsub-", 7) == 0);
	json_decref(j);

	j = md_event(2);
	expect(j, "id", "'e4a7c1d2-95b3-4f08-b6e2-3d1c7a9f5e20'");
	expect(j, "type", "'channel_points'");
	expect(j, "event_type", "'hydrate'");
	expect(j, "time", "'2024-11-02T19:06:02.377Z'");
	expect(j, "user", "{'id':'88112077','login':'mossy_owl','name':'Mossy_Owl'}");
	expect(j, "redemption_id", "'e4a7c1d2-95b3-4f08-b6e2-3d1c7a9f5e20'");
	expect(j, "reward", "{'id':'7d0b7c5e-2f4a-4c1e-9a53-1c9e0f6b2a11',"
	    "'title':'Hydrate!','cost':500,'prompt':'Make the streamer drink water'}");
	expect(j, "input", "'extra ice please'");
	expect(j, "status", "'unfulfilled'");
	json_decref(j);

	j = md_event(3);
	expect(j, "type", "'subscription'");
	expect(j, "event_type", "'resub'");
	expect(j, "user", "{'id':'88112077','login':'mossy_owl','name':'Mossy_Owl'}");
	expect(j, "tier", "'1000'");
	expect(j, "months", "14");
	expect(j, "streak", "6");
	expect(j, "duration", "1");
	expect(j, "gift", "false");
	expect(j, "count", "1");
	expect(j, "recipient", "null");
	expect(j, "message", "'14 months already riverHype'");
	expect(j, "anonymous", "false");
	json_decref(j);

	j = md_event(4);
	expect(j, "type", "'moderation'");
	expect(j, "event_type", "'ban'");
	expect(j, "time", "'2024-11-02T19:30:00.514Z'");
	expect(j, "user", "null");
	expect(j, "moderator", "{'id':'88112077','login':'mossy_owl','name':'mossy_owl'}");
	expect(j, "target", "{'id':'99004521','login':'spambot_4521','name':'spambot_4521'}");
	expect(j, "reason", "'link spam'");
	expect(j, "duration", "null");
	expect(j, "args", "['spambot_4521','link spam']");
	json_decref(j);

	j = md_event(5);
	expect(j, "id", "'a8e4d2c0-6b1f-4937-8e5a-2c7d9f0b1e34'");
	expect(j, "type", "'whisper'");
	expect(j, "event_type", "'whisper'");
	expect(j, "time", "'2024-11-02T19:04:10.000Z'");
	expect(j, "channel", "{'id':'88112077','login':'mossy_owl','name':'Mossy_Owl'}");
	expect(j, "user", "{'id':'41522301','login':'pixelfox','name':'PixelFox'}");
	expect(j, "message", "'are you streaming tonight?'");
	expect(j, "recipient", "{'id':'88112077','login':'mossy_owl','name':'Mossy_Owl'}");
	json_decref(j);
}

/* ---- variants of every kind ---- */

#define BITS "channel-bits-events-v2." CHID
#define POINTS "channel-points-channel-v1." CHID
#define SUBS "channel-subscribe-events-v1." CHID
#define MODS "chat_moderator_actions.88112077." CHID

static void
test_bits_variants(void **state)
{
	json_t *j;
	(void)state;

	/* anonymous, user fields absent (TwitchIO: KeyError) */
	j = inner(BITS, "{'data':{'channel_name':'riverbend','channel_id':'"
	    CHID "','time':'2024-11-02T19:04:11Z','chat_message':'Cheer50',"
	    "'bits_used':50,'total_bits_used':50,'is_anonymous':true,"
	    "'context':'cheer','badge_entitlement':null},'version':'1.0',"
	    "'message_type':'bits_event','message_id':'m-anon',"
	    "'is_anonymous':true}", NULL);
	expect(j, "id", "'m-anon'");
	expect(j, "user", "null");
	expect(j, "anonymous", "true");
	expect(j, "bits", "50");
	json_decref(j);
	/* anonymous with null user fields */
	j = inner(BITS, "{'data':{'user_id':null,'user_name':null,"
	    "'bits_used':'7','chat_message':null},'message_id':'m-null'}", NULL);
	expect(j, "user", "null");
	expect(j, "anonymous", "true");
	expect(j, "bits", "7");
	expect(j, "message", "''");
	json_decref(j);
	/* badge_entitlement with previous_version (TwitchIO: KeyError) */
	j = inner(BITS, "{'data':{'user_id':'1','user_name':'a','bits_used':"
	    "1000,'badge_entitlement':{'new_version':1000,'previous_version':"
	    "100}},'message_id':'m-badge','is_anonymous':false}", NULL);
	expect(j, "badge", "{'tier':1000,'previous_tier':100}");
	expect(j, "user", "{'id':'1','login':'a','name':'a'}");
	json_decref(j);
	j = inner(BITS, "{'data':{'user_id':'1','user_name':'a',"
	    "'badge_entitlement':{'new_version':5000,'old_version':1000}},"
	    "'message_id':'m-old'}", NULL);
	expect(j, "badge", "{'tier':5000,'previous_tier':1000}");
	json_decref(j);
	/* channel from the message when the source does not know it */
	const char *d = "{\"type\":\"MESSAGE\",\"data\":{\"topic\":\"channel-"
	    "bits-events-v2.5\",\"message\":\"{\\\"data\\\":{\\\"channel_name"
	    "\\\":\\\"Other\\\"},\\\"message_id\\\":\\\"x\\\"}\"}}";
	j = frame_event(d, NULL, NULL);
	expect(j, "channel", "{'id':'5','login':'other','name':'Other'}");
	json_decref(j);
}

static void
test_points_variants(void **state)
{
	json_t *j;
	int rc;
	(void)state;

	j = inner(POINTS, "{'type':'redemption-status-update','data':{"
	    "'timestamp':'2024-11-02T19:08:00Z','redemption':{'id':'r1',"
	    "'user':{'id':'9','login':'v','display_name':'V'},'channel_id':'"
	    CHID "','reward':{'id':'w','title':'Hydrate!','cost':5},"
	    "'status':'ACTION_TAKEN','cursor':'abc'}}}", &rc);
	assert_int_equal(rc, 0);
	expect(j, "type", "'channel_points_update'");
	expect(j, "event_type", "'action_taken'");
	expect(j, "id", "'r1:action_taken'");
	expect(j, "redemption_id", "'r1'");
	expect(j, "input", "''");
	expect(j, "reward", "{'id':'w','title':'Hydrate!','cost':5,'prompt':''}");
	expect(j, "time", "'2024-11-02T19:08:00.000Z'");
	json_decref(j);
	/* redeemed without input, skipping the queue, odd title */
	j = inner(POINTS, "{'type':'reward-redeemed','data':{'redemption':{"
	    "'id':'r2','user':{'id':'9','login':'v'},'reward':{'title':'!!!'},"
	    "'status':'FULFILLED'}}}", NULL);
	expect(j, "event_type", "'reward'");
	expect(j, "status", "'fulfilled'");
	expect(j, "user", "{'id':'9','login':'v','name':'v'}");
	json_decref(j);
	/* the other kinds: not published, no crash */
	assert_null(inner(POINTS, "{'type':'custom-reward-updated','data':{"
	    "'timestamp':'x','updated_reward':{'id':'w'}}}", &rc));
	assert_int_equal(rc, 1);
	assert_null(inner(POINTS, "{'type':'update-redemption-statuses-"
	    "finished','data':{'progress':{'id':'p','total':3}}}", &rc));
	assert_int_equal(rc, 1);
	assert_null(inner(POINTS, "{'type':'reward-redeemed','data':null}",
	    &rc));
	assert_int_equal(rc, 1);
	assert_null(inner(POINTS, "{}", &rc));
	assert_int_equal(rc, 1);
}

static const char *sub_docs[] = {
	/* sub */
	"{'user_name':'a','display_name':'A','channel_name':'riverbend',"
	"'user_id':'1','channel_id':'" CHID "','time':'2024-01-01T00:00:00Z',"
	"'sub_message':{'message':'','emotes':null},'sub_plan':'Prime',"
	"'sub_plan_name':'x','months':0,'cumulative_months':1,'context':'sub',"
	"'is_gift':false,'multi_month_duration':0}",
	/* resub, multi-month */
	"{'user_name':'a','user_id':'1','sub_plan':'2000','cumulative_months':"
	"9,'streak_months':3,'context':'resub','is_gift':false,"
	"'multi_month_duration':6,'sub_message':{'message':'hi'}}",
	/* subgift, multi-month gift */
	"{'user_name':'g','display_name':'G','user_id':'2','sub_plan':'1000',"
	"'months':0,'context':'subgift','is_gift':true,'multi_month_duration':"
	"3,'recipient_id':'3','recipient_user_name':'r',"
	"'recipient_display_name':'R'}",
	/* resubgift */
	"{'user_name':'g','user_id':'2','sub_plan':'3000','cumulative_months':"
	"4,'context':'resubgift','is_gift':true,'recipient_id':'3',"
	"'recipient_user_name':'r'}",
	/* anonsubgift: no buyer fields */
	"{'channel_name':'riverbend','sub_plan':'1000','context':'anonsubgift',"
	"'is_gift':true,'recipient_id':'3','recipient_user_name':'r',"
	"'recipient_display_name':'R','multi_month_duration':1}",
	/* anonresubgift with Twitch's placeholder account */
	"{'user_name':'ananonymousgifter','user_id':'274598607','sub_plan':"
	"'1000','context':'anonresubgift','is_gift':true,'recipient_id':'3',"
	"'recipient_user_name':'r','cumulative_months':2}",
};

static void
test_sub_variants(void **state)
{
	static const char *et[] = { "'sub'", "'resub'", "'gift'", "'gift'",
		"'gift'", "'gift'" };
	static const char *tier[] = { "'prime'", "'2000'", "'1000'", "'3000'",
		"'1000'", "'1000'" };
	static const char *dur[] = { "1", "6", "3", "1", "1", "1" };
	static const char *months[] = { "1", "9", "1", "4", "1", "2" };
	static const char *anon[] = { "false", "false", "false", "false",
		"true", "true" };
	(void)state;

	for (size_t i = 0; i < 6; i++) {
		json_t *j = inner(SUBS, sub_docs[i], NULL);
		check_common(j);
		expect(j, "event_type", et[i]);
		expect(j, "tier", tier[i]);
		expect(j, "duration", dur[i]);
		expect(j, "months", months[i]);
		expect(j, "anonymous", anon[i]);
		expect(j, "gift", i >= 2 ? "true" : "false");
		if (i >= 4)
			expect(j, "user", "null");
		if (i >= 2)
			assert_string_equal(json_string_value(json_object_get(
			    json_object_get(j, "recipient"), "id")), "3");
		else
			expect(j, "recipient", "null");
		assert_true(strncmp(json_string_value(json_object_get(j, "id")),
		    "pubsub-", 7) == 0);
		json_decref(j);
	}
	json_t *j = inner(SUBS, sub_docs[1], NULL);
	expect(j, "message", "'hi'");
	json_decref(j);
}

static void
test_mod_variants(void **state)
{
	json_t *j;
	(void)state;

	j = inner(MODS, "{'type':'moderation_action','data':{'type':"
	    "'chat_login_moderation','moderation_action':'timeout','args':["
	    "'spam','600','caps'],'created_by':'m','created_by_user_id':'8',"
	    "'msg_id':'','target_user_id':'7','target_user_login':''}}", NULL);
	expect(j, "event_type", "'timeout'");
	expect(j, "target", "{'id':'7','login':'spam','name':'spam'}");
	expect(j, "duration", "600");
	expect(j, "reason", "'caps'");
	json_decref(j);
	j = inner(MODS, "{'type':'moderation_action','data':{"
	    "'moderation_action':'slow','args':['30'],'created_by':'m',"
	    "'created_by_user_id':'8','target_user_id':''}}", NULL);
	expect(j, "event_type", "'slow'");
	expect(j, "target", "null");
	expect(j, "duration", "30");
	json_decref(j);
	/* a delete without created_by_user_id (TwitchIO: KeyError) */
	j = inner(MODS, "{'type':'moderation_action','data':{'type':"
	    "'chat_targeted_login_moderation','moderation_action':'delete',"
	    "'args':['spam','bad words','mid'],'target_user_id':'7',"
	    "'from_automod':false}}", NULL);
	expect(j, "event_type", "'delete'");
	expect(j, "moderator", "null");
	expect(j, "args", "['spam','bad words','mid']");
	json_decref(j);
	j = inner(MODS, "{'type':'moderation_action','data':{"
	    "'moderation_action':'clear','args':null}}", NULL);
	expect(j, "event_type", "'clear'");
	expect(j, "args", "[]");
	json_decref(j);
	j = inner(MODS, "{'type':'channel_terms_action','data':{'type':"
	    "'delete_blocked_term','id':'t','text':'badword','requester_id':'8',"
	    "'requester_login':'m','channel_id':'" CHID "','expires_at':'',"
	    "'updated_at':'2024-01-01T00:00:00Z','from_automod':false}}", NULL);
	expect(j, "event_type", "'remove_blocked_term'");
	expect(j, "moderator", "{'id':'8','login':'m','name':'m'}");
	expect(j, "args", "['badword']");
	expect(j, "time", "'2024-01-01T00:00:00.000Z'");
	json_decref(j);
	j = inner(MODS, "{'type':'moderator_added','data':{'channel_id':'"
	    CHID "','target_user_id':'5','target_user_login':'newmod',"
	    "'moderation_action':'mod','created_by_user_id':'1',"
	    "'created_by':'boss'}}", NULL);
	expect(j, "event_type", "'mod'");
	expect(j, "target", "{'id':'5','login':'newmod','name':'newmod'}");
	expect(j, "moderator", "{'id':'1','login':'boss','name':'boss'}");
	json_decref(j);
	j = inner(MODS, "{'type':'moderator_removed','data':{'target_user_id':"
	    "'5','target_user_login':'newmod','moderation_action':'unmod',"
	    "'created_by_user_id':'1','created_by':'boss'}}", NULL);
	expect(j, "event_type", "'unmod'");
	json_decref(j);
	j = inner(MODS, "{'type':'vip_added','data':{'channel_id':'" CHID "',"
	    "'target_user_id':'6','target_user_login':'vipper',"
	    "'created_by_user_id':'1','created_by':'boss'}}", NULL);
	expect(j, "event_type", "'vip'");
	expect(j, "target", "{'id':'6','login':'vipper','name':'vipper'}");
	json_decref(j);
	j = inner(MODS, "{'type':'approve_unban_request','data':{"
	    "'moderation_action':'APPROVE_UNBAN_REQUEST','created_by_id':'8',"
	    "'created_by_login':'m','moderator_message':'ok, be nice',"
	    "'target_user_id':'7','target_user_login':'spam'}}", NULL);
	expect(j, "event_type", "'approve_unban_request'");
	expect(j, "moderator", "{'id':'8','login':'m','name':'m'}");
	expect(j, "reason", "'ok, be nice'");
	json_decref(j);
	j = inner(MODS, "{'type':'deny_unban_request','data':{"
	    "'moderation_action':'DENY_UNBAN_REQUEST','created_by_id':'8',"
	    "'created_by_login':'m','target_user_id':'7'}}", NULL);
	expect(j, "event_type", "'deny_unban_request'");
	expect(j, "reason", "null");
	json_decref(j);
	j = inner(MODS, "{'type':'shiny_new_thing','data':{'x':1,"
	    "'created_by_id':'8','created_by_login':'m'}}", NULL);
	expect(j, "event_type", "'shiny_new_thing'");
	expect(j, "data", "{'x':1,'created_by_id':'8','created_by_login':'m'}");
	expect(j, "moderator", "{'id':'8','login':'m','name':'m'}");
	json_decref(j);
	j = inner(MODS, "{}", NULL);
	expect(j, "event_type", "'unknown'");
	json_decref(j);
}

static void
test_whisper_variants(void **state)
{
	json_t *j;
	int rc;
	(void)state;

	/* only the string layer (data), no data_object */
	j = inner("whispers.88112077", "{'type':'whisper_received','data':"
	    "'{\\'message_id\\':\\'w2\\',\\'body\\':\\'hey\\',\\'from_id\\':5,"
	    "\\'tags\\':{\\'login\\':\\'x\\'},\\'recipient\\':{\\'id\\':88112077,"
	    "\\'username\\':\\'mossy_owl\\'}}'}", &rc);
	assert_int_equal(rc, 0);
	expect(j, "id", "'w2'");
	expect(j, "message", "'hey'");
	expect(j, "user", "{'id':'5','login':'x','name':'x'}");
	expect(j, "channel", "{'id':'88112077','login':'mossy_owl','name':'mossy_owl'}");
	json_decref(j);
	assert_null(inner("whispers.1", "{'type':'whisper_sent','data_object':"
	    "{'body':'x'}}", &rc));
	assert_int_equal(rc, 1);
	assert_null(inner("whispers.1", "{'type':'thread','data':'{}'}", &rc));
	assert_int_equal(rc, 1);
	assert_null(inner("whispers.1", "{'type':'whisper_received','data':"
	    "'not json'}", &rc));
	assert_int_equal(rc, 1);
}

static void
test_garbage(void **state)
{
	int rc;
	struct br_event *ev;
	char err[128];
	(void)state;

	assert_null(inner("unknown-topic.1", "{}", &rc));
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(br_pubsub_normalize(BITS, "\"{}\"", 4, &chan, "pubsub",
	    &ev, err, sizeof err), -EINVAL);
	assert_null(ev);
	assert_int_equal(br_pubsub_normalize(BITS, "[1]", 3, &chan, "pubsub",
	    &ev, err, sizeof err), -EINVAL);
	/* no channel known anywhere */
	assert_int_equal(br_pubsub_normalize(MODS, "{}", 2, NULL, "pubsub",
	    &ev, err, sizeof err), -EINVAL);
	/* the same content twice: the same derived id */
	json_t *a = inner(SUBS, sub_docs[0], NULL), *b = inner(SUBS,
	    sub_docs[0], NULL);
	assert_true(json_equal(json_object_get(a, "id"), json_object_get(b,
	    "id")));
	json_decref(a);
	json_decref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_md_frames),
		cmocka_unit_test(test_md_bits),
		cmocka_unit_test(test_md_others),
		cmocka_unit_test(test_bits_variants),
		cmocka_unit_test(test_points_variants),
		cmocka_unit_test(test_sub_variants),
		cmocka_unit_test(test_mod_variants),
		cmocka_unit_test(test_whisper_variants),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
