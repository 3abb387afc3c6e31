/*
 * The EventSub WebSocket source: which EventSub subscriptions are wanted
 * for the channels held on the "websocket" transport, and getting them
 * created on the live session. reconcile() is the one place that decides
 * what to do next; every event (a request, a welcome, an answer, a lost
 * socket) changes the wants and calls it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esws_int.h"
#include "log.h"
#include "util.h"

static void reconcile(struct br_esws *es);
static void settle(struct br_esws *es, struct want *w);

/* ---- wants ---- */

static struct want *
want_add(struct br_esws *es, const char *login, const char *event,
    const char *broadcaster_id, const struct br_es_spec *spec)
{
	struct want *w = br_xcalloc(1, sizeof *w);

	w->serial = ++es->next_serial;
	w->login = br_xstrdup(login);
	w->event = br_xstrdup(event);
	w->broadcaster_id = br_xstrdup(broadcaster_id);
	w->spec = *spec;
	w->next = es->wants;
	es->wants = w;
	return w;
}

static void
want_free(struct want *w)
{
	free(w->login);
	free(w->event);
	free(w->broadcaster_id);
	free(w->twitch_id);
	free(w->reason);
	free(w);
}

static struct want *
want_by_serial(struct br_esws *es, uint64_t serial)
{
	for (struct want *w = es->wants; w; w = w->next)
		if (w->serial == serial)
			return w;
	return NULL;
}

static bool
want_is(const struct want *w, const char *login, const char *event)
{
	return strcmp(w->login, login) == 0 &&
	    (event == NULL || strcmp(w->event, event) == 0);
}

static void
set_reason(struct want *w, enum want_state st, const char *reason)
{
	w->st = st;
	free(w->reason);
	w->reason = reason ? br_xstrdup(reason) : NULL;
}

/* Wants that need a live session: anything not failed or revoked. */
static bool
need_session(const struct br_esws *es)
{
	for (const struct want *w = es->wants; w; w = w->next)
		if (w->st != W_FAILED && w->st != W_REVOKED)
			return true;
	return false;
}

/* ---- statuses on the held subscription ---- */

/* An event is enabled when every spec behind it is; failed (with the
 * first reason) when one failed; pending otherwise. */
static const char *
event_status(struct br_esws *es, const char *login, const char *event,
    bool *settled)
{
	const char *bad = NULL;
	bool all = true;

	*settled = true;
	for (struct want *w = es->wants; w; w = w->next) {
		if (!want_is(w, login, event))
			continue;
		if (w->st == W_FAILED || w->st == W_REVOKED)
			bad = bad ? bad : w->reason;
		else if (w->st != W_ENABLED)
			all = false, *settled = false;
	}
	if (bad != NULL)
		return bad;
	return all ? "enabled" : "pending";
}

static struct br_sub *
held(struct br_esws *es, const char *login)
{
	return br_subs_find(es->subs, "websocket", login, NULL);
}

static bool
update_status(struct br_esws *es, const char *login, const char *event)
{
	struct br_sub *sub = held(es, login);
	bool settled;
	const char *st = event_status(es, login, event, &settled);
	const char *before;

	if (sub == NULL || !settled)
		return false;
	before = br_sub_status(sub, event);
	if (before != NULL && strcmp(before, st) == 0)
		return false;
	br_sub_set_status(sub, event, st);
	return true;
}

