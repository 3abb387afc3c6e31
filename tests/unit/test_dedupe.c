#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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

/* Times are kept per generation (a sixteenth of the window): an id may be
 * remembered up to that much longer than the window, never shorter. */
static void
test_expiry_never_early_at_most_a_sixteenth_late(void **state)
{
	const int64_t window = 16000, late = window / 16;
	char id[32];
	uint32_t r = 12345;

	for (int round = 0; round < 20; round++) {
		struct br_dedupe *d = br_dedupe_new(1 << 16, window);
		int64_t t[400], now = 0;
		for (int i = 0; i < 400; i++) {
			r = r * 1103515245 + 12345;
			now += (r >> 16) % 200;
			t[i] = now;
			snprintf(id, sizeof id, "r%d-%d", round, i);
			assert_false(br_dedupe_check(d, id, now));
		}
		r = r * 1103515245 + 12345;
		int64_t probe = t[399] + (int64_t)((r >> 16) % (window + 2 * late));
		/* Probing first makes the dedupe expire what it will. */
		assert_false(br_dedupe_check(d, "probe", probe));
		for (int i = 0; i < 400; i++) {
			snprintf(id, sizeof id, "r%d-%d", round, i);
			if (probe - t[i] < window)
				assert_true(br_dedupe_check(d, id, probe));
		}
		for (int i = 0; i < 400; i++) {
			snprintf(id, sizeof id, "r%d-%d", round, i);
			if (probe - t[i] >= window + late)
				assert_false(br_dedupe_check(d, id, probe));
		}
		br_dedupe_free(d);
	}
}

/* One generation (same time) and many generations alike. */
static void
test_forget_from_any_generation(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1 << 16, 600000);
	char id[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "f%d", i);
		assert_false(br_dedupe_check(d, id, i * 100));
	}
	for (int i = 0; i < 3000; i += 3) {
		snprintf(id, sizeof id, "f%d", i);
		br_dedupe_forget(d, id);
	}
	br_dedupe_forget(d, "never-seen");
	assert_int_equal(br_dedupe_count(d), 2000);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "f%d", i);
		assert_int_equal(br_dedupe_check(d, id, 300000), i % 3 != 0);
	}
	assert_int_equal(br_dedupe_count(d), 3000);
	/* all of it expires, the forgotten ones' first records included */
	assert_false(br_dedupe_check(d, "late", 300000 + 600000));
	assert_int_equal(br_dedupe_count(d), 1);
	br_dedupe_free(d);
}

/* Memory follows the count on the way up and on the way down. */
static void
test_memory_follows_count(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1 << 20, 1000);
	size_t empty = br_dedupe_bytes(d);
	char id[32];

	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "m%d", i);
		assert_false(br_dedupe_check(d, id, 0));
		if (i % 10007 == 10006) {
			double per_id = (double)(br_dedupe_bytes(d) - empty) / (i + 1);
			assert_true(per_id > 8 && per_id < 11);
		}
	}
	for (int i = 0; i < 100000; i++) {
		snprintf(id, sizeof id, "m%d", i);
		assert_true(br_dedupe_check(d, id, 999));
		snprintf(id, sizeof id, "n%d", i);
		assert_false(br_dedupe_check(d, id, 999));
	}
	assert_int_equal(br_dedupe_count(d), 200000);
	assert_false(br_dedupe_check(d, "x", 999 + 1000));
	assert_int_equal(br_dedupe_count(d), 1);
	assert_true(br_dedupe_bytes(d) < empty + 1024);
	br_dedupe_free(d);
}

/* Past the cap the oldest go, a generation (a 64th of the cap) at a time
 * in no order within it; everything newer is kept. */
static void
test_cap_keeps_the_newest(void **state)
{
	const int cap = 4096, gen = cap / 64, n = 20000;
	struct br_dedupe *d = br_dedupe_new(cap, 600000);
	char id[32];

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof id, "c%d", i);
		assert_false(br_dedupe_check(d, id, 1000 + i / 1000));
		assert_true(br_dedupe_count(d) <= (size_t)cap);
	}
	assert_int_equal(br_dedupe_count(d), cap);
	for (int i = n - 1; i >= n - cap + gen; i--) {
		snprintf(id, sizeof id, "c%d", i);
		assert_true(br_dedupe_check(d, id, 1100));
	}
	/* The oldest generation left may be part-evicted, the rest are gone.
	 * Checking records them again, newest first, so each one recorded
	 * pushes out only ids checked already. */
	for (int i = n - cap - gen - 1; i >= 0; i--) {
		snprintf(id, sizeof id, "c%d", i);
		assert_false(br_dedupe_check(d, id, 1100));
	}
	br_dedupe_free(d);
}

/* Generations that keep one id each use up the 255 tags; the current one
 * then goes on growing, and nothing is forgotten early. */
static void
test_generation_tags_run_out(void **state)
{
	struct br_dedupe *d = br_dedupe_new(1024, 600000);
	char id[32];

	for (int g = 0; g < 400; g++) {
		for (int i = 0; i < 16; i++) {
			snprintf(id, sizeof id, "g%d-%d", g, i);
			assert_false(br_dedupe_check(d, id, g));
		}
		for (int i = 1; i < 16; i++) {
			snprintf(id, sizeof id, "g%d-%d", g, i);
			br_dedupe_forget(d, id);
		}
	}
	assert_int_equal(br_dedupe_count(d), 400);
	for (int g = 0; g < 400; g++) {
		snprintf(id, sizeof id, "g%d-0", g);
		assert_true(br_dedupe_check(d, id, 599999));
	}
	assert_false(br_dedupe_check(d, "g0-0", 600000 + 399));
	assert_int_equal(br_dedupe_count(d), 1);
	br_dedupe_free(d);
}

/* Against a model: random checks and forgets of a few thousand ids over
 * many windows, so tables grow, wrap, sweep and shrink. An id recorded
 * within the window is a duplicate; one never recorded, forgotten, or
 * recorded a window and a sixteenth ago is not. */
static void
test_against_a_model(void **state)
{
	enum { K = 5000 };
	const int64_t window = 1600, late = window / 16;
	static int64_t at[K];
	struct br_dedupe *d = br_dedupe_new(1 << 20, window);
	uint32_t r = 777;
	int64_t now = 0;
	char id[32];

	for (int k = 0; k < K; k++)
		at[k] = -1;
	for (int op = 0; op < 400000; op++) {
		r = r * 1103515245 + 12345;
		int k = (int)((r >> 8) % K);
		snprintf(id, sizeof id, "k%d", k);
		if ((r >> 4) % 8 == 0) {
			br_dedupe_forget(d, id);
			at[k] = -1;
			continue;
		}
		bool dup = br_dedupe_check(d, id, now);
		if (at[k] >= 0 && now - at[k] < window)
			assert_true(dup);
		if (at[k] < 0 || now - at[k] >= window + late)
			assert_false(dup);
		if (!dup)
			at[k] = now;
		if ((r >> 20) % 64 == 0)
			now += (r >> 12) % 64;
	}
	assert_true(br_dedupe_count(d) <= K);
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
		cmocka_unit_test(test_expiry_never_early_at_most_a_sixteenth_late),
		cmocka_unit_test(test_forget_from_any_generation),
		cmocka_unit_test(test_memory_follows_count),
		cmocka_unit_test(test_cap_keeps_the_newest),
		cmocka_unit_test(test_generation_tags_run_out),
		cmocka_unit_test(test_against_a_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
