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
#include "subauth.h"
#include "wants.h"
#include "wsrx.h"

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
/* The event's time from a PubSub timestamp, when there is a valid one. */
void br_ps_set_time(struct br_event *ev, const char *when);
/* s in lower case (ASCII), cut to size. */
void br_ps_lower(const char *s, char *buf, size_t size);

/* pubsub_mod.c */
int br_ps_map_moderation(struct br_event *ev, json_t *doc,
                         struct br_ps_ctx *c);

/* ---- the source ---- */

#define PS_TOPICS_MAX 50        /* per connection (Twitch's limit) */
#define PS_CONNS_MAX 10         /* per client IP (Twitch's limit) */
#define PS_FRAME_MAX (1024 * 1024)

enum ps_tstate {
	PT_NEW,         /* to be LISTENed on its connection */
	PT_SENT,        /* LISTEN sent, its RESPONSE awaited */
	PT_OK,
	PT_RETRY,       /* ERR_SERVER: LISTEN again after a backoff */
	PT_AUTHWAIT,    /* ERR_BADAUTH: LISTEN again after the refresh */
	PT_FAILED,      /* kept, not LISTENed, until a new request */
};

/* One topic string, shared by the wants that need it (channel_points
 * and channel_points_update; one whispers.<user> for several channels). */
struct ps_topic {
	struct ps_topic *next;
	char name[BR_PS_TOPIC_MAX];
	char *login;            /* the held channel it was made for */
	struct ps_conn *conn;   /* where it is (to be) LISTENed, or NULL */
	enum ps_tstate st;
	char nonce[24];         /* of the LISTEN in flight */
	int64_t sent_ms;
	unsigned token_gen;     /* of the subscription's own token it sent */
	bool retried_auth;      /* one refresh per topic and request */
	bool used;              /* mark for the sweep */
	char *reason;           /* "failed: ..." while PT_FAILED */
};


struct ps_conn {
	struct br_pubsub *ps;   /* NULL once the source is gone */
	struct ps_conn *next;
	unsigned serial;        /* names it in the log */
	struct br_wsrx rx;      /* the WebSocket */
	struct br_timer ping, pong, resp;
	bool pong_owed, resp_owed;      /* their deadlines wait for reading */
	bool open, dropping;
	bool superseded;        /* replaced after RECONNECT: no news */
	bool moving;            /* RECONNECT received: takes no new topic */
	struct ps_conn *replaces;       /* the old one, until we took over */
};

struct br_pubsub {
	struct br_loop *loop;
	struct br_bus *bus;
	struct br_helix *helix;
	struct br_auth *auth;
	struct br_subs *subs;
	struct br_metrics *metrics;
	struct br_source_hooks hooks;
	char *url, *ca_file;
	long ping_ms, pong_ms, response_ms;
	struct br_wsrx_net *net;
	struct ps_conn *conns;
	struct ps_topic *topics;
	struct br_wants *wants;
	struct br_subauth *subauth;     /* subscriptions' own tokens */
	struct br_backoff backoff;      /* reconnects */
	struct br_backoff server_backoff;       /* ERR_SERVER */
	struct br_timer retry, deadline, server_retry;
	bool stopped, refreshing;
	unsigned reconnects, conn_serial;
};

/* pubsub_conn.c */
int ps_net_init(struct br_pubsub *ps);
struct ps_conn *ps_connect(struct br_pubsub *ps, struct ps_conn *replaces);
void ps_drop(struct ps_conn *c, const char *why);
void ps_drop_all(struct br_pubsub *ps);
/* Queues a text frame; the copy is wiped after it was written. */
void ps_send(struct ps_conn *c, const char *text, size_t len);
void ps_arm_ping(struct ps_conn *c);
void ps_conn_forget(struct ps_conn *c);

/* pubsub_pool.c */
struct ps_topic *ps_topic_find(struct br_pubsub *ps, const char *name);
struct ps_topic *ps_topic_get(struct br_pubsub *ps, const char *name,
                              const char *login);
void ps_pool_sync(struct br_pubsub *ps);
void ps_on_open(struct br_pubsub *ps, struct ps_conn *c);
void ps_on_lost(struct br_pubsub *ps, struct ps_conn *c);
void ps_on_response(struct br_pubsub *ps, struct ps_conn *c,
                    const char *nonce, const char *error);
void ps_on_reconnect(struct br_pubsub *ps, struct ps_conn *c);
void ps_response_timeout(struct br_pubsub *ps, struct ps_conn *c);
void ps_topics_free(struct br_pubsub *ps);

/* pubsub.c */
void ps_reconcile(struct br_pubsub *ps);
void ps_on_message(struct br_pubsub *ps, struct br_ps_frame *f);
/* A topic reached a final state: its wants follow. */
void ps_topic_settled(struct br_pubsub *ps, struct ps_topic *t);
void ps_bad_auth(struct br_pubsub *ps, struct ps_topic *t);
void ps_lost_news(struct br_pubsub *ps, const char *detail);

#endif
