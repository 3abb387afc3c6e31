/*
 * The EventSub WebSocket source: one session (two during a server-asked
 * migration), the subscriptions wanted for every channel held on the
 * "websocket" transport, and the Helix calls that create them on the
 * session. Events go to the bus; lifecycle news to the hooks.
 */
#ifndef BR_ESWS_H
#define BR_ESWS_H

#include "auth.h"
#include "bus.h"
#include "helix.h"
#include "loop.h"
#include "metrics.h"
#include "source.h"
#include "subs.h"

struct br_esws_options {
	const char *url;        /* twitch.eventsub_url */
	const char *ca_file;    /* twitch.ca_file, or NULL/"" */
};

struct br_esws;

struct br_esws *br_esws_new(struct br_loop *loop, struct br_bus *bus,
                            struct br_helix *helix, struct br_auth *auth,
                            struct br_subs *subs, struct br_metrics *metrics,
                            const struct br_esws_options *opts,
                            const struct br_source_hooks *hooks);
void br_esws_free(struct br_esws *es);

struct br_source br_esws_source(struct br_esws *es);

/* The user token became usable: continue whatever waited for it. */
void br_esws_auth_ready(struct br_esws *es);

/* Shutdown: close the sockets, stop reconnecting. */
void br_esws_stop(struct br_esws *es);

#endif
