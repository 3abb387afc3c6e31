#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backoff.h"
#include "metrics.h"

static void
test_counters_render_as_prometheus(void **state)
{
	struct br_metrics *m = br_metrics_new();
	br_metrics_declare(m, "twitch2mqtt_events_received_total", BR_COUNTER,
	    "Events taken.");
	br_metrics_declare(m, "twitch2mqtt_mqtt_connected", BR_GAUGE, "Up.");
	br_metrics_add(m, "twitch2mqtt_events_received_total", 2, "source",
	    "demo", "type", "bits", NULL);
	br_metrics_add(m, "twitch2mqtt_events_received_total", 1, "source",
	    "demo", "type", "bits", NULL);
	br_metrics_add(m, "twitch2mqtt_events_received_total", 1, "source",
	    "pubsub", "type", "we\"ird\\", NULL);
	br_metrics_set(m, "twitch2mqtt_mqtt_connected", 1, NULL);
	/* undeclared families are ignored, not created */
	br_metrics_add(m, "nope", 1, NULL);
	char *text = br_metrics_render(m);
	assert_non_null(strstr(text, "# TYPE twitch2mqtt_events_received_total "
	    "counter\n"));
	assert_non_null(strstr(text, "twitch2mqtt_events_received_total{source="
	    "\"demo\",type=\"bits\"} 3\n"));
	assert_non_null(strstr(text, "type=\"we\\\"ird\\\\\"} 1\n"));
	assert_non_null(strstr(text, "twitch2mqtt_mqtt_connected 1\n"));
	assert_null(strstr(text, "nope"));
	assert_int_equal(br_metrics_sum(m, "twitch2mqtt_events_received_total"), 4);
	assert_int_equal(br_metrics_get(m, "twitch2mqtt_events_received_total",
	    "source", "demo", "type", "bits", NULL), 3);
	free(text);
	br_metrics_free(m);
}

static void
test_empty_family_renders_zero(void **state)
{
	struct br_metrics *m = br_metrics_new();
	br_metrics_declare(m, "twitch2mqtt_webhook_rejected_total", BR_COUNTER,
	    "Refused.");
	char *text = br_metrics_render(m);
	assert_non_null(strstr(text, "twitch2mqtt_webhook_rejected_total 0\n"));
	free(text);
	json_t *sum = br_metrics_summary(m);
	assert_int_equal(json_integer_value(json_object_get(sum,
	    "webhook_rejected_total")), 0);
	json_decref(sum);
	br_metrics_free(m);
}

static void
test_backoff_is_capped_jittered_and_resets(void **state)
{
	struct br_backoff b;
	br_backoff_init(&b, 500, 30000, 42);
	int64_t prev = 0, max = 0;
	bool varied = false;
	for (int i = 0; i < 50; i++) {
		int64_t d = br_backoff_next(&b);
		assert_true(d >= 500 && d <= 30000);
		if (i > 0 && d != prev)
			varied = true;
		prev = d;
		if (d > max)
			max = d;
	}
	assert_true(varied);
	assert_true(max > 10000);       /* it does grow towards the cap */
	assert_int_equal(b.attempts, 50);
	br_backoff_reset(&b);
	assert_int_equal(b.attempts, 0);
	assert_true(br_backoff_next(&b) <= 1500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_render_as_prometheus),
		cmocka_unit_test(test_empty_family_renders_zero),
		cmocka_unit_test(test_backoff_is_capped_jittered_and_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
