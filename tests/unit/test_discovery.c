#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "discovery.h"
#include "sample.h"

static const struct br_disc_options opts = { "twitch", "homeassistant",
	"9.9.9" };

#define PFX "homeassistant/"
#define NODE "twitch_1337"

static json_t *
build(const char *events_json, json_t *rewards)
{
	json_t *events = json_loads(events_json, 0, NULL);
	struct br_disc_channel ch = { "1337", "cool_streamer", "Cool_Streamer",
		events, rewards };
	json_t *out = br_disc_channel(&opts, &ch);
	json_decref(events);
	return out;
}

static json_t *
three_rewards(void)
{
	return json_loads("[{\"id\":\"r-1\",\"title\":\"Hydrate!\"},"
	    "{\"id\":\"r-2\",\"title\":\"Lights: purple\"},"
	    "{\"id\":\"r-3\",\"title\":\"Play a sound\"}]", 0, NULL);
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
test_channel_topics(void **state)
{
	json_t *rw = three_rewards();
	json_t *out = build("[\"bits\",\"channel_points\",\"stream\"]", rw);
	const char *want[] = {
		PFX "binary_sensor/" NODE "/live/config",
		PFX "sensor/" NODE "/title/config",
		PFX "sensor/" NODE "/category/config",
		PFX "event/" NODE "/bits/config",
		PFX "event/" NODE "/channel_points/config",
		PFX "event/" NODE "/stream/config",
		PFX "device_automation/" NODE "/reward_r-1/config",
		PFX "device_automation/" NODE "/reward_r-2/config",
		PFX "device_automation/" NODE "/reward_r-3/config",
	};

	assert_int_equal(json_object_size(out), sizeof want / sizeof *want);
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		assert_non_null(json_object_get(out, want[i]));
	json_decref(out);
	json_decref(rw);
}

static void
test_entity_common_fields(void **state)
{
	json_t *out = build("[\"bits\"]", NULL);
	json_t *live = json_object_get(out, PFX "binary_sensor/" NODE
	    "/live/config");
	json_t *av = json_object_get(live, "availability");

	assert_string_equal(str(live, "unique_id"), NODE "_live");
	assert_string_equal(str(live, "state_topic"), "twitch/cool_streamer/state");
	assert_string_equal(str(live, "value_template"),
	    "{{ 'ON' if value_json.live else 'OFF' }}");
	assert_int_equal(json_array_size(av), 2);
	assert_string_equal(str(json_array_get(av, 0), "topic"),
	    "twitch/bridge/state");
	assert_string_equal(str(json_array_get(av, 1), "topic"),
	    "twitch/cool_streamer/availability");
	assert_string_equal(str(live, "availability_mode"), "all");
	json_t *dev = json_object_get(live, "device");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    dev, "identifiers"), 0)), NODE);
	assert_string_equal(str(dev, "via_device"), "twitch2mqtt_twitch");
	assert_string_equal(str(dev, "name"), "Twitch Cool_Streamer");
	assert_string_equal(str(json_object_get(live, "origin"), "name"),
	    "twitch2mqtt");
	assert_string_equal(str(json_object_get(live, "origin"), "sw_version"),
	    "9.9.9");
	json_decref(out);
}

static void
test_event_entity(void **state)
{
	json_t *rw = three_rewards();
	json_t *out = build("[\"channel_points\",\"subscription\"]", rw);
	json_t *cp = json_object_get(out, PFX "event/" NODE
	    "/channel_points/config");
	json_t *sub = json_object_get(out, PFX "event/" NODE
	    "/subscription/config");
	json_t *want_cp = json_loads("[\"hydrate\",\"lights_purple\","
	    "\"play_a_sound\"]", 0, NULL);
	json_t *want_sub = json_loads("[\"sub\",\"resub\",\"gift\"]", 0, NULL);

	assert_string_equal(str(cp, "state_topic"),
	    "twitch/cool_streamer/channel_points");
	assert_true(json_equal(json_object_get(cp, "event_types"), want_cp));
	assert_true(json_equal(json_object_get(sub, "event_types"), want_sub));
	assert_string_equal(str(cp, "unique_id"), NODE "_channel_points");
	json_decref(want_cp);
	json_decref(want_sub);
	json_decref(out);
	json_decref(rw);
}