static void
request_finish(struct request *r, const char *error)
{
	struct br_esws *es = r->es;

	for (struct request **p = &es->requests; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	for (struct want *w = es->wants; w; w = w->next)
		if (w->req == r)
			w->req = NULL;
	if (error == NULL)
		for (size_t i = 0; i < r->n_events; i++)
			update_status(es, r->sub->login, r->events[i]);
	br_source_done done = r->done;
	void *arg = r->arg;
	for (size_t i = 0; i < r->n_events; i++)
		free(r->events[i]);
	free(r->events);
	free(r);
	done(arg, error);
}

/* A want reached enabled, failed or revoked. */
static void
settle(struct br_esws *es, struct want *w)
{
	struct request *r = w->req;

	if (r != NULL) {
		w->req = NULL;
		if (--r->outstanding == 0)
			request_finish(r, NULL);
		return;
	}
	if (update_status(es, w->login, w->event))
		es->hooks.changed(es->hooks.ctx);
}

static void
fail_all(struct br_esws *es, const char *reason)
{
	for (struct want *w = es->wants; w; w = w->next) {
		if (w->st != W_NEW && w->st != W_POSTING)
			continue;
		set_reason(w, W_FAILED, reason);
		settle(es, w);
	}
}

/* ---- Helix ---- */

struct call {
	struct br_esws *es;
	uint64_t serial;
	char *session_id;
};

static const char *
token_for(struct br_esws *es, const char *login)
{
	struct br_sub *sub = held(es, login);
	if (sub != NULL && sub->token != NULL)
		return sub->token;
	return br_auth_user_token(es->auth);
}

static const char *
helix_message(const struct br_helix_response *res)
{
	const char *m = json_string_value(json_object_get(res->json, "message"));
	return m != NULL ? m : res->error ? res->error : "no message";
}

static void
failure_reason(const struct br_helix_response *res, char *buf, size_t size)
{
	const char *m = helix_message(res);

	switch (res->status) {
	case 0:
		snprintf(buf, size, "failed: Twitch API unreachable (%s)", m);
		break;
	case 403:
		snprintf(buf, size, "failed: missing scope or authorization "
		    "(403: %s)", m);
		break;
	case 429:
		snprintf(buf, size, "failed: quota or limit reached (429: %s)", m);
		break;
	case 410:
		snprintf(buf, size, "failed: this type or version was removed "
		    "by Twitch (410: %s)", m);
		break;
	default:
		snprintf(buf, size, "failed: %ld: %s", res->status, m);
		break;
	}
}

static void after_refresh(void *arg, bool ok);

/* One refresh for all wants that met a 401; they are tried again after
 * it, or fail with it. */
static void
need_refresh(struct br_esws *es)
{
	if (es->refreshing)
		return;
	es->refreshing = true;
	br_auth_refresh(es->auth, after_refresh, es);
}

static void
after_refresh(void *arg, bool ok)
{
	struct br_esws *es = arg;

	es->refreshing = false;
	if (!ok) {
		fail_all(es, "failed: authorization failed (the user token was "
		    "refused and could not be refreshed; run `twitch2mqtt "
		    "auth` or set a new twitch.access_token)");
		reconcile(es);
		return;
	}
	reconcile(es);
}

static void
delete_created(struct br_esws *es, const char *login, const char *id)
{
	char *path = br_xasprintf("/eventsub/subscriptions?id=%s", id);
	br_helix_api(es->helix, "DELETE", path, token_for(es, login), NULL,
	    NULL, NULL);
	free(path);
}

static void
created(void *arg, const struct br_helix_response *res)
{
	struct call *call = arg;
	struct br_esws *es = call->es;
	struct want *w = want_by_serial(es, call->serial);
	json_t *data = json_array_get(json_object_get(res->json, "data"), 0);
	const char *id = json_string_value(json_object_get(data, "id"));
	char reason[512];

	/* Unsubscribed meanwhile, or the session went: not ours to keep. */
	bool stale = w == NULL || w->st != W_POSTING || es->active == NULL ||
	    strcmp(es->active->session_id, call->session_id) != 0;
	if (stale) {
		if (res->status == 202 && id != NULL && w == NULL)
			delete_created(es, call->session_id, id);
		goto out;
	}
	if (res->status == 202 || res->status == 409) {
		free(w->twitch_id);
		w->twitch_id = id ? br_xstrdup(id) : NULL;
		set_reason(w, W_ENABLED, NULL);
		br_backoff_reset(&es->backoff);
		settle(es, w);
	} else if (res->status == 401 && !w->retried_auth) {
		w->retried_auth = true;
		w->st = W_NEW;
		need_refresh(es);
	} else {
		failure_reason(res, reason, sizeof reason);
		log_warn("esws: %s for %s (%s v%s): %s", w->event, w->login,
		    w->spec.type, w->spec.version, reason);
		set_reason(w, W_FAILED, reason);
		settle(es, w);
	}
out:
	free(call->session_id);
	free(call);
}

static void
post_create(struct br_esws *es, struct want *w)
{
	const char *user = br_auth_user_id(es->auth);
	json_t *cond = br_eventsub_condition(&w->spec, w->broadcaster_id,
	    user ? user : w->broadcaster_id);
	json_t *body = json_pack("{s:s, s:s, s:o, s:{s:s, s:s}}", "type",
	    w->spec.type, "version", w->spec.version, "condition", cond,
	    "transport", "method", "websocket", "session_id",
	    es->active->session_id);
	struct call *call = br_xcalloc(1, sizeof *call);

	call->es = es;
	call->serial = w->serial;
	call->session_id = br_xstrdup(es->active->session_id);
	w->st = W_POSTING;
	br_helix_api(es->helix, "POST", "/eventsub/subscriptions",
	    token_for(es, w->login), body, created, call);
}

/* ---- deciding what to do next ---- */

static void
retry_fired(void *arg)
{
	struct br_esws *es = arg;
	reconcile(es);
}

static void
schedule_reconnect(struct br_esws *es)
{
	int64_t ms = br_backoff_next(&es->backoff);
	log_info("esws: reconnecting in %lld ms", (long long)ms);
	br_timer_start(&es->retry, ms);
}

static void
reconcile(struct br_esws *es)
{
	if (es->stopped)
		return;
	if (!need_session(es)) {
		/* An empty session is closed by Twitch (4003): don't keep one. */
		if (es->conns != NULL)
			esws_drop_all(es);
		return;
	}
	if (es->active == NULL) {
		if (!esws_connecting(es) && !br_timer_pending(&es->retry))
			esws_connect(es, es->url, false);
		return;
	}
	/* The conditions need the token user's id: wait for /validate
	 * (br_esws_auth_ready() comes back here). */
	if (es->refreshing || (br_auth_has_user(es->auth) &&
	    br_auth_user_id(es->auth) == NULL))
		return;
	for (struct want *w = es->wants; w; w = w->next)
		if (w->st == W_NEW)
			post_create(es, w);
}

/* ---- the session ---- */

void
esws_on_welcome(struct br_esws *es, struct esws_conn *c)
{
	struct esws_conn *old = es->active;

	es->active = c;
	if (c->migration && old != NULL) {
		/* Subscriptions moved with the session: nothing to create. */
		log_info("esws: moved to session %s; closing the old socket",
		    c->session_id);
		esws_drop(old, "migrated");
		return;
	}
	log_info("esws: session %s welcomed (keepalive %ld s)", c->session_id,
	    c->keepalive_s);
	for (struct want *w = es->wants; w; w = w->next) {
		if (w->st == W_ENABLED || w->st == W_POSTING) {
			free(w->twitch_id);
			w->twitch_id = NULL;
			w->st = W_NEW;
			w->retried_auth = false;
		}
	}
	if (es->reconnects > 0)
		es->hooks.event(es->hooks.ctx, "source_up", ESWS_SOURCE, NULL,
		    NULL, "the EventSub WebSocket session is back; "
		    "re-creating its subscriptions");
	reconcile(es);
}

static json_t *
events_of_all(struct br_esws *es)
{
	json_t *a = json_array();
	for (struct want *w = es->wants; w; w = w->next) {
		json_t *name = json_string(w->event);
		size_t i;
		json_t *v;
		bool dup = false;
		json_array_foreach(a, i, v)
			dup = dup || json_equal(v, name);
		if (dup)
			json_decref(name);
		else
			json_array_append_new(a, name);
	}
	return a;
}

void
esws_on_lost(struct br_esws *es, struct esws_conn *c, int code)
{
	char detail[256];

	if (es->stopped)
		return;
	if (es->active != NULL && es->active != c)
		return;         /* an old socket after a migration, or a spare */
	if (c->migration && !c->welcomed && es->active != NULL)
		return;         /* the old session is still there */
	es->active = NULL;
	for (struct want *w = es->wants; w; w = w->next)
		if (w->st == W_ENABLED || w->st == W_POSTING)
			w->st = W_NEW;
	if (!need_session(es))
		return;
	es->reconnects++;
	br_metrics_add(es->metrics, "twitch2mqtt_reconnects_total", 1, "source",
	    ESWS_SOURCE, NULL);
	snprintf(detail, sizeof detail, "the EventSub WebSocket session ended "
	    "(%s%d); reconnecting and re-creating its subscriptions",
	    code ? "close code " : "no close code, ", code);
	es->hooks.event(es->hooks.ctx, "reconnect", ESWS_SOURCE, NULL,
	    events_of_all(es), detail);
	if (code == 4001)
		log_error("esws: Twitch says we sent it a message (4001); this "
		    "is a bug in twitch2mqtt");
	schedule_reconnect(es);
}

static void
on_revocation(struct br_esws *es, struct br_es_frame *f)
{
	json_t *sub = json_object_get(f->payload, "subscription");
	const char *id = json_string_value(json_object_get(sub, "id"));
	const char *status = json_string_value(json_object_get(sub, "status"));
	char reason[256], detail[512];

	for (struct want *w = es->wants; w && id; w = w->next) {
		if (w->twitch_id == NULL || strcmp(w->twitch_id, id) != 0)
			continue;
		snprintf(reason, sizeof reason, "revoked: %s",
		    status ? status : "unknown");
		set_reason(w, W_REVOKED, reason);
		snprintf(detail, sizeof detail, "Twitch revoked %s (%s) for %s: "
		    "%s", w->event, w->spec.type, w->login,
		    status ? status : "no reason given");
		log_warn("esws: %s", detail);
		es->hooks.event(es->hooks.ctx, "revoked", ESWS_SOURCE, w->login,
		    json_pack("[s]", w->event), detail);
		settle(es, w);
		return;
	}
	log_warn("esws: a revocation for a subscription we do not know");
}

void
esws_on_frame(struct br_esws *es, struct esws_conn *c, struct br_es_frame *f)
{
	struct br_event *ev = NULL;
	char err[256];

	switch (f->kind) {
	case BR_ES_KEEPALIVE:
		break;
	case BR_ES_NOTIFICATION: {
		int rc = br_eventsub_normalize(f->payload, f->message_id,
		    f->timestamp, ESWS_SOURCE, &ev, err, sizeof err);
		if (rc == 0)
			br_bus_submit(es->bus, ev);
		else if (rc < 0) {
			log_warn("esws: skipping a notification: %s", err);
			br_metrics_add(es->metrics,
			    "twitch2mqtt_events_dropped_total", 1, "reason",
			    "malformed", NULL);
		}
		break;
	}
	case BR_ES_RECONNECT:
		if (f->reconnect_url == NULL) {
			log_warn("esws: session_reconnect without a URL");
			break;
		}
		log_info("esws: Twitch asks us to move to a new socket");
		esws_connect(es, f->reconnect_url, true);
		break;
	case BR_ES_REVOCATION:
		on_revocation(es, f);
		break;
	case BR_ES_WELCOME:
	case BR_ES_UNKNOWN:
		log_debug("esws: ignoring a %s message", f->message_type);
		break;
	}
}

/* ---- the source interface ---- */

static void add_wants(struct request *r);
static void lookup(struct request *r);

static void
lookup_again(void *arg, bool ok)
{
	struct request *r = arg;

	if (ok)
		lookup(r);
	else
		request_finish(r, "the Twitch user token was refused and could "
		    "not be refreshed: run `twitch2mqtt auth` or set a new "
		    "twitch.access_token");
}

static const char *
field_or(json_t *o, const char *key, const char *fallback)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL && *v != '\0' ? v : fallback;
}

