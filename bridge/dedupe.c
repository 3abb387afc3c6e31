#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "log.h"
#include "util.h"

/*
 * A FIFO of (hash, time) in arrival order, so expiry pops from the head,
 * plus an open-addressing set over it for lookups. A set slot holds the
 * FIFO position (+1; 0 = empty) of the one live entry with that hash, so
 * a slot costs 4 bytes and the hash is read from the FIFO. Forgetting an
 * id clears its FIFO entry's hash (0 = dead) as well as its slot: a dead
 * entry expires without touching the set, so an id forgotten and seen
 * again keeps its new record when the old entry leaves. Every live entry
 * owns exactly one slot, which lets a grow rebuild the set from the FIFO
 * alone. Both grow on demand up to cap.
 */
struct entry {
	uint64_t hash;          /* 0 = forgotten */
	int64_t time_ms;
};

struct br_dedupe {
	uint64_t seed;
	int64_t window_ms;
	size_t cap;
	struct entry *ring;
	size_t ring_size, head, count;
	uint32_t *set;          /* ring position + 1, or 0 */
	size_t set_mask;
	bool warned_full;
};

/* Positions must fit a slot. */
#define CAP_MAX ((size_t)1 << 31)

static void
alloc_set(struct br_dedupe *d)
{
	d->set_mask = 2 * d->ring_size - 1;
	d->set = br_xcalloc(d->set_mask + 1, sizeof *d->set);
}

struct br_dedupe *
br_dedupe_new(size_t cap, int64_t window_ms)
{
	struct br_dedupe *d = br_xcalloc(1, sizeof *d);

	d->seed = br_random64();
	d->window_ms = window_ms;
	d->cap = cap < 16 ? 16 : cap > CAP_MAX ? CAP_MAX : cap;
	d->ring_size = 1024;
	d->ring = br_xcalloc(d->ring_size, sizeof *d->ring);
	alloc_set(d);
	return d;
}

void
br_dedupe_free(struct br_dedupe *d)
{
	if (d == NULL)
		return;
	free(d->ring);
	free(d->set);
	free(d);
}

size_t br_dedupe_count(const struct br_dedupe *d) { return d->count; }

static uint64_t
hash_id(const struct br_dedupe *d, const char *id)
{
	uint64_t h = br_hash64(id, strlen(id), d->seed);
	return h != 0 ? h : 1;
}

static uint64_t
slot_hash(const struct br_dedupe *d, size_t i)
{
	return d->ring[d->set[i] - 1].hash;
}

/* The slot holding h, or the empty slot where it would go. */
static size_t
set_find(const struct br_dedupe *d, uint64_t h)
{
	size_t i = (size_t)h & d->set_mask;
	while (d->set[i] != 0 && slot_hash(d, i) != h)
		i = (i + 1) & d->set_mask;
	return i;
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
static void
set_remove_at(struct br_dedupe *d, size_t i)
{
	size_t j = i;

	d->set[i] = 0;
	for (;;) {
		j = (j + 1) & d->set_mask;
		if (d->set[j] == 0)
			return;
		size_t home = (size_t)slot_hash(d, j) & d->set_mask;
		/* Move j back into i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (i < home && home <= j)
		                    : (i < home || home <= j);
		if (stays)
			continue;
		d->set[i] = d->set[j];
		d->set[j] = 0;
		i = j;
	}
}

static void
pop_oldest(struct br_dedupe *d)
{
	struct entry *e = &d->ring[d->head];

	if (e->hash != 0) {
		size_t i = set_find(d, e->hash);
		if (d->set[i] == d->head + 1)
			set_remove_at(d, i);
	}
	d->head = (d->head + 1) % d->ring_size;
	d->count--;
}

/* Doubles the FIFO and rebuilds the set from it; the old set goes first,
 * so the peak is the two FIFOs and the new set, not two of each. */
static void
grow(struct br_dedupe *d)
{
	size_t new_size = d->ring_size * 2;
	struct entry *ring = br_xcalloc(new_size, sizeof *ring);

	for (size_t k = 0; k < d->count; k++)
		ring[k] = d->ring[(d->head + k) % d->ring_size];
	free(d->ring);
	free(d->set);
	d->ring = ring;
	d->ring_size = new_size;
	d->head = 0;
	alloc_set(d);
	for (size_t k = 0; k < d->count; k++)
		if (ring[k].hash != 0)
			d->set[set_find(d, ring[k].hash)] = (uint32_t)(k + 1);
}

bool
br_dedupe_check(struct br_dedupe *d, const char *id, int64_t now_ms)
{
	uint64_t h = hash_id(d, id);

	while (d->count > 0 && d->ring[d->head].time_ms <= now_ms - d->window_ms)
		pop_oldest(d);

	size_t i = set_find(d, h);
	if (d->set[i] != 0)
		return true;

	if (d->count == d->ring_size && d->ring_size * 2 <= d->cap) {
		grow(d);
		i = set_find(d, h);
	} else if (d->count == d->ring_size) {
		if (!d->warned_full) {
			log_warn("dedupe: more than %zu ids within the window; "
			    "forgetting the oldest early", d->ring_size);
			d->warned_full = true;
		}
		pop_oldest(d);
		i = set_find(d, h);
	}
	size_t tail = (d->head + d->count) % d->ring_size;
	d->ring[tail] = (struct entry){ .hash = h, .time_ms = now_ms };
	d->set[i] = (uint32_t)(tail + 1);
	d->count++;
	return false;
}

void
br_dedupe_forget(struct br_dedupe *d, const char *id)
{
	size_t i = set_find(d, hash_id(d, id));
	if (d->set[i] != 0) {
		d->ring[d->set[i] - 1].hash = 0;
		set_remove_at(d, i);
	}
}
