#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "jsonmem.h"

/* Freed values stay with the cache (malloc still counts them in use)
 * until flushed; glibc alone would take them back at once. */
static void
test_keeps_until_flushed(void **state)
{
	size_t before = mallinfo2().uordblks, made, freed, flushed;
	json_t *arr;

	if (before == 0)
		skip();         /* a sanitizer's allocator: no glibc figures */
	arr = json_array();
	for (int i = 0; i < 1000; i++)
		json_array_append_new(arr, json_string("a value of its own"));
	made = mallinfo2().uordblks;
	json_decref(arr);
	freed = mallinfo2().uordblks;
	br_jsonmem_flush();
	flushed = mallinfo2().uordblks;
	assert_true(made > before + 1000 * 32);
	assert_true(freed > before + (made - before) / 2);
	assert_true(flushed < before + (made - before) / 2);

	/* and what it keeps serves the next values */
	json_t *a = json_string("first"), *b;
	void *where = a;
	json_decref(a);
	b = json_string("again");
	assert_ptr_equal(b, where);
	json_decref(b);
}

/* Whatever jansson hands out stays a malloc chunk: free() takes it. */
static void
test_dumps_freed_with_free(void **state)
{
	json_t *o = json_pack("{s:s, s:i, s:[s,s]}", "a", "b", "n", 7, "l",
	    "x", "y");
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	assert_string_equal(s, "{\"a\":\"b\",\"l\":[\"x\",\"y\"],\"n\":7}");
	free(s);
	json_decref(o);
}

/* Many values at once, freed in another order, and large ones. */
static void
test_many_and_large(void **state)
{
	json_t *arr = json_array();
	char big[5000];

	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (int i = 0; i < 10000; i++)
		json_array_append_new(arr, i % 3 ? json_integer(i) :
		    json_string(i % 2 ? "odd" : big));
	assert_int_equal(json_array_size(arr), 10000);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), big);
	json_decref(arr);
	br_jsonmem_flush();
	json_t *v = json_integer(42);
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_until_flushed),
		cmocka_unit_test(test_dumps_freed_with_free),
		cmocka_unit_test(test_many_and_large),
	};
	br_jsonmem_install();
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	br_jsonmem_flush();
	return rc;
}
