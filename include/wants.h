/*
 * The EventSub subscriptions a source wants, shared by the WebSocket and
 * the webhook sources: one want per (channel, event, EventSub spec), the
 * subscribe requests waiting on them, and the status each event of a held
 * subscription shows ("enabled" when every spec behind it is, else the
 * first failure). The sources decide how a want gets created at Twitch;
 * this module keeps the books.
 */
#ifndef BR_WANTS_H
#define BR_WANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "eventsub.h"
#include "helix.h"
#include "source.h"
#include "subs.h"

enum br_want_state {
	BR_WANT_NEW,            /* to be created */
	BR_WANT_POSTING,        /* a create is under way */
	BR_WANT_VERIFYING,      /* created; Twitch is checking the callback */
	BR_WANT_ENABLED,
	BR_WANT_FAILED,
	BR_WANT_REVOKED,
};

struct br_wants_req;

struct br_want {
	struct br_want *next;
	uint64_t serial;        /* finds it again from an asynchronous answer */
	char *login, *event, *broadcaster_id;
	struct br_es_spec spec;
	char *twitch_id;        /* Twitch's subscription id, once created */
	enum br_want_state st;
	char *reason;           /* "failed: ...", "revoked: ..." */
	struct br_wants_req *req; /* the subscribe request waiting, or NULL */
	bool retried_auth;      /* one token refresh per want */
	bool auth_wait;         /* NEW, but waits for its token's refresh */
	int64_t until_ms;       /* WebSub: when to renew the lease */
	int slot;               /* WebSocket: its session, -1 until placed */
};

struct br_wants;

/* What stands behind an event name on this transport (EventSub specs by
 * default: br_eventsub_specs). */
typedef size_t (*br_wants_specs_fn)(const char *event,
                                    struct br_es_spec *out);

struct br_wants *br_wants_new(struct br_subs *subs, const char *transport,
                              const struct br_source_hooks *hooks,
                              br_wants_specs_fn specs);
void br_wants_free(struct br_wants *ws);

struct br_want *br_wants_first(struct br_wants *ws);
struct br_want *br_wants_by_serial(struct br_wants *ws, uint64_t serial);
struct br_want *br_wants_by_twitch_id(struct br_wants *ws, const char *id);

/* Wants not failed or revoked: something still needs Twitch. */
bool br_wants_live(const struct br_wants *ws);

/* Starts a subscribe request for events of sub (busy meanwhile). */
struct br_wants_req *br_wants_request(struct br_wants *ws, struct br_sub *sub,
                                      char *const *events, size_t n,
                                      br_source_done done, void *arg);
struct br_sub *br_wants_req_sub(struct br_wants_req *r);
bool br_wants_req_retried(struct br_wants_req *r);  /* sets it, too */

/* Replaces the wants for the request's events with fresh ones (NEW) for
 * every spec behind them. Returns how many were made; with none the
 * request has been finished already. */
size_t br_wants_expand(struct br_wants *ws, struct br_wants_req *r);

/* Ends a request: with error, the whole request failed (its wants are
 * dropped); else the events' statuses are written to the sub. Calls the
 * request's done. */
void br_wants_finish(struct br_wants *ws, struct br_wants_req *r,
                     const char *error);

/* Sets a want's state; a final state (enabled, failed, revoked) settles
 * it: its request moves on, or the held status is updated. */
void br_wants_set(struct br_wants *ws, struct br_want *w,
                  enum br_want_state st, const char *reason);

/* Lets a want's request be answered without a final state (a webhook
 * still being verified shows as pending). */
void br_wants_release(struct br_wants *ws, struct br_want *w);

/* Every want still NEW or POSTING fails with reason. */
void br_wants_fail_pending(struct br_wants *ws, const char *reason);

/* Removes the wants for (login, event); each with a Twitch id is handed
 * to gone(arg, want) first so the source can delete it at Twitch. */
void br_wants_remove(struct br_wants *ws, const char *login,
                     const char *event,
                     void (*gone)(void *arg, struct br_want *w), void *arg);

/* Takes a Helix /users answer for the request's channel: fills the
 * sub's id, login and display name and returns 0, or returns -1 with a
 * sentence in msg (unknown channel, Twitch's refusal). */
int br_wants_adopt_user(struct br_wants_req *r,
                        const struct br_helix_response *res, char *msg,
                        size_t size);

/* "failed: <why>" for a Helix answer that refused a create. */
void br_wants_failure(const struct br_helix_response *res, char *buf,
                      size_t size);
/* Helix's message, or the transport error. */
const char *br_helix_message(const struct br_helix_response *res);

/* Distinct event names of all wants, as a JSON array (new reference). */
json_t *br_wants_events(const struct br_wants *ws);

/* ---- the request's channel (wants_lookup.c) ---- */

struct br_auth;
struct br_subauth;

struct br_wants_lookup {
	struct br_helix *helix;
	struct br_auth *auth;
	bool app;               /* the app token, else the sub's or the user's */
	const char *auth_failed;        /* why, when the user token is dead */
	void (*expanded)(void *ctx);    /* new wants came of the request */
	void *ctx;
	struct br_subauth *subauth;     /* when the sub's own token is refused */
};

/* Completes the request's channel (Helix /users when its id or login is
 * missing; the display name defaults to the login) and expands it into
 * wants; a failure finishes the request with a sentence. */
void br_wants_resolve(struct br_wants *ws, struct br_wants_req *r,
                      const struct br_wants_lookup *how);

#endif