static void
resolved(void *arg, const struct br_helix_response *res)
{
	struct request *r = arg;
	struct br_esws *es = r->es;
	struct br_sub *sub = r->sub;
	json_t *u = json_array_get(json_object_get(res->json, "data"), 0);
	const char *who = sub->login ? sub->login : sub->id;
	char msg[512];

	if (res->status == 401 && !r->retried_auth && r->sub->token == NULL) {
		r->retried_auth = true;
		br_auth_refresh(es->auth, lookup_again, r);
		return;
	}
	if (res->status != 200) {
		snprintf(msg, sizeof msg, "could not look up channel '%s': "
		    "Twitch answered %ld (%s)", who, res->status,
		    helix_message(res));
		request_finish(r, msg);
		return;
	}
	if (!json_is_object(u)) {
		snprintf(msg, sizeof msg, "unknown channel '%s': Twitch has no "
		    "user by that %s", who, sub->login ? "login" : "id");
		request_finish(r, msg);
		return;
	}
	char *id = br_xstrdup(field_or(u, "id", ""));
	char *login = br_xstrdup(field_or(u, "login", who));
	char *name = br_xstrdup(field_or(u, "display_name", login));
	free(sub->id);
	free(sub->login);
	free(sub->name);
	sub->id = id;
	sub->login = login;
	sub->name = name;
	add_wants(r);
}

