#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "log.h"
#include "util.h"

/*
 * Ids are seeded 64-bit hashes in one of 256 tables picked by the hash's
 * top byte, so a slot keeps the other 56 bits and no bit of the hash is
 * lost; the slot's low byte names the id's generation (0 = empty slot).
 * A slot is 8 bytes and a table grows by an eighth at 90% load, so an id
 * costs about 9.5 bytes, and a growth copies one table of 256, not all:
 * memory follows the count, with no doubling at the peak.
 *
 * Time is kept per generation, not per id. A generation holds the ids
 * recorded over a sixteenth of the window, or a 64th of the cap if that
 * comes first, and expires once its newest id is a window old: then its
 * ids are swept out of every table. An id is forgotten at most a
 * sixteenth of the window late, never early. Past the cap, ids of the
 * oldest generation are forgotten first, one per new id.
 *
 * A table is Robin Hood linear probing over any size: an id's home slot
 * is its hash scaled to the size, so growing by an eighth needs no power
 * of two, and a miss ends at the first slot nearer its own home than the
 * probe is, which keeps misses short at 90% load.
 */
#define TABLES 256
#define GENS 256                /* tags 1..255 */
#define GEN_MASK ((uint64_t)0xff)
#define MIN_SIZE 8u

struct table {
	uint64_t *slot;         /* hash << 8 | generation, or 0 */
	uint32_t size, count;
};

struct gen {
	int64_t first_ms, newest_ms;
	size_t count;
};

struct br_dedupe {
	uint64_t seed;
	int64_t window_ms, gen_ms;
	size_t cap, gen_cap, count;
	unsigned oldest, cur;           /* live generations, oldest..cur */
	unsigned evict_t;               /* the cap's eviction cursor */
	uint32_t evict_i;
	bool warned_full;
	struct table t[TABLES];
	struct gen g[GENS];
};

/* Table sizes and counts are 32 bits. */
#define CAP_MAX ((size_t)1 << 31)

static unsigned next_gen(unsigned gen) { return gen == GENS - 1 ? 1 : gen + 1; }

struct br_dedupe *
br_dedupe_new(size_t cap, int64_t window_ms)
{
	struct br_dedupe *d = br_xcalloc(1, sizeof *d);

	d->seed = br_random64();
	d->window_ms = window_ms;
	d->gen_ms = window_ms / 16 > 0 ? window_ms / 16 : 1;
	d->cap = cap < 16 ? 16 : cap > CAP_MAX ? CAP_MAX : cap;
	d->gen_cap = d->cap / 64 > 0 ? d->cap / 64 : 1;
	d->oldest = d->cur = 1;
	return d;
}

void
br_dedupe_free(struct br_dedupe *d)
{
	if (d == NULL)
		return;
	for (int k = 0; k < TABLES; k++)
		free(d->t[k].slot);
	free(d);
}

size_t br_dedupe_count(const struct br_dedupe *d) { return d->count; }

size_t
br_dedupe_bytes(const struct br_dedupe *d)
{
	size_t n = sizeof *d;

	for (int k = 0; k < TABLES; k++)
		n += (size_t)d->t[k].size * sizeof *d->t[k].slot;
	return n;
}

/*
 * The id's seeded hash, eight bytes a step (br_hash64 takes one, and an
 * id is a 36-byte UUID hashed once per event). Each step is a bijection
 * of the state for a given word, so ids of a length that differ in one
 * word never collide; the last step is br_mix64, whose high bits pick
 * the table and the home slot.
 */
