#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "util.h"

void
outbox_init(struct outbox *q)
{
	memset(q, 0, sizeof *q);
}

void
outbox_release(struct outbox *q)
{
	free(q->ring);
	memset(q, 0, sizeof *q);
}

static void
grow(struct outbox *q)
{
	size_t size = q->size ? q->size * 2 : 256;
	struct br_msg **ring = br_xcalloc(size, sizeof *ring);

	for (size_t i = 0; i < q->count; i++)
		ring[i] = q->ring[(q->head + i) % q->size];
	free(q->ring);
	q->ring = ring;
	q->size = size;
	q->head = 0;
}

void
outbox_push_back(struct outbox *q, struct br_msg *msg)
{
	if (q->count == q->size)
		grow(q);
	q->ring[(q->head + q->count) % q->size] = msg;
	q->count++;
}

void
outbox_push_front(struct outbox *q, struct br_msg *msg)
{
	if (q->count == q->size)
		grow(q);
	q->head = (q->head + q->size - 1) % q->size;
	q->ring[q->head] = msg;
	q->count++;
}

struct br_msg *
outbox_pop_front(struct outbox *q)
{
	struct br_msg *msg;

	if (q->count == 0)
		return NULL;
	msg = q->ring[q->head];
	q->head = (q->head + 1) % q->size;
	q->count--;
	/* Give memory back after a long outage has drained. */
	if (q->count == 0 && q->size > 4096) {
		free(q->ring);
		q->ring = NULL;
		q->size = q->head = 0;
	}
	return msg;
}

struct br_msg *
outbox_at(const struct outbox *q, size_t i)
{
	return i < q->count ? q->ring[(q->head + i) % q->size] : NULL;
}