/* The channel's id and display name, from Helix /users. */
static void
lookup(struct request *r)
{
	struct br_sub *sub = r->sub;
	char *enc = br_urlencode(sub->login ? sub->login : sub->id);
	char *path = br_xasprintf("/users?%s=%s", sub->login ? "login" : "id",
	    enc);

	br_helix_api(r->es->helix, "GET", path, sub->token ? sub->token :
	    br_auth_user_token(r->es->auth), NULL, resolved, r);
	free(path);
	free(enc);
}

static void
add_wants(struct request *r)
{
	struct br_esws *es = r->es;
	struct br_es_spec specs[BR_ES_MAX_SPECS];

	for (size_t i = 0; i < r->n_events; i++) {
		/* Asked again: whatever failed before is forgotten. */
		for (struct want **p = &es->wants; *p;) {
			struct want *w = *p;
			if (want_is(w, r->sub->login, r->events[i])) {
				*p = w->next;
				want_free(w);
			} else {
				p = &w->next;
			}
		}
		size_t n = br_eventsub_specs(r->events[i], specs);
		for (size_t k = 0; k < n; k++) {
			struct want *w = want_add(es, r->sub->login, r->events[i],
			    r->sub->id, &specs[k]);
			w->req = r;
			r->outstanding++;
		}
		if (n == 0)
			br_sub_set_status(r->sub, r->events[i],
			    "failed: not an EventSub type");
	}
	if (r->outstanding == 0)
		request_finish(r, NULL);
	else
		reconcile(es);
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
		return "the Twitch user token was refused and could not be "
		    "refreshed: run `twitch2mqtt auth` or set a new "
		    "twitch.access_token";
	struct request *r = br_xcalloc(1, sizeof *r);
	r->es = es;
	r->sub = sub;
	r->done = done;
	r->arg = arg;
	r->events = br_xcalloc(n, sizeof *r->events);
	for (size_t i = 0; i < n; i++)
		r->events[r->n_events++] = br_xstrdup(events[i]);
	r->next = es->requests;
	es->requests = r;
	if (sub->id == NULL || sub->name == NULL)
		lookup(r);
	else
		add_wants(r);
	return NULL;
}

