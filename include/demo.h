/*
 * The demo source: sample events for every channel held on the "demo"
 * transport, so a new user sees the bridge work before configuring
 * Twitch. Timer-driven on the loop.
 */
#ifndef BR_DEMO_H
#define BR_DEMO_H

#include "bus.h"
#include "loop.h"
#include "source.h"
#include "subs.h"

struct br_demo;

/* rate: events per second in all (>= 1); count: stop after that many
 * (0 = never). */
struct br_demo *br_demo_new(struct br_loop *loop, struct br_bus *bus,
                            struct br_subs *subs, double rate,
                            unsigned long count);
void br_demo_free(struct br_demo *d);

struct br_source br_demo_source(struct br_demo *d);

/* Stops emitting (shutdown). */
void br_demo_stop(struct br_demo *d);

/* A stable pseudo broadcaster id for a demo login. */
void br_demo_channel_id(const char *login, char *buf, size_t size);

#endif
