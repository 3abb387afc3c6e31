#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

#include <jansson.h>

#include "jsonmem.h"

/* Sizes as jansson asks for them: values (16-32), object buckets and
 * pairs (32-64 + key), short strings. Larger goes straight to malloc. */
static const size_t class_size[] = { 16, 32, 48, 64, 96, 128, 192, 256 };
#define CLASSES (sizeof class_size / sizeof class_size[0])
/* Per size: enough for a pass's worth of events, bounded. */
#define KEEP 2048

struct cache {
	bool on;
	void *head[CLASSES];
	unsigned n[CLASSES];
};

static _Thread_local struct cache tc;

/* The smallest class that holds size, or -1. */
static int
class_for(size_t size)
{
	for (size_t c = 0; c < CLASSES; c++)
		if (size <= class_size[c])
			return (int)c;
	return -1;
}

/* The largest class a chunk of usable bytes can serve, or -1. */
static int
class_of(size_t usable)
{
	if (usable < class_size[0] || usable > 2 * class_size[CLASSES - 1])
		return -1;
	for (size_t c = CLASSES; c-- > 0;)
		if (class_size[c] <= usable)
			return (int)c;
	return -1;
}

static void *
cache_malloc(size_t size)
{
	int c = tc.on ? class_for(size) : -1;
	void *p;

	if (c < 0)
		return malloc(size);
	if ((p = tc.head[c]) != NULL) {
		tc.head[c] = *(void **)p;
		tc.n[c]--;
		return p;
	}
	return malloc(class_size[c]);
}

static void
cache_free(void *p)
{
	int c;

	if (p == NULL)
		return;
	c = tc.on ? class_of(malloc_usable_size(p)) : -1;
	if (c < 0 || tc.n[c] >= KEEP) {
		free(p);
		return;
	}
	*(void **)p = tc.head[c];
	tc.head[c] = p;
	tc.n[c]++;
}

void
br_jsonmem_install(void)
{
	tc.on = true;
	json_set_alloc_funcs(cache_malloc, cache_free);
}

void
br_jsonmem_flush(void)
{
	for (size_t c = 0; c < CLASSES; c++) {
		while (tc.head[c] != NULL) {
			void *p = tc.head[c];
			tc.head[c] = *(void **)p;
			free(p);
		}
		tc.n[c] = 0;
	}
}