static void
test_reward_trigger(void **state)
{
	json_t *rw = three_rewards();
	json_t *out = build("[\"channel_points\"]", rw);
	json_t *t = json_object_get(out, PFX "device_automation/" NODE
	    "/reward_r-2/config");

	assert_string_equal(str(t, "automation_type"), "trigger");
	assert_string_equal(str(t, "type"), "redeemed");
	assert_string_equal(str(t, "subtype"), "Lights: purple");
	assert_string_equal(str(t, "topic"), "twitch/cool_streamer/channel_points");
	assert_string_equal(str(t, "value_template"), "{{ value_json.reward.id }}");
	assert_string_equal(str(t, "payload"), "r-2");
	assert_null(json_object_get(t, "availability"));
	json_decref(out);
	json_decref(rw);
}

static void
test_no_triggers_without_channel_points(void **state)
{
	json_t *rw = three_rewards();
	json_t *out = build("[\"bits\"]", rw);
	const char *topic;
	json_t *v;

	json_object_foreach(out, topic, v)
		assert_null(strstr(topic, "device_automation"));
	json_decref(out);
	json_decref(rw);
}

static void
test_event_types(void **state)
{
	json_t *a;

	a = br_disc_event_types("channel_points", NULL);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "reward");
	json_decref(a);
	a = br_disc_event_types("prediction", NULL);
	assert_int_equal(json_array_size(a), 4);
	assert_string_equal(json_string_value(json_array_get(a, 2)), "lock");
	json_decref(a);
	a = br_disc_event_types("channel.shoutout.create", NULL);
	assert_string_equal(json_string_value(json_array_get(a, 0)),
	    "channel.shoutout.create");
	json_decref(a);
	/* the sample rewards: what the demo channel's redemptions carry */
	json_t *rw = br_sample_rewards();
	a = br_disc_event_types("channel_points", rw);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "hydrate");
	json_decref(a);
	json_decref(rw);
}

static void
test_raw_type_and_object_ids(void **state)
{
	json_t *out = build("[\"channel.shoutout.create\"]", NULL);
	json_t *e = json_object_get(out, PFX "event/" NODE
	    "/channel_shoutout_create/config");
	char buf[32];

	assert_non_null(e);
	assert_string_equal(str(e, "state_topic"),
	    "twitch/cool_streamer/eventsub/channel.shoutout.create");
	br_disc_object_id("a.b/c+d#e f-g_H", buf, sizeof buf);
	assert_string_equal(buf, "a_b_c_d_e_f-g_H");
	json_decref(out);
}

static void
test_no_id_no_configs(void **state)
{
	json_t *events = json_loads("[\"bits\"]", 0, NULL);
	struct br_disc_channel ch = { NULL, "x", "X", events, NULL };
	json_t *out = br_disc_channel(&opts, &ch);

	assert_int_equal(json_object_size(out), 0);
	json_decref(out);
	json_decref(events);
}

static void
test_bridge_device(void **state)
{
	json_t *out = br_disc_bridge(&opts);
	json_t *c = json_object_get(out, PFX "binary_sensor/twitch2mqtt_twitch"
	    "/connection/config");

	assert_non_null(c);
	assert_string_equal(str(c, "device_class"), "connectivity");
	assert_string_equal(str(c, "entity_category"), "diagnostic");
	assert_string_equal(str(c, "state_topic"), "twitch/bridge/state");
	assert_string_equal(str(c, "payload_on"), "online");
	assert_string_equal(str(c, "payload_off"), "offline");
	json_decref(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channel_topics),
		cmocka_unit_test(test_entity_common_fields),
		cmocka_unit_test(test_event_entity),
		cmocka_unit_test(test_reward_trigger),
		cmocka_unit_test(test_no_triggers_without_channel_points),
		cmocka_unit_test(test_event_types),
		cmocka_unit_test(test_raw_type_and_object_ids),
		cmocka_unit_test(test_no_id_no_configs),
		cmocka_unit_test(test_bridge_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
