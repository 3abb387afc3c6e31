/*
 * Control request parsing (CONTRACT section 5): what is accepted, and the
 * exact sentence a user gets back for what is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "request.h"

static struct br_request *
parse(const char *action, const char *payload)
{
	return br_request_parse(action, payload, strlen(payload));
}

struct bad {
	const char *action, *payload, *error;   /* error: a substring */
};

static const struct bad bad_requests[] = {
	/* payload shape */
	{ "subscribe", "", "payload is empty; send a JSON object like "
	  "{\"channel\":\"cool_streamer\"} or a bare channel name" },
	{ "simulate", "  ", "payload is empty; send a JSON object like "
	  "{\"channel\":\"cool_streamer\",\"type\":\"bits\"}" },
	{ "subscribe", "{\"channel\":", "payload is not valid JSON (line 1, "
	  "column 11: " },
	{ "subscribe", "cool streamer", "payload is not valid JSON" },
	{ "health", "hello", "payload is not valid JSON" },
	{ "subscribe", "[\"cool_streamer\"]", "subscribe needs a JSON object "
	  "like {\"channel\":\"cool_streamer\"} or a bare channel name, got "
	  "an array" },
	{ "simulate", "cool_streamer", "payload is not valid JSON" },
	{ "simulate", "\"cool_streamer\"", "simulate needs a JSON object like "
	  "{\"channel\":\"cool_streamer\",\"type\":\"bits\"}, got a string" },
	{ "health", "[]", "health needs a JSON object such as {} or an empty "
	  "payload, got an array" },
	{ "subscribe", "{\"channel\":\"a\",\"channel\":\"b\"}",
	  "payload is not valid JSON (line 1, column 24: duplicate object "
	  "key)" },
	{ "subscribe", "\"a-b\"", "subscribe needs a JSON object" },
	/* action */
	{ "subscrbe", "{}", "unknown action 'subscrbe'; accepted: subscribe, "
	  "unsubscribe, subscriptions, health, simulate" },
	{ "", "{}", "unknown action ''" },
	/* keys */
	{ "subscribe", "{\"channel\":\"x\",\"event\":[\"bits\"]}",
	  "unknown key 'event' for subscribe (did you mean 'events'?); "
	  "accepted: channel, channel_id, events, transport, token, "
	  "refresh_token, moderator_id, transaction" },
	{ "health", "{\"verbose\":true}", "unknown key 'verbose' for health; "
	  "accepted: transaction" },
	{ "unsubscribe", "{\"channel\":\"x\",\"token\":\"abc\"}",
	  "unknown key 'token' for unsubscribe; accepted: channel, "
	  "channel_id, events, transport, transaction" },
	{ "simulate", "{\"channel\":\"x\",\"type\":\"bits\",\"events\":[]}",
	  "unknown key 'events' for simulate" },
	/* channel */
	{ "subscribe", "{}", "subscribe needs channel (a Twitch login) or "
	  "channel_id" },
	{ "unsubscribe", "{\"events\":[\"bits\"]}", "unsubscribe needs channel" },
	{ "subscribe", "{\"channel\":42}", "channel must be a string (a Twitch "
	  "login), got an integer" },
	{ "subscribe", "{\"channel\":\"\"}", "channel must be a Twitch login of "
	  "1-25 letters, digits or underscores, got ''" },
	{ "subscribe", "{\"channel\":\"#cool\"}", "got '#cool'" },
	{ "subscribe", "{\"channel\":\"abcdefghijklmnopqrstuvwxyz\"}",
	  "channel must be a Twitch login" },
	{ "subscribe", "{\"channel\":\"k\\u00e4se\"}", "got 'k\\xc3\\xa4se'" },
	{ "subscribe", "{\"channel_id\":\"12a\"}", "channel_id must be a Twitch "
	  "user id of 1-20 digits, got '12a'" },
	{ "subscribe", "{\"channel_id\":-5}", "channel_id must be a Twitch user "
	  "id (digits), got -5" },
	{ "subscribe", "{\"channel_id\":1.5}", "channel_id must be a string of "
	  "digits (a Twitch user id), got a number" },
	/* transport */
	{ "subscribe", "{\"channel\":\"x\",\"transport\":\"irc\"}",
	  "unknown transport 'irc'; accepted: websocket, webhook, pubsub, "
	  "websub, demo" },
	{ "subscribe", "{\"channel\":\"x\",\"transport\":true}", "transport "
	  "must be a string, got a boolean; accepted: websocket, webhook, "
	  "pubsub, websub, demo" },
	/* events */
	{ "subscribe", "{\"channel\":\"x\",\"events\":[]}", "events is empty; "
	  "name at least one event, or leave events out for the defaults "
	  "(bits, channel_points, subscription, follow, raid, stream)" },
	{ "unsubscribe", "{\"channel\":\"x\",\"events\":[]}", "events is "
	  "empty; name at least one event, or leave events out to remove all "
	  "of the channel's events" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":\"bits\"}", "events must "
	  "be an array of event names like [\"bits\",\"raid\"], got a string" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":[\"bits\",7]}",
	  "events[1] must be a string (an event name), got an integer" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":[\"raid\",\"raid\"]}",
	  "events lists 'raid' twice" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":[\"bitz\"]}",
	  "unknown event 'bitz' for transport websocket; accepted: bits, "
	  "bits_badge, channel_points, channel_points_update, subscription, "
	  "follow, raid, stream, channel_update, moderation, whisper, "
	  "hype_train, poll, prediction, ad_break, power_up, chat, "
	  "user_update, or an EventSub type such as channel.shoutout.create" },
	{ "subscribe", "{\"channel\":\"x\",\"transport\":\"pubsub\","
	  "\"events\":[\"follow\"]}", "event 'follow' is not available on "
	  "transport pubsub; accepted there: bits, bits_badge, channel_points, "
	  "channel_points_update, subscription, moderation, whisper" },
	{ "subscribe", "{\"channel\":\"x\",\"transport\":\"pubsub\","
	  "\"events\":[\"channel.shoutout.create\"]}", "EventSub type "
	  "'channel.shoutout.create' needs transport websocket or webhook; "
	  "pubsub accepts: " },
	{ "subscribe", "{\"channel\":\"x\",\"transport\":\"websub\","
	  "\"events\":[\"bits\"]}", "accepted there: follow, stream, "
	  "user_update" },
	{ "subscribe", "{\"channel\":\"x\",\"transport\":\"demo\","
	  "\"events\":[\"whisper\"]}", "accepted there: bits, channel_points, "
	  "subscription, follow, raid, stream" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":[\"Channel.Follow\"]}",
	  "unknown event 'Channel.Follow'" },
	{ "subscribe", "{\"channel\":\"x\",\"events\":[\"channel.\"]}",
	  "unknown event 'channel.'" },
	{ "unsubscribe", "{\"channel\":\"x\",\"events\":[\"nope\"]}",
	  "unknown event 'nope' for transport websocket" },
	/* simulate */
	{ "simulate", "{\"channel\":\"x\"}", "simulate needs type, the event "
	  "type to publish; accepted: bits, bits_badge, " },
	{ "simulate", "{\"channel\":\"x\",\"type\":\"cheer\"}", "unknown type "
	  "'cheer' for simulate; accepted: bits, " },
	{ "simulate", "{\"channel\":\"x\",\"type\":\"channel.follow\"}",
	  "unknown type 'channel.follow'" },
	{ "simulate", "{\"type\":\"bits\"}", "simulate needs channel" },
	{ "simulate", "{\"channel\":\"x\",\"type\":[\"bits\"]}", "type must be "
	  "a string, got an array" },
	/* token and moderator_id */
	{ "subscribe", "{\"channel\":\"x\",\"token\":\"\"}", "token is empty; "
	  "give a user access token or leave token out to use the bridge's "
	  "own" },
	{ "subscribe", "{\"channel\":\"x\",\"token\":5}", "token must be a "
	  "string (a user access token), got an integer" },
	/* refresh_token: an extension, only beside token */
	{ "subscribe", "{\"channel\":\"x\",\"refresh_token\":\"r1\"}",
	  "refresh_token needs token: give the user access token it belongs "
	  "to as token, or leave refresh_token out" },
	{ "subscribe", "{\"channel\":\"x\",\"token\":\"a\",\"refresh_token\":"
	  "\"\"}", "refresh_token is empty; give the refresh token that came "
	  "with token, or leave refresh_token out" },
	{ "subscribe", "{\"channel\":\"x\",\"token\":\"a\",\"refresh_token\":"
	  "[\"r\"]}", "refresh_token must be a string (the refresh token that "
	  "came with token), got an array" },
	{ "subscribe", "{\"channel\":\"x\",\"token\":\"a\",\"refresh_token\":"
	  "\"r 1\"}", "refresh_token must be at most 512 printable characters "
	  "without spaces" },
	{ "unsubscribe", "{\"channel\":\"x\",\"refresh_token\":\"r\"}",
	  "unknown key 'refresh_token' for unsubscribe" },
	{ "subscribe", "{\"channel\":\"x\",\"moderator_id\":\"mod\"}",
	  "moderator_id must be a Twitch user id of 1-20 digits, got 'mod'" },
};

