/*
 * Private to the PubSub source: pubsub_norm.c and pubsub_mod.c (the pure
 * normalizer) share a context; pubsub.c (topics, requests, hooks) and
 * pubsub_conn.c (the sockets) share the pool.
 */
#ifndef BR_PUBSUB_INT_H
#define BR_PUBSUB_INT_H

#include <stdint.h>

#include "backoff.h"
#include "eventsub_int.h"
#include "pubsub.h"
#include "wants.h"

/* ---- the normalizer ---- */

/* One message being normalized: what the mappers found out besides the
 * fields they add. Strings are borrowed from the document or the
 * buffers here. */
struct br_ps_ctx {
	const char *type;               /* the contract type, if not the route's */
	const char *id;                 /* the event id, NULL: derived */
	const char *ch_id, *ch_login, *ch_name;
	char idbuf[160];
	char chbuf_id[32], chbuf_login[64], chbuf_name[64];
};

const char *br_ps_id(json_t *obj, const char *key, char *buf, size_t size);
json_t *br_ps_person(const char *id, const char *login, const char *name);

/* pubsub_mod.c */
int br_ps_map_moderation(struct br_event *ev, json_t *doc,
                         struct br_ps_ctx *c);

#endif
