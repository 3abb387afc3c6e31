/*
 * br_json_loadb against jansson: every EventSub WebSocket message goes
 * through the fast parser, so for every byte sequence it must agree with
 * json_loadb(buf, len, 0, err): both refuse, or both give the same value
 * (compared as JSON text in key order, so types and strings count).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	json_t *want = json_loadb(buf, size, 0, NULL);
	json_t *fast = br_json_loadb_fast(buf, size);
	json_t *got = br_json_loadb(buf, size, NULL);

	if (fast != NULL && want == NULL)
		abort();
	if ((got == NULL) != (want == NULL))
		abort();
	if (want != NULL) {
		size_t f = JSON_COMPACT | JSON_PRESERVE_ORDER;
		char *a = json_dumps(want, f), *b = json_dumps(got, f);
		char *c = fast != NULL ? json_dumps(fast, f) : NULL;
		if (a == NULL || b == NULL || strcmp(a, b) != 0 ||
		    (fast != NULL && (c == NULL || strcmp(a, c) != 0)))
			abort();
		free(a);
		free(b);
		free(c);
	}
	json_decref(want);
	json_decref(fast);
	json_decref(got);
	return 0;
}
