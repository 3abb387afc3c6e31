/*
 * The WebSocket client of the Twitch connections (EventSub, PubSub): the
 * connect (TCP, TLS for wss://, the upgrade), whole messages out of
 * frames, a size limit, pings answered, text sent, and backpressure: when
 * the broker is connected but behind (br_bus_backlogged) reading stops
 * and resumes once the bus drained; the messages wait in the socket
 * meanwhile, so nothing is refused.
 *
 * Why not lws's own WebSocket client: it parses what it reads a byte at a
 * time, a fifth of the loop thread's time at 50,000 events/s; here a
 * frame is found by its header and handed on where it was read. lws
 * still runs the loop: the socket is adopted as a plain descriptor that
 * lws polls for us. Embedded in its connection; loop thread only.
 */
#ifndef BR_WSRX_H
#define BR_WSRX_H

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "loop.h"
#include "metrics.h"
#include "wsframe.h"

struct br_wsrx_hooks {
	/* The upgrade is done: messages may come, and text sent before is
	 * on its way. */
	void (*open)(void *ctx);
	/* One whole message; buf is valid for the call only. */
	void (*message)(void *ctx, const char *buf, size_t len);
	/* The server sent a close frame (code 0 when it had none); the
	 * connection goes next. May be NULL. */
	void (*peer_close)(void *ctx, int code, const char *reason,
	                   size_t len);
	/* The connection is over (why: what ended it); the last call, after
	 * which the owner may free the struct br_wsrx. */
	void (*gone)(void *ctx, const char *why);
	/* Reading stopped / resumed: timers that judge the peer by its
	 * silence must not run meanwhile. Either may be NULL. */
	void (*paused)(void *ctx);
	void (*resumed)(void *ctx);
};

/* What the connections of one source share: their lws vhost and what
 * their TLS trusts. */
struct br_wsrx_net;

/* ca_file: NULL or "" for the system's CAs. NULL on failure (logged). */
struct br_wsrx_net *br_wsrx_net_new(struct br_loop *loop, const char *name,
                                    const char *ca_file);
void br_wsrx_net_free(struct br_wsrx_net *net);

struct br_wsrx_out;
struct br_netconn;
struct lws;

struct br_wsrx {
	struct br_wsrx_net *net;
	struct br_bus *bus;
	struct br_metrics *metrics;
	const char *name;       /* log prefix */
	struct br_wsrx_hooks hooks;
	void *ctx;

	int state;
	struct lws *wsi;
	struct br_netconn *conn;
	char key[BR_WS_KEY_LEN];        /* the upgrade's, to check its answer */
	unsigned char *in;      /* read, not yet handled (a partial frame) */
	size_t in_len, in_cap;
	bool read_full;         /* the last read filled its buffer */
	struct br_wsdec dec;
	bool paused, closing;
	bool peer_closed;       /* its close frame came: read no more */
	bool stopped;           /* the owner is going: only gone may come */
	char why[160];          /* what ended it, for the gone hook */
	struct br_wsrx_out *out, **out_tail;
	struct br_timer resume; /* polls the bus while paused */
};

void br_wsrx_init(struct br_wsrx *r, struct br_wsrx_net *net,
                  struct br_loop *loop, struct br_bus *bus,
                  struct br_metrics *metrics, const char *name, size_t max,
                  const struct br_wsrx_hooks *hooks, void *ctx);

/* Connects to url (ws:// or wss://); logs "<who> connecting to
 * <scheme://host:port><note>" (not the path). 0: under way, and the gone
 * hook will come; -1: it failed at once (logged), and no hook will. */
int br_wsrx_open(struct br_wsrx *r, const char *url, const char *who,
                 const char *note);

/* Sends a text message (queued until the upgrade is done and the socket
 * takes it). Copies are zeroed when freed: PubSub's LISTEN holds a
 * token. */
void br_wsrx_send_text(struct br_wsrx *r, const char *text, size_t len);

bool br_wsrx_paused(const struct br_wsrx *r);
/* Whether it is open or on its way (not closing, not over). */
bool br_wsrx_live(const struct br_wsrx *r);

/* The owner is going away before the connection does (it goes with the
 * lws context): from now on no hook but gone. */
void br_wsrx_stop(struct br_wsrx *r);

/* Drops the connection at once, without a close handshake: no more
 * messages or pauses; the gone hook follows from the loop. */
void br_wsrx_close(struct br_wsrx *r);

/* Frees what it holds. Only once gone came, or when open never began
 * or failed. */
void br_wsrx_free(struct br_wsrx *r);

#endif