static void
test_bad_requests(void **state)
{
	size_t n = sizeof bad_requests / sizeof bad_requests[0];

	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		const struct bad *b = &bad_requests[i];
		struct br_request *r = parse(b->action, b->payload);
		if (strstr(r->error, b->error) == NULL)
			fail_msg("%s %s\n  got:  %s\n  want: %s", b->action,
			    b->payload, r->error, b->error);
		br_request_free(r);
	}
}

static void
test_exact_sentence(void **state)
{
	struct br_request *r = parse("subscribe",
	    "{\"channel\":\"x\",\"transport\":\"smoke signals\"}");

	assert_string_equal(r->error, "unknown transport 'smoke signals'; "
	    "accepted: websocket, webhook, pubsub, websub, demo");
	br_request_free(r);
}

static void
test_bare_name(void **state)
{
	struct br_request *r = parse("subscribe", "  Cool_Streamer\n");

	assert_string_equal(r->error, "");
	assert_int_equal(r->action, BR_ACTION_SUBSCRIBE);
	assert_string_equal(r->channel, "cool_streamer");
	assert_null(r->channel_id);
	assert_string_equal(r->transport, "websocket");
	assert_int_equal(r->n_events, br_n_default_events);
	for (size_t i = 0; i < r->n_events; i++)
		assert_string_equal(r->events[i], br_default_events[i]);
	assert_null(r->transaction);
	br_request_free(r);

	r = parse("unsubscribe", "cool_streamer");
	assert_string_equal(r->error, "");
	assert_string_equal(r->channel, "cool_streamer");
	assert_string_equal(r->transport, "websocket");
	assert_null(r->events);
	assert_int_equal(r->n_events, 0);
	br_request_free(r);

	/* A JSON string holding a login means the same. */
	r = parse("subscribe", "\"cool_streamer\"");
	assert_string_equal(r->error, "");
	assert_string_equal(r->channel, "cool_streamer");
	br_request_free(r);
}

