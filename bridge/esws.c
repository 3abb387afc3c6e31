/*
 * The EventSub WebSocket source: getting the wanted subscriptions (see
 * wants.h) created on the live session. reconcile() is the one place
 * that decides what to do next; a request, a welcome, a Helix answer or a
 * lost socket changes the wants and calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esws_int.h"
#include "log.h"
#include "util.h"

#define AUTH_FAILED "the Twitch user token was refused and could not be " \
	"refreshed: run `twitch2mqtt auth` or set a new twitch.access_token"

static void reconcile(struct br_esws *es);

static struct br_sub *
held(struct br_esws *es, const char *login)
{
	return br_subs_find(es->subs, "websocket", login, NULL);
}

static const char *
token_for(struct br_esws *es, const char *login)
{
	struct br_sub *sub = login ? held(es, login) : NULL;
	if (sub != NULL && sub->token != NULL)
		return sub->token;
	return br_auth_user_token(es->auth);
}

/* ---- Helix: creating and deleting ---- */

static void
after_refresh(void *arg, bool ok)
{
	struct br_esws *es = arg;

	es->refreshing = false;
	if (!ok)
		br_wants_fail_pending(es->wants, "failed: authorization failed ("
		    AUTH_FAILED ")");
	reconcile(es);
}

/* A want whose subscription's own token met a 401 waits for its refresh
 * (subauth.c), then is tried again or fails. */
struct own_wait {
	struct br_esws *es;
	uint64_t serial;
};

static void
own_refreshed(void *arg, bool ok)
{
	struct own_wait *ow = arg;
	struct br_esws *es = ow->es;
	struct br_want *w = br_wants_by_serial(es->wants, ow->serial);

	free(ow);
	if (w == NULL || !w->auth_wait)
		return;
	w->auth_wait = false;
	if (!ok && w->st == BR_WANT_NEW)
		br_wants_set(es->wants, w, BR_WANT_FAILED, BR_SUBAUTH_FAILED);
	reconcile(es);
}

static void
own_refused(struct br_esws *es, struct br_want *w, struct br_sub *sub,
    unsigned gen)
{
	struct own_wait *ow = br_xcalloc(1, sizeof *ow);
	bool first = !w->retried_auth;

	ow->es = es;
	ow->serial = w->serial;
	w->retried_auth = true;
	w->st = BR_WANT_NEW;
	w->auth_wait = true;
	br_subauth_refused(es->subauth, sub, gen, first, "401 from Helix",
	    own_refreshed, ow);
}

/* One refresh for every want that met a 401 with the bridge's token; they
 * are tried again after it, or fail with it. */
static void
need_refresh(struct br_esws *es)
{
	if (es->refreshing)
		return;
	es->refreshing = true;
	br_auth_refresh(es->auth, after_refresh, es);
}

static void
delete_at_twitch(struct br_esws *es, const char *login, const char *id)
{
	char *path = br_xasprintf("/eventsub/subscriptions?id=%s", id);
	br_helix_api(es->helix, "DELETE", path, token_for(es, login), NULL,
	    NULL, NULL);
	free(path);
}

struct call {
	struct esws_session *sess;
	uint64_t serial;
	char *session_id;
	unsigned token_gen;     /* of the subscription's own token */
};

static bool
same_session(struct esws_session *s, const char *session_id)
{
	return s->active != NULL && s->active->session_id != NULL &&
	    strcmp(s->active->session_id, session_id) == 0;
}

