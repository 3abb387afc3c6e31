#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event.h"
#include "sample.h"
#include "topic.h"
#include "util.h"

static void
test_common_fields_in_contract_order(void **state)
{
	struct br_event *ev = br_event_new("bits", "cheer", "eventsub-websocket");
	br_event_set_id(ev, "m1");
	br_event_set_time_ms(ev, 1795292107123LL);
	br_event_set_channel(ev, "1337", "Cool_Streamer", "Cool_Streamer");
	br_event_set_user(ev, "9001", "happy_viewer", "Happy_Viewer");
	json_object_set_new(br_event_json(ev), "bits", json_integer(100));
	/* setting a common field again keeps its place */
	br_event_set_id(ev, "m2");
	char *s = br_event_dump(ev, NULL);
	assert_string_equal(s,
	    "{\"id\":\"m2\",\"type\":\"bits\",\"event_type\":\"cheer\","
	    "\"source\":\"eventsub-websocket\",\"time\":\"2026-11-21T20:15:07.123Z\","
	    "\"test\":false,\"channel\":{\"id\":\"1337\",\"login\":\"cool_streamer\","
	    "\"name\":\"Cool_Streamer\"},\"user\":{\"id\":\"9001\",\"login\":"
	    "\"happy_viewer\",\"name\":\"Happy_Viewer\"},\"bits\":100}");
	assert_string_equal(br_event_channel_login(ev), "cool_streamer");
	assert_string_equal(br_event_topic_leaf(ev), "bits");
	free(s);
	br_event_free(ev);
}

static void
test_anonymous_user_is_null(void **state)
{
	struct br_event *ev = br_event_new("bits", "cheer", "demo");
	br_event_set_user(ev, NULL, "", "");
	assert_true(json_is_null(json_object_get(br_event_json(ev), "user")));
	json_t *u = br_user_json("", NULL, "x");
	assert_true(json_is_null(u));
	br_event_free(ev);
}

static void
test_topic_leaf_override(void **state)
{
	struct br_event *ev = br_event_new("eventsub", NULL, "eventsub-webhook");
	br_event_set_topic_leaf(ev, "eventsub/channel.shoutout.create");
	assert_string_equal(br_event_topic_leaf(ev),
	    "eventsub/channel.shoutout.create");
	assert_true(json_is_null(json_object_get(br_event_json(ev),
	    "event_type")));
	br_event_free(ev);
}

static void
check_slug(const char *title, const char *want)
{
	char out[64];
	br_slug(title, out, sizeof out);
	assert_string_equal(out, want);
}

static void
test_slug(void **state)
{
	check_slug("Hydrate!", "hydrate");
	check_slug("Lights: purple", "lights_purple");
	check_slug("  --Play   a SOUND--  ", "play_a_sound");
	check_slug("!!!", "reward");
	check_slug("", "reward");
	check_slug(NULL, "reward");
	check_slug("Café au lait", "caf_au_lait");
	check_slug("100% Hype", "100_hype");
}

static void
test_time_format_and_parse(void **state)
{
	char buf[BR_TIME_LEN];
	int64_t ms;
	br_format_time(buf, 1795292107123LL);
	assert_string_equal(buf, "2026-11-21T20:15:07.123Z");
	assert_int_equal(br_parse_time("2026-11-21T20:15:07.123Z", &ms), 0);
	assert_int_equal(ms, 1795292107123LL);
	assert_int_equal(br_parse_time("2026-11-21T20:15:07Z", &ms), 0);
	assert_int_equal(ms, 1795292107000LL);
	assert_int_equal(br_parse_time("2026-11-21T20:15:07.123456789Z", &ms), 0);
	assert_int_equal(ms, 1795292107123LL);
	assert_int_equal(br_parse_time("2026-11-21T21:15:07.5+01:00", &ms), 0);
	assert_int_equal(ms, 1795292107500LL);
	assert_int_equal(br_parse_time("2026-11-21T20:15:07.Z", &ms), -1);
	assert_int_equal(br_parse_time("2026-13-21T20:15:07Z", &ms), -1);
	assert_int_equal(br_parse_time("yesterday", &ms), -1);
	assert_int_equal(br_parse_time("2026-11-21T20:15:07.1234567890Z", &ms), -1);
	assert_int_equal(br_parse_time("", &ms), -1);
}

static void
test_topics(void **state)
{
	char t[64];
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "demo", "bits"), 0);
	assert_string_equal(t, "twitch/demo/bits");
	assert_int_equal(br_topic_channel(t, sizeof t, "home/twitch", "demo",
	    "eventsub/channel.shoutout.create"), 0);
	assert_string_equal(t, "home/twitch/demo/eventsub/channel.shoutout.create");
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "a+b", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "a#", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "a/b", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "demo", "a//b"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, sizeof t, "twitch", "\xff", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_channel(t, 12, "twitch", "demo", "bits"),
	    -EINVAL);
	assert_int_equal(br_topic_bridge(t, sizeof t, "twitch", "state"), 0);
	assert_string_equal(t, "twitch/bridge/state");
	assert_true(br_topic_level_ok("caf\xc3\xa9"));
	assert_false(br_topic_level_ok("\xc0\xaf"));    /* overlong '/' */
	assert_false(br_topic_level_ok("\xed\xa0\x80")); /* surrogate */
}

static void
test_samples_cover_every_type(void **state)
{
	static const char *const types[] = { "bits", "bits_badge",
		"channel_points", "channel_points_update", "subscription",
		"follow", "raid", "stream", "channel_update", "moderation",
		"whisper", "hype_train", "poll", "prediction", "ad_break",
		"power_up", "chat", "user_update" };
	for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
		struct br_event *ev = br_sample_event(types[i], "demo", "1",
		    "demo", "Demo", i);
		assert_non_null(ev);
		json_t *o = br_event_json(ev);
		assert_string_equal(json_string_value(json_object_get(o, "type")),
		    types[i]);
		assert_true(json_is_string(json_object_get(o, "event_type")));
		assert_true(json_is_true(json_object_get(o, "test")));
		assert_int_equal(strlen(br_event_id(ev)), 36);
		assert_null(json_object_get(o, "event_types"));
		br_event_free(ev);
	}
	assert_null(br_sample_event("nope", "demo", "1", "d", "D", 0));
}

static void
test_sample_redemption_slug(void **state)
{
	struct br_event *ev = br_sample_event("channel_points", "demo", "1",
	    "demo", "Demo", 0);
	json_t *o = br_event_json(ev);
	assert_string_equal(json_string_value(json_object_get(o, "event_type")),
	    "hydrate");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(o, "reward"), "title")), "Hydrate!");
	br_event_free(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_common_fields_in_contract_order),
		cmocka_unit_test(test_anonymous_user_is_null),
		cmocka_unit_test(test_topic_leaf_override),
		cmocka_unit_test(test_slug),
		cmocka_unit_test(test_time_format_and_parse),
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_samples_cover_every_type),
		cmocka_unit_test(test_sample_redemption_slug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