static uint64_t
hash_id(const struct br_dedupe *d, const char *id)
{
	size_t len = strlen(id);
	uint64_t h = d->seed ^ (len * 0x9e3779b97f4a7c15ULL), w;

	for (; len >= 8; id += 8, len -= 8) {
		memcpy(&w, id, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, id, len);
	return br_mix64((h ^ w) * 0x94d049bb133111ebULL);
}

static struct table *
table_of(struct br_dedupe *d, uint64_t h)
{
	return &d->t[h >> 56];
}

/* The slot's bits 32..63 are the hash's 24..55 either way. */
static uint32_t
home(const struct table *t, uint64_t s)
{
	return (uint32_t)(((s >> 32) * t->size) >> 32);
}

static uint32_t
dist(const struct table *t, uint64_t s, uint32_t i)
{
	uint32_t h = home(t, s);
	return i >= h ? i - h : i + t->size - h;
}

/* True with *at at key's slot (key: a hash << 8); false with *at where
 * it would go: the first slot empty or holding an id nearer its home. */
static bool
find(const struct table *t, uint64_t key, uint32_t *at)
{
	if (t->size == 0)
		return false;
	uint32_t i = home(t, key);
	for (uint32_t d = 0;; d++) {
		uint64_t s = t->slot[i];
		if (s == 0 || dist(t, s, i) < d) {
			*at = i;
			return false;
		}
		if ((s & ~GEN_MASK) == key) {
			*at = i;
			return true;
		}
		if (++i == t->size)
			i = 0;
	}
}

/* Puts s at slot i, where the probe for it stopped, and the ids from
 * there to the next empty slot one further on: each still sits at or
 * past its home, in the order of their homes, which is all a probe
 * needs. The same as Robin Hood's swaps, as a move. There is room. */
static void
place_at(struct table *t, uint64_t s, uint32_t i)
{
	uint32_t j = i;

	while (t->slot[j] != 0)
		j = j + 1 < t->size ? j + 1 : 0;
	while (j != i) {
		uint32_t k = j > 0 ? j - 1 : t->size - 1;
		t->slot[j] = t->slot[k];
		j = k;
	}
	t->slot[i] = s;
	t->count++;
}

static uint32_t
place(struct table *t, uint64_t s)
{
	uint32_t at;

	find(t, s & ~GEN_MASK, &at);
	place_at(t, s, at);
	return at;
}

/* Backward-shift deletion: no tombstones, probes stay short. */
static void
remove_at(struct table *t, uint32_t i)
{
	for (;;) {
		uint32_t j = i + 1 == t->size ? 0 : i + 1;
		uint64_t s = t->slot[j];
		if (s == 0 || home(t, s) == j)
			break;
		t->slot[i] = s;
		i = j;
	}
	t->slot[i] = 0;
	t->count--;
}

/* Every table steps through the same sizes, so a block one table lets go
 * of fits the next table to reach that size. */
static uint32_t
next_size(uint32_t size)
{
	return size < MIN_SIZE ? MIN_SIZE : size + size / 8;
}

/*
 * Read from just after an empty slot, a table gives its ids in the order
 * of their homes in any size (but once, where the hashes wrap round). In
 * that order an id goes to its home, or if that is taken, just past the
 * id before: the slots between are full and nobody there gives way. Only
 * a slot found taken (a run wrapped round the end) needs a probe: 25
 * cycles an id where placing each afresh took 40.
 */
static void
resize(struct table *t, uint32_t size)
{
	struct table n = { NULL, size, 0 };
	uint32_t start = 0, last = 0;
	uint64_t prev = UINT64_MAX;

	if (size > 0)
		n.slot = br_xcalloc(size, sizeof *n.slot);
	while (start < t->size && t->slot[start] != 0)
		start++;
	for (uint32_t k = 1; k <= t->size && n.count < t->count; k++) {
		uint32_t i = k < t->size - start ? start + k : start + k - t->size;
		uint64_t s = t->slot[i];
		if (s == 0)
			continue;
		uint32_t at = home(&n, s);
		if (prev != UINT64_MAX && s >> 32 >= prev >> 32 && at <= last)
			at = last + 1 < size ? last + 1 : 0;
		if (n.slot[at] == 0) {
			n.slot[at] = s;
			n.count++;
		} else
			at = place(&n, s);
		last = at;
		prev = s;
	}
	free(t->slot);
	*t = n;
}

/* After a sweep: back to at most 70% load once under half. */
static void
shrink(struct table *t)
{
	uint32_t size = 0;

	if (t->count > 0 && t->count >= t->size / 2)
		return;
	while (t->count > 0 && (uint64_t)size * 7 < (uint64_t)t->count * 10)
		size = next_size(size);
	if (size < t->size)
		resize(t, size);
}

/* Forgets every id of generation gen. Deleting at i shifts its followers
 * back into i, so i is looked at again; what wraps round from slot 0 was
 * looked at and kept already. */
static void
sweep(struct br_dedupe *d, unsigned gen)
{
	for (int k = 0; k < TABLES; k++) {
		struct table *t = &d->t[k];
		uint32_t i = 0;
		while (i < t->size && t->count > 0) {
			if ((t->slot[i] & GEN_MASK) == gen) {
				remove_at(t, i);
				d->count--;
			} else
				i++;
		}
		shrink(t);
	}
	d->g[gen].count = 0;
}

/* Sweeps the generations a window old, oldest first, and passes over
 * the empty ones. */
static void
expire(struct br_dedupe *d, int64_t now_ms)
{
	for (;;) {
		struct gen *g = &d->g[d->oldest];
		if (g->count > 0 && now_ms - g->newest_ms < d->window_ms)
			return;
		if (g->count > 0)
			sweep(d, d->oldest);
		if (d->oldest == d->cur)
			return;
		d->oldest = next_gen(d->oldest);
	}
}

/* Past the cap: forgets one id of the oldest generation, which expire()
 * left non-empty. The cursor goes on round the tables where it stopped,
 * so an id costs as many slots as there are per id of that generation. */
static void
evict_one(struct br_dedupe *d)
{
	if (!d->warned_full) {
		log_warn("dedupe: more than %zu ids within the window; "
		    "forgetting the oldest early", d->cap);
		d->warned_full = true;
	}
	for (;;) {
		struct table *t = &d->t[d->evict_t];
		if (d->evict_i >= t->size) {
			d->evict_t = (d->evict_t + 1) % TABLES;
			d->evict_i = 0;
			continue;
		}
		uint64_t s = t->slot[d->evict_i];
		if (s != 0 && (s & GEN_MASK) == d->oldest)
			break;
		d->evict_i++;
	}
	remove_at(&d->t[d->evict_t], d->evict_i);
	d->count--;
	d->g[d->oldest].count--;
	while (d->oldest != d->cur && d->g[d->oldest].count == 0)
		d->oldest = next_gen(d->oldest);
}

/* The generation a new id joins: the current one, unless it is full or a
 * sixteenth of the window old and a tag is free (if none is, it goes on:
 * its ids expire later, never earlier). */
static unsigned
gen_for(struct br_dedupe *d, int64_t now_ms)
{
	struct gen *g = &d->g[d->cur];

	if (g->count > 0 && (g->count >= d->gen_cap ||
	    now_ms - g->first_ms >= d->gen_ms) && next_gen(d->cur) != d->oldest) {
		d->cur = next_gen(d->cur);
		g = &d->g[d->cur];
	}
	if (g->count == 0)
		g->first_ms = now_ms;
	g->newest_ms = now_ms;
	g->count++;
	return d->cur;
}

bool
br_dedupe_check(struct br_dedupe *d, const char *id, int64_t now_ms)
{
	uint64_t h = hash_id(d, id);
	struct table *t = table_of(d, h);
	uint32_t at = 0;

	expire(d, now_ms);
	bool moved = t->size == 0;
	if (find(t, h << 8, &at))
		return true;
	if (d->count >= d->cap) {
		evict_one(d);
		moved = true;
	}
	if ((uint64_t)(t->count + 1) * 10 > (uint64_t)t->size * 9) {
		resize(t, next_size(t->size));
		moved = true;
	}
	/* Mostly, the new id goes where the probe for it stopped. */
	if (moved)
		place(t, h << 8 | gen_for(d, now_ms));
	else
		place_at(t, h << 8 | gen_for(d, now_ms), at);
	d->count++;
	return false;
}

void
br_dedupe_forget(struct br_dedupe *d, const char *id)
{
	uint64_t h = hash_id(d, id);
	struct table *t = table_of(d, h);
	uint32_t at;

	if (!find(t, h << 8, &at))
		return;
	d->g[t->slot[at] & GEN_MASK].count--;
	remove_at(t, at);
	d->count--;
}
