#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <limits.h>
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

/* br_json_compact must write exactly what json_dumps writes. */
static void
check_compact(const json_t *j)
{
	size_t len = 0;
	char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *got = br_json_compact(j, &len);
	if (want == NULL) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
	}
	free(want);
	free(got);
}

static void
test_compact_matches_jansson(void **state)
{
	static const char *const types[] = { "bits", "bits_badge",
		"channel_points", "channel_points_update", "subscription",
		"follow", "raid", "stream", "channel_update", "moderation",
		"whisper", "hype_train", "poll", "prediction", "ad_break",
		"power_up", "chat", "user_update" };
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		for (uint64_t n = 0; n < 6; n++) {
			struct br_event *ev = br_sample_event(types[i], "demo",
			    "1", "demo", "Demo", n);
			check_compact(br_event_json(ev));
			br_event_free(ev);
		}

	char all[128];
	for (int c = 0; c < 128; c++)
		all[c] = (char)c;
	json_t *o = json_object();
	json_object_set_new(o, "ascii", json_stringn(all, sizeof all));
	json_object_set_new(o, "k\"\\\n\x01/", json_string("q\"b\\s/\x7f"));
	json_object_set_new(o, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac "
	    "\xf0\x9f\x98\x80 \xe2\x80\xa8"));
	json_object_set_new(o, "nul", json_stringn("a\0b", 3));
	json_object_set_new(o, "ints", json_pack("[I,I,I,I,I]", (json_int_t)0,
	    (json_int_t)-1, (json_int_t)1234567890123LL, (json_int_t)LLONG_MAX,
	    (json_int_t)LLONG_MIN));
	json_object_set_new(o, "lits", json_pack("[b,b,n,{},[]]", 1, 0));
	json_object_set_new(o, "", json_string(""));
	check_compact(o);
	/* longer than the encoder's stack buffer, escapes included */
	char big[5000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = "ab\n\"c\x01\xc3\xa9"[i % 8];
	json_t *long_one = json_pack("{s:s%,s:[s%,i]}", "big", big, sizeof big,
	    "again", big, sizeof big / 2, 7);
	assert_non_null(long_one);
	check_compact(long_one);
	json_decref(long_one);
	/* what it leaves to jansson: reals, invalid UTF-8, deep nesting */
	json_object_set_new(o, "real", json_real(0.1));
	check_compact(o);
	json_object_del(o, "real");
	json_object_set_new(o, "bad", json_stringn_nocheck("\xc0\xaf", 2));
	check_compact(o);               /* json_dumps refuses: NULL */
	json_object_del(o, "bad");
	json_t *deep = json_array(), *inner = deep;
	for (int d = 0; d < 40; d++) {
		json_t *a = json_array();
		json_array_append_new(inner, a);
		inner = a;
	}
	json_object_set_new(o, "deep", deep);
	check_compact(o);
	check_compact(deep);
	json_decref(o);
	json_t *empty = json_object();
	check_compact(empty);
	json_decref(empty);

	/* random trees of random strings: valid UTF-8 of every length, and
	 * raw bytes (unchecked, so also invalid UTF-8) */
	srand(1);
	for (int round = 0; round < 3000; round++) {
		json_t *root = json_object();
		for (int k = 0; k < 8; k++) {
			char buf[64];
			size_t n = 0;
			for (int c = rand() % 12; c > 0; c--) {
				static const uint32_t top[] = { 0x80, 0x800,
					0x10000, 0x110000 };
				uint32_t cp = (uint32_t)rand() % top[rand() % 4];
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = '?';
				if (cp < 0x80) {
					buf[n++] = (char)cp;
				} else if (cp < 0x800) {
					buf[n++] = (char)(0xc0 | cp >> 6);
					buf[n++] = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					buf[n++] = (char)(0xe0 | cp >> 12);
					buf[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
					buf[n++] = (char)(0x80 | (cp & 0x3f));
				} else {
					buf[n++] = (char)(0xf0 | cp >> 18);
					buf[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
					buf[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
					buf[n++] = (char)(0x80 | (cp & 0x3f));
				}
			}
			char key[8];
			snprintf(key, sizeof key, "k%d", k);
			json_t *v = rand() % 4 == 0
			    ? json_integer(rand() - RAND_MAX / 2)
			    : json_pack("[s%]", buf, n);
			assert_non_null(v);
			json_object_set_new(root, key, v);
		}
		if (round % 2 == 0) {
			char raw[6];
			for (size_t b = 0; b < sizeof raw; b++)
				raw[b] = (char)(rand() % 256);
			json_object_set_new(root, "raw",
			    json_stringn_nocheck(raw, sizeof raw));
		}
		check_compact(root);
		json_decref(root);
	}
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
		cmocka_unit_test(test_compact_matches_jansson),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
