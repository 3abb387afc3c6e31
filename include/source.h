/*
 * What every Twitch source offers the control module: hold or release
 * events of a subscription. Sources report events to the bus only.
 */
#ifndef BR_SOURCE_H
#define BR_SOURCE_H

#include <stddef.h>
#include <jansson.h>

#include "subs.h"

/* error NULL: every event has its status. Otherwise the whole request
 * failed (unknown channel...) and error says why. */
typedef void (*br_source_done)(void *arg, const char *error);

struct br_source_ops {
	/* Start holding events for sub: resolve the channel if needed
	 * (filling sub->id/login/name), set each event's status with
	 * br_sub_set_status ("enabled" or "failed: <reason>"), then call
	 * done(arg) once, now or later. An error sentence may be returned
	 * instead (missing credentials...), with done not called and
	 * nothing changed. */
	const char *(*subscribe)(void *impl, struct br_sub *sub,
	                         char *const *events, size_t n,
	                         br_source_done done, void *arg);
	/* Stop holding events (already removed from sub). */
	void (*unsubscribe)(void *impl, struct br_sub *sub,
	                    char *const *events, size_t n);
	/* "up", "down", "connecting", ... */
	const char *(*status)(void *impl);
};

/* What a source tells the bridge besides events. */
struct br_source_hooks {
	void *ctx;
	/* Statuses of held subscriptions changed (persist, mirror). */
	void (*changed)(void *ctx);
	/* A lifecycle event for <base>/bridge/event: type is auth_failed,
	 * token_refreshed, reconnect, revoked, source_down or source_up;
	 * channel may be NULL; events (may be NULL) is stolen. */
	void (*event)(void *ctx, const char *type, const char *source,
	              const char *channel, json_t *events, const char *detail);
};

struct br_source {
	const char *transport;  /* as in subscribe requests */
	const char *name;       /* as in events' "source" */
	const struct br_source_ops *ops;
	void *impl;
};

#endif
