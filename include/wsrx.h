/*
 * The WebSocket client side shared by the Twitch connections (EventSub,
 * PubSub): the vhost and the connect, and on receiving, whole messages
 * out of lws's pieces, a size limit, and backpressure. When the broker is connected but behind
 * (br_bus_backlogged), reading stops (lws_rx_flow_control) and resumes
 * once the bus drained; the messages wait in the socket meanwhile, so
 * nothing is refused. Embedded in its connection; loop thread only.
 */
#ifndef BR_WSRX_H
#define BR_WSRX_H

#include <stdbool.h>
#include <stddef.h>

#include <libwebsockets.h>

#include "bus.h"
#include "loop.h"
#include "metrics.h"

struct br_wsrx_hooks {
	/* One whole message; buf is valid for the call only. */
	void (*message)(void *ctx, const char *buf, size_t len);
	/* Reading stopped / resumed: timers that judge the peer by its
	 * silence must not run meanwhile. Either may be NULL. */
	void (*paused)(void *ctx);
	void (*resumed)(void *ctx);
};

struct br_wsrx {
	struct br_bus *bus;
	struct br_metrics *metrics;
	const char *name;       /* log prefix */
	size_t max;             /* larger messages are skipped and counted */
	struct br_wsrx_hooks hooks;
	void *ctx;
	struct lws *wsi;        /* the connection, from the last piece */
	char *buf;              /* a message being put together */
	size_t len;
	bool oversize, paused, stopped;
	struct br_timer resume; /* polls the bus while paused */
};

/* A client-only vhost for protocols, trusting ca_file (NULL or "": the
 * system's CAs); NULL on failure. */
struct lws_vhost *br_wsrx_vhost(struct br_loop *loop, const char *name,
                                const struct lws_protocols *protocols,
                                const char *ca_file);
/* Connects to url (ws:// or wss://) speaking protocol, with userdata;
 * logs "<who> connecting to <scheme://host:port><note>" (not the path).
 * lws never pings on its own: each protocol has its own liveness. NULL
 * when url does not parse (logged) or lws refused at once; lws may also
 * have called back with a connection error meanwhile. */
struct lws *br_wsrx_connect(struct br_loop *loop, struct lws_vhost *vhost,
                            const char *url, const char *protocol,
                            void *userdata, const char *who,
                            const char *note);

void br_wsrx_init(struct br_wsrx *r, struct br_loop *loop,
                  struct br_bus *bus, struct br_metrics *metrics,
                  const char *name, size_t max,
                  const struct br_wsrx_hooks *hooks, void *ctx);
/* A piece lws handed to LWS_CALLBACK_CLIENT_RECEIVE. */
void br_wsrx_receive(struct br_wsrx *r, struct lws *wsi, const void *in,
                     size_t len);
bool br_wsrx_paused(const struct br_wsrx *r);
/* No more reading, pausing or hooks: the connection is being dropped or
 * its owner is gone. */
void br_wsrx_stop(struct br_wsrx *r);
/* Stops and frees what it holds (with the connection). */
void br_wsrx_free(struct br_wsrx *r);

#endif