static void
test_full_subscribe(void **state)
{
	struct br_request *r = parse("subscribe", "{\"channel\":\"Cool_Streamer\","
	    "\"channel_id\":1337,\"events\":[\"bits\",\"channel.shoutout.create\"],"
	    "\"transport\":\"webhook\",\"token\":\"abc123\","
	    "\"refresh_token\":\"def456\",\"moderator_id\":\"42\","
	    "\"transaction\":\"t1\"}");

	assert_string_equal(r->error, "");
	assert_string_equal(r->channel, "cool_streamer");
	assert_string_equal(r->channel_id, "1337");
	assert_string_equal(r->transport, "webhook");
	assert_int_equal(r->n_events, 2);
	assert_string_equal(r->events[0], "bits");
	assert_string_equal(r->events[1], "channel.shoutout.create");
	assert_string_equal(r->token, "abc123");
	assert_string_equal(r->refresh_token, "def456");
	assert_string_equal(r->moderator_id, "42");
	assert_string_equal(json_string_value(r->transaction), "t1");
	br_request_free(r);
}

static void
test_channel_id_only(void **state)
{
	struct br_request *r = parse("unsubscribe",
	    "{\"channel_id\":\"1337\",\"events\":[\"raid\"],\"transport\":\"webhook\"}");

	assert_string_equal(r->error, "");
	assert_null(r->channel);
	assert_string_equal(r->channel_id, "1337");
	assert_int_equal(r->n_events, 1);
	assert_string_equal(r->events[0], "raid");
	br_request_free(r);
}

