/*
 * The bus's backpressure signals (bus.h): backlogged while the broker is
 * connected and the sink holds BR_BUS_HIGH_WATER events (or its capacity,
 * when smaller); drained at half of that, or as soon as the broker is
 * away (the buffer is then the store for the outage). A fake sink stands
 * in for MQTT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bus.h"

static struct fake {
	bool connected;
	size_t held, cap;
} f;

static int
fake_publish(void *impl, struct br_msg *msg)
{
	br_msg_free(msg);
	return 0;
}

static void fake_first(void *impl, struct br_msg *msg) { br_msg_free(msg); }
static bool fake_connected(void *impl) { return f.connected; }
static size_t fake_buffered(void *impl) { return f.held; }
static size_t fake_capacity(void *impl) { return f.cap; }

static const struct br_sink_ops fake_ops = {
	fake_publish, fake_first, fake_connected, fake_buffered, fake_capacity,
};

static struct br_bus *
bus_with(size_t cap, struct br_metrics **m)
{
	struct br_bus_options o = { "twitch", 1 };

	f = (struct fake){ true, 0, cap };
	*m = br_metrics_new();
	return br_bus_new((struct br_sink){ &fake_ops, &f }, *m, &o);
}

static void
test_high_water(void **state)
{
	struct br_metrics *m;
	struct br_bus *bus = bus_with(100000, &m);

	assert_false(br_bus_backlogged(bus));
	assert_true(br_bus_drained(bus));
	f.held = BR_BUS_HIGH_WATER - 1;
	assert_false(br_bus_backlogged(bus));
	f.held = BR_BUS_HIGH_WATER;
	assert_true(br_bus_backlogged(bus));
	assert_false(br_bus_drained(bus));
	assert_false(br_bus_full(bus));
	/* hysteresis: reading resumes at half */
	f.held = BR_BUS_HIGH_WATER / 2;
	assert_false(br_bus_drained(bus));
	f.held = BR_BUS_HIGH_WATER / 2 - 1;
	assert_true(br_bus_drained(bus));
	br_bus_free(bus);
	br_metrics_free(m);
}

static void
test_small_buffer(void **state)
{
	struct br_metrics *m;
	struct br_bus *bus = bus_with(5, &m);

	f.held = 4;
	assert_false(br_bus_backlogged(bus));
	f.held = 5;
	assert_true(br_bus_backlogged(bus));
	assert_true(br_bus_full(bus));
	f.held = 3;
	assert_false(br_bus_drained(bus));
	f.held = 2;
	assert_true(br_bus_drained(bus));
	br_bus_free(bus);
	br_metrics_free(m);
}

/* Broker away: never backlogged, always drained, whatever is held; the
 * buffer fills up to its capacity and is then full. */
static void
test_broker_away(void **state)
{
	struct br_metrics *m;
	struct br_bus *bus = bus_with(100000, &m);

	f.connected = false;
	f.held = 99999;
	assert_false(br_bus_backlogged(bus));
	assert_true(br_bus_drained(bus));
	f.held = 100000;
	assert_false(br_bus_backlogged(bus));
	assert_true(br_bus_full(bus));
	f.connected = true;
	assert_true(br_bus_backlogged(bus));
	assert_false(br_bus_drained(bus));
	br_bus_free(bus);
	br_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_high_water),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_broker_away),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
