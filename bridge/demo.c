#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "log.h"
#include "sample.h"
#include "util.h"

/* At high rates one timer tick emits a batch, so the loop is not woken
 * 50,000 times a second. */
#define TICK_MS_MIN 1
/* ...but never more than this in one loop turn: a backlog (--demo-rate far
 * above what the broker takes, or the first tick of a fast demo) is
 * emitted over several turns, so that acknowledgements are handled and
 * the window kept full meanwhile instead of the whole backlog piling up
 * in the buffer first. */
#define TICK_BATCH_MAX 256

struct br_demo {
	struct br_loop *loop;
	struct br_bus *bus;
	struct br_subs *subs;
	struct br_timer timer;
	double rate;
	unsigned long count, emitted;
	uint64_t n;             /* rotates types and content */
	int64_t started_us;
	bool stopped;
};

void
br_demo_channel_id(const char *login, char *buf, size_t size)
{
	uint64_t h = br_hash64(login, strlen(login), 0x7477697463683221ULL);
	snprintf(buf, size, "%llu", (unsigned long long)(100000000 + h % 900000000));
}

/* The n-th enabled event of the demo subscriptions, round robin. */
static bool
pick(struct br_demo *d, struct br_sub **sub_out, const char **type_out)
{
	size_t total = 0;

	for (size_t i = 0; i < br_subs_count(d->subs); i++) {
		struct br_sub *s = br_subs_at(d->subs, i);
		if (strcmp(s->transport, "demo") == 0)
			total += json_object_size(s->events);
	}
	if (total == 0)
		return false;
	size_t k = (size_t)(d->n % total);
	for (size_t i = 0; i < br_subs_count(d->subs); i++) {
		struct br_sub *s = br_subs_at(d->subs, i);
		const char *ev;
		json_t *st;
		if (strcmp(s->transport, "demo") != 0)
			continue;
		json_object_foreach(s->events, ev, st) {
			if (k-- == 0) {
				*sub_out = s;
				*type_out = ev;
				return strcmp(json_string_value(st), "enabled") == 0;
			}
		}
	}
	return false;
}

static void
emit_one(struct br_demo *d)
{
	struct br_sub *sub;
	const char *type;
	bool ok = pick(d, &sub, &type);

	/* Vary content by how often this type came round, not by n. */
	uint64_t round = d->n / 6;
	d->n++;
	if (!ok)
		return;
	struct br_event *ev = br_sample_event(type, "demo", sub->id, sub->login,
	    sub->name, round);
	if (ev == NULL)
		return;
	br_bus_submit(d->bus, ev);
	d->emitted++;
}

static void
tick(void *arg)
{
	struct br_demo *d = arg;
	int64_t now = br_mono_us();
	double elapsed = (double)(now - d->started_us) / 1e6;
	unsigned long due = (unsigned long)(elapsed * d->rate) + 1;

	if (d->stopped)
		return;
	if (d->count > 0 && due > d->count)
		due = d->count;
	unsigned long batch = 0;
	while (d->emitted < due && !br_bus_full(d->bus) &&
	    batch < TICK_BATCH_MAX) {
		unsigned long before = d->emitted;
		emit_one(d);
		if (d->emitted == before && d->n % 64 == 0)
			break;  /* nothing enabled to emit */
		batch += d->emitted - before;
	}
	if (d->count > 0 && d->emitted >= d->count) {
		log_info("demo: emitted all %lu events", d->count);
		return;
	}
	if (batch == TICK_BATCH_MAX) {
		br_timer_start(&d->timer, 0);   /* behind: go on after one turn */
		return;
	}
	long long ms = (long long)(1000.0 / d->rate);
	br_timer_start(&d->timer, ms < TICK_MS_MIN ? TICK_MS_MIN : ms);
}

struct br_demo *
br_demo_new(struct br_loop *loop, struct br_bus *bus, struct br_subs *subs,
    double rate, unsigned long count)
{
	struct br_demo *d = br_xcalloc(1, sizeof *d);

	d->loop = loop;
	d->bus = bus;
	d->subs = subs;
	d->rate = rate >= 0.01 ? rate : 1;
	d->count = count;
	d->started_us = br_mono_us();
	br_timer_init(&d->timer, loop, tick, d);
	br_timer_start(&d->timer, 200);
	return d;
}

void
br_demo_stop(struct br_demo *d)
{
	d->stopped = true;
	br_timer_stop(&d->timer);
}

void
br_demo_free(struct br_demo *d)
{
	if (d == NULL)
		return;
	br_timer_stop(&d->timer);
	free(d);
}

static const char *
demo_subscribe(void *impl, struct br_sub *sub, char *const *events, size_t n,
    br_source_done done, void *arg)
{
	char id[32];

	if (sub->id == NULL) {
		br_demo_channel_id(sub->login, id, sizeof id);
		sub->id = br_xstrdup(id);
	}
	if (sub->login == NULL)
		sub->login = br_xasprintf("demo_%s", sub->id);
	if (sub->name == NULL)
		sub->name = br_xstrdup(sub->login);
	for (size_t i = 0; i < n; i++)
		br_sub_set_status(sub, events[i], "enabled");
	done(arg, NULL);
	return NULL;
}

static void
demo_unsubscribe(void *impl, struct br_sub *sub, char *const *events,
    size_t n)
{
}

static const char *
demo_status(void *impl)
{
	return "up";
}

static const struct br_source_ops demo_ops = {
	.subscribe = demo_subscribe,
	.unsubscribe = demo_unsubscribe,
	.status = demo_status,
};

struct br_source
br_demo_source(struct br_demo *d)
{
	return (struct br_source){ "demo", "demo", &demo_ops, d };
}