static void
created(void *arg, const struct br_helix_response *res)
{
	struct call *call = arg;
	struct br_esws *es = call->sess->es;
	struct br_want *w = br_wants_by_serial(es->wants, call->serial);
	json_t *data = json_array_get(json_object_get(res->json, "data"), 0);
	const char *id = json_string_value(json_object_get(data, "id"));
	struct br_sub *sub;
	char reason[512];

	if (w == NULL || w->st != BR_WANT_POSTING ||
	    !same_session(call->sess, call->session_id)) {
		/* Unsubscribed meanwhile: don't leave it behind at Twitch. */
		if (w == NULL && res->status == 202 && id != NULL)
			delete_at_twitch(es, NULL, id);
		goto out;
	}
	sub = held(es, w->login);
	if (res->status == 202 || res->status == 409) {
		free(w->twitch_id);
		w->twitch_id = id ? br_xstrdup(id) : NULL;
		br_backoff_reset(&call->sess->backoff);
		br_wants_set(es->wants, w, BR_WANT_ENABLED, NULL);
	} else if (res->status == 401 && sub != NULL && sub->token != NULL) {
		own_refused(es, w, sub, call->token_gen);
	} else if (res->status == 401 && !w->retried_auth && sub != NULL) {
		w->retried_auth = true;
		w->st = BR_WANT_NEW;
		need_refresh(es);
	} else {
		br_wants_failure(res, reason, sizeof reason);
		log_warn("esws: %s for %s (%s v%s): %s", w->event, w->login,
		    w->spec.type, w->spec.version, reason);
		br_wants_set(es->wants, w, BR_WANT_FAILED, reason);
	}
out:
	free(call->session_id);
	free(call);
}

static void
post_create(struct esws_session *s, struct br_want *w)
{
	struct br_esws *es = s->es;
	const char *user = br_auth_user_id(es->auth);
	json_t *cond = br_eventsub_condition(&w->spec, w->broadcaster_id,
	    user ? user : w->broadcaster_id);
	json_t *body = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}}", "type",
	    w->spec.type, "version", w->spec.version, "condition", cond,
	    "transport", "method", "websocket", "session_id",
	    s->active->session_id);
	struct call *call = br_xcalloc(1, sizeof *call);
	struct br_sub *sub = held(es, w->login);

	call->sess = s;
	call->serial = w->serial;
	call->session_id = br_xstrdup(s->active->session_id);
	call->token_gen = sub != NULL ? sub->token_gen : 0;
	w->st = BR_WANT_POSTING;
	br_helix_api(es->helix, "POST", "/eventsub/subscriptions",
	    token_for(es, w->login), body, created, call);
}

/* ---- deciding what to do next ---- */

static void
retry_fired(void *arg)
{
	struct esws_session *s = arg;
	reconcile(s->es);
}

static void
schedule_reconnect(struct esws_session *s)
{
	int64_t ms = br_backoff_next(&s->backoff);
	log_info("esws: session %d reconnecting in %lld ms", s->index,
	    (long long)ms);
	br_timer_start(&s->retry, ms);
}

static bool
live(const struct br_want *w)
{
	return w->st != BR_WANT_FAILED && w->st != BR_WANT_REVOKED;
}

/* New wants go to the first session with room, so that a session holds
 * at most ESWS_PER_SESSION subscriptions. */
static void
place(struct br_esws *es)
{
	size_t used[ESWS_SESSIONS] = { 0 };

	for (struct br_want *w = br_wants_first(es->wants); w; w = w->next)
		if (live(w) && w->slot >= 0)
			used[w->slot]++;
	for (struct br_want *w = br_wants_first(es->wants); w; w = w->next) {
		if (!live(w) || w->slot >= 0)
			continue;
		for (int i = 0; i < ESWS_SESSIONS && w->slot < 0; i++)
			if (used[i] < ESWS_PER_SESSION)
				used[w->slot = i]++;
		if (w->slot < 0)
			br_wants_set(es->wants, w, BR_WANT_FAILED, "failed: all "
			    "three WebSocket sessions hold 300 subscriptions "
			    "(Twitch's limit); use the webhook transport");
	}
}

static bool
session_needed(struct esws_session *s)
{
	for (struct br_want *w = br_wants_first(s->es->wants); w; w = w->next)
		if (live(w) && w->slot == s->index)
			return true;
	return false;
}

