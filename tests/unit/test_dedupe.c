#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "dedupe.h"

static void
test_second_sighting_is_duplicate(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1000, 600000);
	assert_false(br_dedupe_check(d, "a", 1000));
	assert_true(br_dedupe_check(d, "a", 2000));
	assert_false(br_dedupe_check(d, "b", 2000));
	assert_int_equal(br_dedupe_count(d), 2);
	br_dedupe_free(d);
}

static void
test_window_expires(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1000, 600000);
	assert_false(br_dedupe_check(d, "a", 0));
	assert_true(br_dedupe_check(d, "a", 599999));
	/* exactly the window later the first sighting has aged out */
	assert_false(br_dedupe_check(d, "a", 600000));
	br_dedupe_free(d);
}

static void
test_forget_allows_redelivery(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1000, 600000);
	assert_false(br_dedupe_check(d, "x", 10));
	br_dedupe_forget(d, "x");
	assert_false(br_dedupe_check(d, "x", 20));
	assert_true(br_dedupe_check(d, "x", 30));
	br_dedupe_free(d);
}

/* A forgotten id seen again must survive its first FIFO entry expiring. */
static void
test_old_entry_does_not_evict_new_record(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1000, 1000);
	assert_false(br_dedupe_check(d, "x", 0));
	br_dedupe_forget(d, "x");
	assert_false(br_dedupe_check(d, "x", 500));
	/* at 1000 the first entry expires; the record from 500 must hold */
	assert_true(br_dedupe_check(d, "x", 1200));
	br_dedupe_free(d);
}

static void
test_grows_and_keeps_everything_within_cap(void **state)
{
	struct br_dedupe *d = br_dedupe_new(100000, 600000);
	char id[32];
	for (int i = 0; i < 50000; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		assert_false(br_dedupe_check(d, id, 1000 + i / 100));
	}
	for (int i = 0; i < 50000; i += 7) {
		snprintf(id, sizeof id, "id-%d", i);
		assert_true(br_dedupe_check(d, id, 2000));
	}
	assert_int_equal(br_dedupe_count(d), 50000);
	br_dedupe_free(d);
}

static void
test_cap_forgets_oldest(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1024, 600000);
	char id[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		br_dedupe_check(d, id, 1000);
	}
	assert_int_equal(br_dedupe_count(d), 1024);
	assert_true(br_dedupe_check(d, "id-2999", 1000));
	assert_false(br_dedupe_check(d, "id-0", 1000));
	br_dedupe_free(d);
}

/* Many expiries interleaved with inserts exercise backward-shift delete. */
static void
test_churn(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1 << 16, 100);
	char id[32];
	for (int i = 0; i < 200000; i++) {
		snprintf(id, sizeof id, "c%d", i);
		assert_false(br_dedupe_check(d, id, i / 10));
		if (i >= 500) {
			snprintf(id, sizeof id, "c%d", i - 500);
			assert_true(br_dedupe_check(d, id, i / 10));
		}
	}
	br_dedupe_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_sighting_is_duplicate),
		cmocka_unit_test(test_window_expires),
		cmocka_unit_test(test_forget_allows_redelivery),
		cmocka_unit_test(test_old_entry_does_not_evict_new_record),
		cmocka_unit_test(test_grows_and_keeps_everything_within_cap),
		cmocka_unit_test(test_cap_forgets_oldest),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
