/*
 * The control topic (CONTRACT section 5): acts on parsed requests against
 * the subscriptions and the sources, and answers every request, good or
 * bad. It publishes through the callbacks its owner gives it.
 */
#ifndef BR_CONTROL_H
#define BR_CONTROL_H

#include <stddef.h>
#include <jansson.h>

#include "bus.h"
#include "request.h"
#include "source.h"
#include "subs.h"

struct br_control_env {
	void *ctx;
	struct br_subs *subs;
	struct br_bus *bus;
	/* The source serving a transport, or NULL when not built/enabled. */
	struct br_source *(*source)(void *ctx, const char *transport);
	/* The transports that are available, for error messages. */
	void (*transports)(void *ctx, char *buf, size_t size);
	/* data of the health answer; a new reference. */
	json_t *(*health)(void *ctx);
	/* Publishes the answer (stolen) on the response topic, and on
	 * response_topic with corr when given. */
	void (*reply)(void *ctx, const char *action, json_t *answer,
	              const char *response_topic, const char *corr,
	              size_t corr_len);
	/* The held subscriptions changed: persist, mirror, availability. */
	void (*changed)(void *ctx);
};

struct br_control;

struct br_control *br_control_new(const struct br_control_env *env);
void br_control_free(struct br_control *c);

/* One request as it arrived on <base>/bridge/request/<action>. */
void br_control_handle(struct br_control *c, const char *action,
                       const char *payload, size_t len,
                       const char *response_topic, const char *corr,
                       size_t corr_len);

/* Acts on a request from the configuration ("channels" entries, as
 * subscribe or unsubscribe); the outcome is logged, not answered. */
void br_control_apply(struct br_control *c, enum br_action action,
                      json_t *request);

/* Re-subscribes everything held at start (restored from the state dir)
 * with its source. */
void br_control_restore(struct br_control *c);

/* Requests whose sources have not answered yet. */
size_t br_control_pending(const struct br_control *c);

#endif