static void
reconcile_session(struct esws_session *s)
{
	struct br_esws *es = s->es;

	if (!session_needed(s)) {
		/* An empty session is closed by Twitch (4003): keep none. */
		if (s->conns != NULL)
			esws_drop_all(s);
		return;
	}
	if (s->active == NULL) {
		if (!esws_connecting(s) && !br_timer_pending(&s->retry))
			esws_connect(s, es->url, false);
		return;
	}
	/* The conditions need the token user's id: wait for /validate
	 * (br_esws_auth_ready() comes back here). */
	if (es->refreshing || (br_auth_has_user(es->auth) &&
	    br_auth_user_id(es->auth) == NULL))
		return;
	for (struct br_want *w = br_wants_first(es->wants); w; w = w->next)
		if (w->st == BR_WANT_NEW && w->slot == s->index && !w->auth_wait)
			post_create(s, w);
}

static void
reconcile(struct br_esws *es)
{
	if (es->stopped)
		return;
	place(es);
	for (int i = 0; i < ESWS_SESSIONS; i++)
		reconcile_session(&es->sess[i]);
}

/* ---- the session ---- */

void
esws_on_welcome(struct esws_session *s, struct esws_conn *c)
{
	struct br_esws *es = s->es;
	struct esws_conn *old = s->active;

	s->active = c;
	if (c->migration && old != NULL) {
		/* Subscriptions moved with the session: nothing to create. */
		log_info("esws: moved to session %s; closing the old socket",
		    c->session_id);
		old->superseded = true;
		esws_drop(old, "migrated");
		return;
	}
	log_info("esws: session %d is %s (keepalive %ld s)", s->index,
	    c->session_id, c->keepalive_s);
	for (struct br_want *w = br_wants_first(es->wants); w; w = w->next) {
		if (w->slot != s->index)
			continue;
		if (w->st == BR_WANT_ENABLED || w->st == BR_WANT_POSTING) {
			free(w->twitch_id);
			w->twitch_id = NULL;
			w->st = BR_WANT_NEW;
			w->retried_auth = false;
		}
	}
	if (s->reconnects > 0)
		es->hooks.event(es->hooks.ctx, "source_up", ESWS_SOURCE, NULL,
		    br_wants_events(es->wants), "the EventSub WebSocket session "
		    "is back; re-creating its subscriptions");
	reconcile(es);
}

void
esws_on_lost(struct esws_session *s, struct esws_conn *c, int code)
{
	struct br_esws *es = s->es;
	char detail[256];

	if (es->stopped || c->superseded)
		return;
	if (c->migration && !c->welcomed && s->active != NULL) {
		/* The reconnect_url failed (4007...): the old session is
		 * doomed too, so start afresh at the base URL now. */
		log_warn("esws: the reconnect URL failed; starting a new session");
		s->active->superseded = true;
		esws_drop(s->active, "reconnect failed");
		s->active = NULL;
	}
	if (s->active != NULL && s->active != c)
		return;         /* an old socket after a migration, or a spare */
	s->active = NULL;
	for (struct br_want *w = br_wants_first(es->wants); w; w = w->next)
		if (w->st == BR_WANT_POSTING && w->slot == s->index)
			w->st = BR_WANT_NEW;
	if (!session_needed(s))
		return;
	s->reconnects++;
	br_metrics_add(es->metrics, "twitch2mqtt_reconnects_total", 1, "source",
	    ESWS_SOURCE, NULL);
	snprintf(detail, sizeof detail, "the EventSub WebSocket session ended "
	    "(%s%d); reconnecting and re-creating its subscriptions",
	    code ? "close code " : "no close code, ", code);
	es->hooks.event(es->hooks.ctx, "reconnect", ESWS_SOURCE, NULL,
	    br_wants_events(es->wants), detail);
	if (code == 4001)
		log_error("esws: Twitch says we sent it a message (4001); this "
		    "is a bug in twitch2mqtt");
	schedule_reconnect(s);
}

