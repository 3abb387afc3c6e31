/*
 * Private to the EventSub WebSocket source: esws.c keeps the wanted
 * subscriptions and talks to Helix; esws_conn.c owns the sockets.
 */
#ifndef BR_ESWS_INT_H
#define BR_ESWS_INT_H

#include <stdint.h>

#include "backoff.h"
#include "esws.h"
#include "eventsub.h"
#include "subauth.h"
#include "wants.h"
#include "wsrx.h"

#define ESWS_SOURCE "eventsub-websocket"
#define ESWS_FRAME_MAX (1024 * 1024)
#define ESWS_GRACE_S 5

struct esws_session;

struct esws_conn {
	struct br_esws *es;     /* NULL once the source is gone */
	struct esws_session *sess;
	struct esws_conn *next;
	struct br_wsrx rx;      /* the WebSocket */
	char *session_id;
	long keepalive_s;
	struct br_timer watchdog;
	bool welcomed, migration;
	bool superseded;        /* replaced: its end is no news */
	int close_code;
};

/* Twitch allows 300 subscriptions on one WebSocket and 3 WebSockets per
 * user: a session per 300, up to three. */
#define ESWS_SESSIONS 3
#define ESWS_PER_SESSION 300

struct esws_session {
	struct br_esws *es;
	int index;
	struct esws_conn *conns;
	struct esws_conn *active;       /* the welcomed socket */
	struct br_backoff backoff;
	struct br_timer retry;
	unsigned reconnects;
};

struct br_esws {
	struct br_loop *loop;
	struct br_bus *bus;
	struct br_helix *helix;
	struct br_auth *auth;
	struct br_subs *subs;
	struct br_metrics *metrics;
	struct br_source_hooks hooks;
	char *url, *ca_file;
	struct br_wsrx_net *net;
	struct esws_session sess[ESWS_SESSIONS];
	struct br_wants *wants;
	struct br_subauth *subauth;     /* subscriptions' own tokens */
	struct br_timer deadline;       /* for requests waiting on a session */
	bool stopped, refreshing;
};

/* esws_conn.c */
int esws_net_init(struct br_esws *es);
void esws_connect(struct esws_session *s, const char *url, bool migration);
void esws_drop(struct esws_conn *c, const char *why);
void esws_drop_all(struct esws_session *s);
bool esws_connecting(const struct esws_session *s);

/* esws.c, called from esws_conn.c */
void esws_on_welcome(struct esws_session *s, struct esws_conn *c);
void esws_on_lost(struct esws_session *s, struct esws_conn *c, int code);
void esws_on_frame(struct br_esws *es, struct esws_conn *c,
                   struct br_es_frame *f);

#endif