static void
test_transaction_echoed_on_error(void **state)
{
	struct br_request *r = parse("subscribe",
	    "{\"channel\":\"x\",\"events\":[],\"transaction\":{\"n\":7}}");

	assert_string_not_equal(r->error, "");
	assert_true(json_is_object(r->transaction));
	assert_int_equal(json_integer_value(json_object_get(r->transaction,
	    "n")), 7);
	br_request_free(r);

	/* Even when the action itself is a typo. */
	r = parse("subscrib", "{\"transaction\":[1,2]}");
	assert_string_not_equal(r->error, "");
	assert_true(json_is_array(r->transaction));
	br_request_free(r);

	/* null is a transaction too, and is echoed as null. */
	r = parse("health", "{\"transaction\":null,\"x\":1}");
	assert_true(json_is_null(r->transaction));
	br_request_free(r);
}

static void
test_empty_payload_means_object(void **state)
{
	struct br_request *r = parse("subscriptions", "");

	assert_string_equal(r->error, "");
	assert_int_equal(r->action, BR_ACTION_SUBSCRIPTIONS);
	assert_null(r->transport);
	br_request_free(r);
	r = parse("health", " {} ");
	assert_string_equal(r->error, "");
	br_request_free(r);
	r = br_request_parse("health", NULL, 0);
	assert_string_equal(r->error, "");
	br_request_free(r);
}

static void
test_simulate(void **state)
{
	struct br_request *r = parse("simulate",
	    "{\"channel\":\"Cool_Streamer\",\"type\":\"power_up\"}");

	assert_string_equal(r->error, "");
	assert_string_equal(r->type, "power_up");
	assert_string_equal(r->channel, "cool_streamer");
	br_request_free(r);
}

/* Neither token must ever come back in an answer, whatever is wrong. */
static void
test_token_never_in_errors(void **state)
{
	static const char *const payloads[] = {
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken\",\"events\":[\"bitz\"]}",
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken with space\"}",
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken",
		"{\"token\":\"s3cr3t_t0ken\" \"channel\":\"x\"}",
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken\",\"bad\":1}",
		"{\"channel\":\"x\",\"refresh_token\":\"s3cr3t_r3fresh\"}",
		"{\"channel\":\"x\",\"token\":\"a\",\"refresh_token\":"
		    "\"s3cr3t_r3fresh with space\"}",
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken\",\"refresh_token\":"
		    "\"s3cr3t_r3fresh\",\"events\":[\"bitz\"]}",
		"{\"channel\":\"x\",\"token\":\"s3cr3t_t0ken\",\"refresh_token\":"
		    "\"s3cr3t_r3fresh\",\"refresh_token\":\"s3cr3t_r3fresh\"}",
		"{\"channel\":\"x\",\"refresh_token\":\"s3cr3t_r3fresh\"",
		"s3cr3t_t0ken",                 /* valid: a bare channel */
	};
	size_t n = sizeof payloads / sizeof payloads[0];

	for (size_t i = 0; i < n; i++) {
		struct br_request *r = parse("subscribe", payloads[i]);
		if (i < n - 1)
			assert_string_not_equal(r->error, "");
		assert_null(strstr(r->error, "s3cr3t"));
		br_request_free(r);
	}
}

static void
test_eventsub_types(void **state)
{
	assert_true(br_event_allowed("websocket", "channel.shoutout.create"));
	assert_true(br_event_allowed("webhook", "channel.shoutout.create"));
	assert_false(br_event_allowed("pubsub", "channel.shoutout.create"));
	assert_false(br_event_allowed("websub", "channel.shoutout.create"));
	assert_false(br_event_allowed("demo", "channel.shoutout.create"));
	assert_false(br_event_allowed("websocket", "channel"));
	assert_false(br_event_allowed("websocket", ".channel.x"));
	assert_false(br_event_allowed("websocket", "channel..x"));
	assert_false(br_event_allowed("websocket", "channel.x1"));
	assert_true(br_event_allowed("pubsub", "whisper"));
	assert_false(br_event_allowed("pubsub", "raid"));
	assert_true(br_event_allowed("websub", "user_update"));
	assert_false(br_event_allowed("nope", "bits"));
	assert_false(br_event_allowed(NULL, "bits"));

	struct br_request *r = parse("subscribe", "{\"channel\":\"x\","
	    "\"transport\":\"pubsub\",\"events\":[\"moderation\",\"whisper\"]}");
	assert_string_equal(r->error, "");
	assert_int_equal(r->n_events, 2);
	br_request_free(r);
}

