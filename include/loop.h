/*
 * The event loop: owns the libwebsockets context, the one thread that
 * touches bridge state, timers, and the inbox through which other threads
 * (paho's, workers') hand it work.
 */
#ifndef BR_LOOP_H
#define BR_LOOP_H

#include <stdbool.h>
#include <libwebsockets.h>

struct br_loop;

typedef void (*br_loop_fn)(void *ctx, void *arg);

struct br_loop *br_loop_new(void);
void br_loop_free(struct br_loop *loop);

struct lws_context *br_loop_lws(struct br_loop *loop);

/* Thread-safe: queue fn(ctx, arg) to run on the loop thread and wake the
 * loop. The only call other threads may make into the bridge. */
void br_loop_post(struct br_loop *loop, br_loop_fn fn, void *ctx, void *arg);

/* Runs until br_loop_stop(); returns 0. */
int br_loop_run(struct br_loop *loop);
void br_loop_stop(struct br_loop *loop);

/* One-shot timer on the loop thread; re-arm from the callback for
 * periodic work. Embed it in the owner's struct. */
struct br_timer {
	lws_sorted_usec_list_t sul;     /* first: lws hands us its address */
	struct br_loop *loop;
	void (*cb)(void *arg);
	void *arg;
};

void br_timer_init(struct br_timer *t, struct br_loop *loop,
                   void (*cb)(void *arg), void *arg);
void br_timer_start(struct br_timer *t, long long ms);
void br_timer_stop(struct br_timer *t);
bool br_timer_pending(const struct br_timer *t);

#endif
