/*
 * Capped, decorrelated-jitter backoff (the "decorrelated jitter" of the
 * AWS architecture blog, as mosquitto's bridges use): each delay is random
 * between base and three times the previous one, never above cap. Pure.
 */
#ifndef BR_BACKOFF_H
#define BR_BACKOFF_H

#include <stdint.h>

struct br_backoff {
	int64_t base_ms, cap_ms, prev_ms;
	uint64_t rng;           /* xorshift state */
	unsigned attempts;      /* since the last reset */
};

void br_backoff_init(struct br_backoff *b, int64_t base_ms, int64_t cap_ms,
                     uint64_t seed);
int64_t br_backoff_next(struct br_backoff *b);
void br_backoff_reset(struct br_backoff *b);

#endif