static void
on_revocation(struct br_esws *es, struct br_es_frame *f)
{
	json_t *sub = json_object_get(f->payload, "subscription");
	const char *id = json_string_value(json_object_get(sub, "id"));
	const char *status = json_string_value(json_object_get(sub, "status"));
	struct br_want *w = br_wants_by_twitch_id(es->wants, id);
	char reason[256], detail[512];

	if (w == NULL) {
		log_warn("esws: a revocation for a subscription we do not hold");
		return;
	}
	if (status == NULL)
		status = "no reason given";
	snprintf(reason, sizeof reason, "revoked: %s", status);
	snprintf(detail, sizeof detail, "Twitch revoked %s (%s) for %s: %s",
	    w->event, w->spec.type, w->login, status);
	log_warn("esws: %s", detail);
	es->hooks.event(es->hooks.ctx, "revoked", ESWS_SOURCE, w->login,
	    json_pack("[s]", w->event), detail);
	br_wants_set(es->wants, w, BR_WANT_REVOKED, reason);
}

void
esws_on_frame(struct br_esws *es, struct esws_conn *c, struct br_es_frame *f)
{
	struct br_event *ev = NULL;
	char err[256];
	int rc;

	switch (f->kind) {
	case BR_ES_NOTIFICATION:
		rc = br_eventsub_normalize(f->payload, f->message_id,
		    f->timestamp, ESWS_SOURCE, &ev, err, sizeof err);
		if (rc == 0) {
			br_bus_submit(es->bus, ev);
		} else if (rc < 0) {
			log_warn("esws: skipping a notification: %s", err);
			br_metrics_add(es->metrics,
			    "twitch2mqtt_events_dropped_total", 1, "reason",
			    "malformed", NULL);
		}
		break;
	case BR_ES_RECONNECT:
		if (f->reconnect_url == NULL) {
			log_warn("esws: session_reconnect without a URL");
			break;
		}
		log_info("esws: Twitch asks us to move to a new socket");
		esws_connect(c->sess, f->reconnect_url, true);
		break;
	case BR_ES_REVOCATION:
		on_revocation(es, f);
		break;
	default:
		log_debug("esws: %s message", f->message_type);
		break;
	}
}

/* ---- the source interface ---- */

#define REQUEST_DEADLINE_MS 20000

/* A subscribe request is answered within the deadline even when no
 * session comes up: what is still waiting then has failed. */
static void
deadline_fired(void *arg)
{
	struct br_esws *es = arg;

	for (struct br_want *w = br_wants_first(es->wants), *next; w; w = next) {
		next = w->next;
		if (w->req != NULL && (w->st == BR_WANT_NEW ||
		    w->st == BR_WANT_POSTING))
			br_wants_set(es->wants, w, BR_WANT_FAILED, "failed: no "
			    "EventSub WebSocket session came up in time (see "
			    "the log); subscribe again once Twitch is reachable");
	}
}

static void
expanded(void *arg)
{
	reconcile(arg);
}

static const char *
esws_subscribe(void *impl, struct br_sub *sub, char *const *events, size_t n,
    br_source_done done, void *arg)
{
	struct br_esws *es = impl;

	if (sub->token == NULL && !br_auth_has_user(es->auth))
		return "transport websocket needs a user token: run "
		    "`twitch2mqtt auth`, or set twitch.access_token, or give "
		    "\"token\" in the request";
	if (sub->token == NULL && br_auth_failed(es->auth))
		return AUTH_FAILED;
	struct br_wants_req *r = br_wants_request(es->wants, sub, events, n,
	    done, arg);
	struct br_wants_lookup how = { es->helix, es->auth, false, AUTH_FAILED,
		expanded, es, es->subauth };
	br_timer_start(&es->deadline, REQUEST_DEADLINE_MS);
	br_wants_resolve(es->wants, r, &how);
	return NULL;
}

