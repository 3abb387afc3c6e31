/*
 * Message-id window: an id seen within the window is a duplicate. Ids are
 * kept as seeded 64-bit hashes, about 9.5 bytes each, in generations: an
 * id is forgotten when the newest id of its generation is a window old,
 * so at most a sixteenth of the window late and never early. Memory
 * follows the count and is bounded by the cap.
 */
#ifndef BR_DEDUPE_H
#define BR_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br_dedupe;

/* cap: most ids held at once (past it, ids of the oldest generation, a
 * 64th of the cap, are forgotten first). */
struct br_dedupe *br_dedupe_new(size_t cap, int64_t window_ms);
void br_dedupe_free(struct br_dedupe *d);

/* True when id was seen within the window before now_ms (or up to a
 * sixteenth of it longer ago); otherwise records it and returns false. */
bool br_dedupe_check(struct br_dedupe *d, const char *id, int64_t now_ms);

/* Forgets an id recorded by br_dedupe_check, so a delivery we could not
 * accept (buffer full) is taken when Twitch retries it. */
void br_dedupe_forget(struct br_dedupe *d, const char *id);

size_t br_dedupe_count(const struct br_dedupe *d);
/* Heap bytes held, malloc's own overhead aside. */
size_t br_dedupe_bytes(const struct br_dedupe *d);

#endif
