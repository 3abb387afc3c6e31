#include "backoff.h"

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

void
br_backoff_init(struct br_backoff *b, int64_t base_ms, int64_t cap_ms,
    uint64_t seed)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->cap_ms = cap_ms > b->base_ms ? cap_ms : b->base_ms;
	b->rng = seed;
	br_backoff_reset(b);
}

void
br_backoff_reset(struct br_backoff *b)
{
	b->prev_ms = b->base_ms;
	b->attempts = 0;
}

int64_t
br_backoff_next(struct br_backoff *b)
{
	int64_t hi = b->prev_ms * 3;
	if (hi > b->cap_ms)
		hi = b->cap_ms;
	int64_t span = hi - b->base_ms;
	int64_t d = b->base_ms +
	    (span > 0 ? (int64_t)(xorshift(&b->rng) % (uint64_t)(span + 1)) : 0);
	b->prev_ms = d;
	b->attempts++;
	return d;
}