static void
esws_unsubscribe(void *impl, struct br_sub *sub, char *const *events,
    size_t n)
{
	struct br_esws *es = impl;

	for (size_t i = 0; i < n; i++) {
		for (struct want **p = &es->wants; *p;) {
			struct want *w = *p;
			if (!want_is(w, sub->login, events[i])) {
				p = &w->next;
				continue;
			}
			if (w->twitch_id != NULL && es->active != NULL)
				delete_created(es, w->login, w->twitch_id);
			*p = w->next;
			want_free(w);
		}
	}
	reconcile(es);
}

static const char *
esws_status(void *impl)
{
	struct br_esws *es = impl;

	if (!need_session(es))
		return "idle";
	if (es->active != NULL)
		return "up";
	return es->reconnects > 0 ? "down" : "connecting";
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
	br_backoff_init(&es->backoff, 500, 60000, br_random64());
	br_timer_init(&es->retry, loop, retry_fired, es);
	if (esws_vhost_init(es) < 0) {
		log_error("esws: cannot create the client vhost");
		br_esws_free(es);
		return NULL;
	}
	return es;
}

void
br_esws_stop(struct br_esws *es)
{
	es->stopped = true;
	br_timer_stop(&es->retry);
	esws_drop_all(es);
}

void
br_esws_free(struct br_esws *es)
{
	if (es == NULL)
		return;
	br_timer_stop(&es->retry);
	/* Sockets outlive us until the context goes; they must not call
	 * back into freed memory. */
	for (struct esws_conn *c = es->conns; c; c = c->next) {
		c->es = NULL;
		br_timer_stop(&c->watchdog);
	}
	while (es->requests != NULL) {
		struct request *r = es->requests;
		es->requests = r->next;
		for (size_t i = 0; i < r->n_events; i++)
			free(r->events[i]);
		free(r->events);
		free(r);
	}
	while (es->wants != NULL) {
		struct want *w = es->wants;
		es->wants = w->next;
		want_free(w);
	}
	free(es->url);
	free(es->ca_file);
	free(es);
}