static void
gone(void *arg, struct br_want *w)
{
	struct br_esws *es = arg;
	if (w->slot >= 0 && es->sess[w->slot].active != NULL)
		delete_at_twitch(es, w->login, w->twitch_id);
}

static void
esws_unsubscribe(void *impl, struct br_sub *sub, char *const *events,
    size_t n)
{
	struct br_esws *es = impl;

	for (size_t i = 0; i < n; i++)
		br_wants_remove(es->wants, sub->login, events[i], gone, es);
	reconcile(es);
}

static const char *
esws_status(void *impl)
{
	struct br_esws *es = impl;
	bool up = true, ever_lost = false;

	if (!br_wants_live(es->wants))
		return "idle";
	for (int i = 0; i < ESWS_SESSIONS; i++) {
		struct esws_session *s = &es->sess[i];
		if (session_needed(s) && s->active == NULL)
			up = false;
		ever_lost = ever_lost || s->reconnects > 0;
	}
	if (up)
		return "up";
	return ever_lost ? "down" : "connecting";
}

static const struct br_source_ops esws_ops = {
	.subscribe = esws_subscribe,
	.unsubscribe = esws_unsubscribe,
	.status = esws_status,
};

struct br_source
br_esws_source(struct br_esws *es)
{
	return (struct br_source){ "websocket", ESWS_SOURCE, &esws_ops, es };
}

void
br_esws_auth_ready(struct br_esws *es)
{
	reconcile(es);
}

struct br_esws *
br_esws_new(struct br_loop *loop, struct br_bus *bus, struct br_helix *helix,
    struct br_auth *auth, struct br_subs *subs, struct br_metrics *metrics,
    const struct br_esws_options *opts, const struct br_source_hooks *hooks)
{
	struct br_esws *es = br_xcalloc(1, sizeof *es);

	es->loop = loop;
	es->bus = bus;
	es->helix = helix;
	es->auth = auth;
	es->subs = subs;
	es->metrics = metrics;
	es->hooks = *hooks;
	es->url = br_xstrdup(opts->url);
	es->ca_file = opts->ca_file ? br_xstrdup(opts->ca_file) : NULL;
	es->wants = br_wants_new(subs, "websocket", hooks, NULL);
	es->subauth = br_subauth_new(auth, subs, ESWS_SOURCE, hooks);
	for (int i = 0; i < ESWS_SESSIONS; i++) {
		struct esws_session *s = &es->sess[i];
		s->es = es;
		s->index = i;
		br_backoff_init(&s->backoff, 500, 60000, br_random64());
		br_timer_init(&s->retry, loop, retry_fired, s);
	}
	br_timer_init(&es->deadline, loop, deadline_fired, es);
	if (esws_net_init(es) < 0) {
		br_esws_free(es);
		return NULL;
	}
	return es;
}

void
br_esws_stop(struct br_esws *es)
{
	es->stopped = true;
	br_timer_stop(&es->deadline);
	for (int i = 0; i < ESWS_SESSIONS; i++) {
		br_timer_stop(&es->sess[i].retry);
		esws_drop_all(&es->sess[i]);
	}
}

void
br_esws_free(struct br_esws *es)
{
	if (es == NULL)
		return;
	br_timer_stop(&es->deadline);
	/* Sockets outlive us until the context goes; they must not call
	 * back into freed memory. */
	for (int i = 0; i < ESWS_SESSIONS; i++) {
		br_timer_stop(&es->sess[i].retry);
		for (struct esws_conn *c = es->sess[i].conns; c; c = c->next) {
			c->es = NULL;
			c->sess = NULL;
			br_timer_stop(&c->watchdog);
			br_wsrx_stop(&c->rx);
		}
	}
	br_wsrx_net_free(es->net);
	br_wants_free(es->wants);
	br_subauth_free(es->subauth);
	free(es->url);
	free(es->ca_file);
	free(es);
}
