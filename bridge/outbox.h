/*
 * A double-ended queue of messages (a growable ring), private to the
 * sink: new messages go to the back, messages to send again go to the
 * front.
 */
#ifndef BR_OUTBOX_H
#define BR_OUTBOX_H

#include <stddef.h>

#include "sink.h"

struct outbox {
	struct br_msg **ring;
	size_t size, head, count;
};

void outbox_init(struct outbox *q);
void outbox_release(struct outbox *q);        /* the ring, not the messages */
void outbox_push_back(struct outbox *q, struct br_msg *msg);
void outbox_push_front(struct outbox *q, struct br_msg *msg);
struct br_msg *outbox_pop_front(struct outbox *q);  /* NULL when empty */
struct br_msg *outbox_at(const struct outbox *q, size_t i);
static inline size_t outbox_count(const struct outbox *q) { return q->count; }

/* spool.c: events kept across a restart. 0 or -errno. */
int spool_write(const char *path, struct br_msg *const *msgs, size_t n);
int spool_read(const char *path, struct outbox *into, size_t *count);

#endif