static void
test_login(void **state)
{
	assert_true(br_login_ok("a"));
	assert_true(br_login_ok("Cool_Streamer_123"));
	assert_true(br_login_ok("abcdefghijklmnopqrstuvwxy"));
	assert_false(br_login_ok("abcdefghijklmnopqrstuvwxyz"));
	assert_false(br_login_ok(""));
	assert_false(br_login_ok(NULL));
	assert_false(br_login_ok("a-b"));
	assert_false(br_login_ok("a b"));
}

static void
test_limits(void **state)
{
	size_t big = BR_REQUEST_MAX_PAYLOAD + 1;
	char *p = malloc(big);
	struct br_request *r;

	memset(p, ' ', big);
	r = br_request_parse("subscribe", p, big);
	assert_string_equal(r->error, "payload is too large (65537 bytes); at "
	    "most 65536 bytes are accepted");
	br_request_free(r);
	free(p);

	r = br_request_parse("subscribe", "ab\0cd", 5);
	assert_string_equal(r->error, "payload contains a NUL byte; send a "
	    "JSON object");
	br_request_free(r);

	r = parse("subscribe", "{\"channel\":\"\xc3\x28\"}");
	assert_string_equal(r->error, "payload is not valid UTF-8; send a "
	    "JSON object");
	br_request_free(r);

	json_t *a = json_array();
	for (int i = 0; i <= BR_REQUEST_MAX_EVENTS; i++)
		json_array_append_new(a, json_string("bits"));
	json_t *o = json_pack("{s:s,s:o}", "channel", "x", "events", a);
	r = br_request_from_json(BR_ACTION_SUBSCRIBE, o);
	assert_string_equal(r->error, "events has 65 entries; at most 64 are "
	    "accepted");
	br_request_free(r);
	json_decref(o);
}

static void
test_quote(void **state)
{
	char q[BR_QUOTE_MAX + 8], big[200];
	struct br_request *r;

	br_quote(q, sizeof q, "a'b\\c\n\x7f");
	assert_string_equal(q, "a\\x27b\\x5cc\\x0a\\x7f");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	br_quote(q, sizeof q, big);
	assert_int_equal(strlen(q), BR_QUOTE_MAX + 3);
	assert_string_equal(q + BR_QUOTE_MAX, "...");

	char payload[300];
	snprintf(payload, sizeof payload, "{\"channel\":\"x\",\"transport\":"
	    "\"%s\"}", big);
	r = parse("subscribe", payload);
	assert_true(strlen(r->error) < 200);
	assert_non_null(strstr(r->error, "xxx...'"));
	br_request_free(r);
}

static void
test_from_json(void **state)
{
	json_t *o = json_pack("{s:s,s:[s]}", "channel", "Other", "events",
	    "raid");
	struct br_request *r = br_request_from_json(BR_ACTION_SUBSCRIBE, o);

	assert_string_equal(r->error, "");
	assert_string_equal(r->channel, "other");
	assert_int_equal(r->n_events, 1);
	br_request_free(r);
	json_decref(o);

	o = json_integer(3);
	r = br_request_from_json(BR_ACTION_SUBSCRIBE, o);
	assert_string_equal(r->error, "subscribe needs a JSON object like "
	    "{\"channel\":\"cool_streamer\"} or a bare channel name, got an "
	    "integer");
	br_request_free(r);
	json_decref(o);

	r = br_request_from_json(BR_ACTION_SUBSCRIBE, NULL);
	assert_string_not_equal(r->error, "");
	br_request_free(r);

	assert_string_equal(br_action_name(BR_ACTION_HEALTH), "health");
	assert_string_equal(br_action_name((enum br_action)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_exact_sentence),
		cmocka_unit_test(test_bare_name),
		cmocka_unit_test(test_full_subscribe),
		cmocka_unit_test(test_channel_id_only),
		cmocka_unit_test(test_transaction_echoed_on_error),
		cmocka_unit_test(test_empty_payload_means_object),
		cmocka_unit_test(test_simulate),
		cmocka_unit_test(test_token_never_in_errors),
		cmocka_unit_test(test_eventsub_types),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_from_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
