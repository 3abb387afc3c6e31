/*
 * The PubSub source: subscribe requests become wants (wants.h, one per
 * channel and event), each want names its topic, and the pool
 * (pubsub_pool.c) LISTENs the topics. MESSAGE frames come back here to
 * be normalized and handed to the bus. ps_reconcile() turns new wants
 * into topics; everything that changes them calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pubsub_int.h"
#include "util.h"

#define REQUEST_DEADLINE_MS 20000
#define AUTH_FAILED "the Twitch user token was refused and could not be " \
	"refreshed: run `twitch2mqtt auth`, set a new twitch.access_token, " \
	"or subscribe again with a new \"token\""

/* What stands behind an event on this transport: its one topic. */
static size_t
ps_specs(const char *event, struct br_es_spec *out)
{
	char topic[BR_PS_TOPIC_MAX];

	if (br_ps_topic(event, "1", "1", topic, sizeof topic) < 0)
		return 0;
	out[0] = (struct br_es_spec){ "pubsub", "", "" };
	return 1;
}

static struct br_sub *
held(struct br_pubsub *ps, const char *login)
{
	return br_subs_find(ps->subs, "pubsub", login, NULL);
}

/* ---- wants -> topics ---- */

/* The token user's id for moderation and whispers: moderator_id from
 * the request, else /validate's answer for the bridge's token. 1: not
 * known yet (validation under way). */
static int
user_id(struct br_pubsub *ps, struct br_sub *sub, const char **out)
{
	*out = sub != NULL ? sub->moderator_id : NULL;
	if (*out != NULL)
		return 0;
	if (sub != NULL && sub->token != NULL)
		return -1;
	*out = br_auth_user_id(ps->auth);
	if (*out != NULL)
		return 0;
	return br_auth_has_user(ps->auth) && !br_auth_failed(ps->auth) ? 1 : -1;
}

static int
want_topic(struct br_pubsub *ps, struct br_want *w, char *buf, size_t size)
{
	struct br_sub *sub = held(ps, w->login);
	const char *uid = NULL;
	bool needs_user = strcmp(w->event, "moderation") == 0 ||
	    strcmp(w->event, "whisper") == 0;

	if (needs_user) {
		int rc = user_id(ps, sub, &uid);
		if (rc != 0)
			return rc;
	}
	return br_ps_topic(w->event, w->broadcaster_id, uid, buf, size) < 0 ?
	    -1 : 0;
}

static void
place_want(struct br_pubsub *ps, struct br_want *w)
{
	char topic[BR_PS_TOPIC_MAX];
	int rc = want_topic(ps, w, topic, sizeof topic);

	if (rc > 0)
		return;
	if (rc < 0) {
		br_wants_set(ps->wants, w, BR_WANT_FAILED, "failed: the topic "
		    "needs the token user's id: give \"moderator_id\" with a "
		    "per-subscription token");
		return;
	}
	free(w->twitch_id);
	w->twitch_id = br_xstrdup(topic);
	struct ps_topic *t = ps_topic_get(ps, topic, w->login);
	/* A new request tries again what failed (a new token...). */
	if (t->st == PT_FAILED && w->req != NULL) {
		t->st = PT_NEW;
		t->retried_auth = false;
	}
	w->st = BR_WANT_POSTING;
	if (t->st == PT_OK)
		br_wants_set(ps->wants, w, BR_WANT_ENABLED, NULL);
	else if (t->st == PT_FAILED)
		br_wants_set(ps->wants, w, BR_WANT_FAILED, t->reason);
}

void
ps_reconcile(struct br_pubsub *ps)
{
	if (ps->stopped)
		return;
	for (struct br_want *w = br_wants_first(ps->wants), *next; w; w = next) {
		next = w->next;
		if (w->st == BR_WANT_NEW)
			place_want(ps, w);
	}
	ps_pool_sync(ps);
}

void
ps_topic_settled(struct br_pubsub *ps, struct ps_topic *t)
{
	for (struct br_want *w = br_wants_first(ps->wants), *next; w; w = next) {
		next = w->next;
		if (w->twitch_id == NULL || strcmp(w->twitch_id, t->name) != 0)
			continue;
		if (t->st == PT_OK)
			br_wants_set(ps->wants, w, BR_WANT_ENABLED, NULL);
		else if (t->st == PT_FAILED)
			br_wants_set(ps->wants, w, BR_WANT_FAILED, t->reason);
	}
}

static json_t *
topic_events(struct br_pubsub *ps, const struct ps_topic *t)
{
	json_t *a = json_array();

	for (struct br_want *w = br_wants_first(ps->wants); w; w = w->next)
		if (w->twitch_id != NULL && strcmp(w->twitch_id, t->name) == 0)
			json_array_append_new(a, json_string(w->event));
	return a;
}

void
ps_lost_news(struct br_pubsub *ps, const char *detail)
{
	ps->hooks.event(ps->hooks.ctx, "reconnect", BR_PS_SOURCE, NULL,
	    br_wants_events(ps->wants), detail);
}

/* ---- ERR_BADAUTH ---- */

static void
fail_topic(struct br_pubsub *ps, struct ps_topic *t, const char *reason)
{
	t->st = PT_FAILED;
	t->conn = NULL;
	free(t->reason);
	t->reason = br_xstrdup(reason);
	ps_topic_settled(ps, t);
}

static bool
own_token(struct br_pubsub *ps, const struct ps_topic *t)
{
	struct br_sub *sub = held(ps, t->login);
	return sub != NULL && sub->token != NULL;
}

static void
after_refresh(void *arg, bool ok)
{
	struct br_pubsub *ps = arg;

	ps->refreshing = false;
	for (struct ps_topic *t = ps->topics; t; t = t->next) {
		if (t->st != PT_AUTHWAIT || own_token(ps, t))
			continue;
		if (ok)
			t->st = PT_NEW;
		else
			fail_topic(ps, t, "failed: bad auth (" AUTH_FAILED ")");
	}
	ps_pool_sync(ps);
}

/* A topic whose subscription's own token was refused waits for its
 * refresh (subauth.c). The answer may come at once, from inside the
 * RESPONSE being settled: then the topic is only marked, and the
 * RESPONSE's pool sync LISTENs it. */
struct own_wait {
	struct br_pubsub *ps;
	char name[BR_PS_TOPIC_MAX];
	bool calling, answered, ok;
};

static void
own_settle(struct br_pubsub *ps, const char *name, bool ok)
{
	struct ps_topic *t = ps_topic_find(ps, name);

	if (t == NULL || t->st != PT_AUTHWAIT)
		return;         /* unsubscribed, or asked for again */
	if (ok)
		t->st = PT_NEW;
	else
		fail_topic(ps, t, BR_SUBAUTH_FAILED);
}

static bool
channel_waits(struct br_pubsub *ps, const char *login)
{
	for (struct ps_topic *t = ps->topics; t; t = t->next)
		if (t->st == PT_AUTHWAIT && strcmp(t->login, login) == 0)
			return true;
	return false;
}

/* The channel's last topic to hear of the refresh LISTENs them all, in
 * one frame. */
static void
own_refreshed(void *arg, bool ok)
{
	struct own_wait *ow = arg;
	struct ps_topic *t;

	if (ow->calling) {
		ow->answered = true;
		ow->ok = ok;
		return;
	}
	t = ps_topic_find(ow->ps, ow->name);
	own_settle(ow->ps, ow->name, ok);
	if (t == NULL || !channel_waits(ow->ps, t->login))
		ps_pool_sync(ow->ps);
	free(ow);
}

static void
own_bad_auth(struct br_pubsub *ps, struct ps_topic *t, struct br_sub *sub)
{
	struct own_wait *ow = br_xcalloc(1, sizeof *ow);
	bool first = !t->retried_auth;

	log_warn("pubsub: ERR_BADAUTH for topic %.*s of channel %s, LISTENed "
	    "with the subscription's own token", (int)strcspn(t->name, "."),
	    t->name, t->login);
	ow->ps = ps;
	snprintf(ow->name, sizeof ow->name, "%s", t->name);
	ow->calling = true;
	t->retried_auth = true;
	t->st = PT_AUTHWAIT;
	br_subauth_refused(ps->subauth, sub, t->token_gen, first,
	    "ERR_BADAUTH on LISTEN", own_refreshed, ow);
	ow->calling = false;
	if (!ow->answered)
		return;
	own_settle(ps, ow->name, ow->ok);
	free(ow);
}

void
ps_bad_auth(struct br_pubsub *ps, struct ps_topic *t)
{
	struct br_sub *sub = held(ps, t->login);
	char detail[512];

	if (sub != NULL && sub->token != NULL) {
		own_bad_auth(ps, t, sub);
		return;
	}
	snprintf(detail, sizeof detail, "PubSub refused the user token for "
	    "topic %.*s of channel %s (ERR_BADAUTH)%s", (int)strcspn(t->name,
	    "."), t->name, t->login, t->retried_auth ? "; subscribe "
	    "again with a new token" : "; refreshing it and trying again");
	log_warn("pubsub: %s", detail);
	ps->hooks.event(ps->hooks.ctx, "auth_failed", BR_PS_SOURCE, t->login,
	    topic_events(ps, t), detail);
	if (t->retried_auth || !br_auth_has_user(ps->auth) ||
	    br_auth_failed(ps->auth)) {
		fail_topic(ps, t, "failed: bad auth (ERR_BADAUTH: Twitch "
		    "refused the token; subscribe again with a new token)");
		return;
	}
	t->retried_auth = true;
	t->st = PT_AUTHWAIT;
	if (!ps->refreshing) {
		ps->refreshing = true;
		br_auth_refresh(ps->auth, after_refresh, ps);
	}
}

/* ---- events ---- */

void
ps_on_message(struct br_pubsub *ps, struct br_ps_frame *f)
{
	struct ps_topic *t = ps_topic_find(ps, f->topic);
	struct br_sub *sub = t != NULL ? held(ps, t->login) : NULL;
	struct br_event *ev = NULL;
	char err[256];

	if (sub == NULL) {
		log_debug("pubsub: a MESSAGE on a topic we do not hold");
		return;
	}
	struct br_ps_channel ch = { sub->id, sub->login, sub->name };
	int rc = br_pubsub_normalize(f->topic, f->message, f->message_len,
	    &ch, BR_PS_SOURCE, &ev, err, sizeof err);
	if (rc < 0) {
		log_warn("pubsub: skipping a message on %.*s: %s",
		    (int)strcspn(f->topic, "."), f->topic, err);
		br_metrics_add(ps->metrics, "twitch2mqtt_events_dropped_total",
		    1, "reason", "malformed", NULL);
		return;
	}
	if (rc > 0) {
		log_debug("pubsub: %s", err);
		return;
	}
	/* channel_points_update shares the topic of channel_points. */
	if (br_sub_status(sub, br_event_type(ev)) == NULL) {
		br_event_free(ev);
		return;
	}
	br_bus_submit(ps->bus, ev);
}

/* ---- timers ---- */

static void
retry_fired(void *arg)
{
	ps_reconcile(arg);
}

static void
server_retry_fired(void *arg)
{
	struct br_pubsub *ps = arg;

	for (struct ps_topic *t = ps->topics; t; t = t->next)
		if (t->st == PT_RETRY)
			t->st = PT_NEW;
	ps_pool_sync(ps);
}

/* A request is answered in time even when PubSub is not: what still
 * waits then has failed (a topic keeps retrying ERR_SERVER; its
 * success later still enables the event). */
static void
deadline_fired(void *arg)
{
	struct br_pubsub *ps = arg;
	char reason[256];

	for (struct br_want *w = br_wants_first(ps->wants), *next; w; w = next) {
		next = w->next;
		if (w->req == NULL || (w->st != BR_WANT_NEW &&
		    w->st != BR_WANT_POSTING))
			continue;
		struct ps_topic *t = w->twitch_id ? ps_topic_find(ps,
		    w->twitch_id) : NULL;
		snprintf(reason, sizeof reason, "%s", t != NULL && t->reason ?
		    t->reason : "failed: PubSub did not answer in time (see "
		    "the log); subscribe again once Twitch is reachable");
		br_wants_set(ps->wants, w, BR_WANT_FAILED, reason);
	}
}

static void
expanded(void *arg)
{
	ps_reconcile(arg);
}

/* ---- the source interface ---- */

static const char *
ps_subscribe(void *impl, struct br_sub *sub, char *const *events, size_t n,
    br_source_done done, void *arg)
{
	struct br_pubsub *ps = impl;

	if (sub->token == NULL && !br_auth_has_user(ps->auth))
		return "transport pubsub needs a user token: run `twitch2mqtt "
		    "auth`, or set twitch.access_token, or give \"token\" in "
		    "the request";
	if (sub->token == NULL && br_auth_failed(ps->auth))
		return AUTH_FAILED;
	struct br_wants_req *r = br_wants_request(ps->wants, sub, events, n,
	    done, arg);
	struct br_wants_lookup how = { ps->helix, ps->auth, false, AUTH_FAILED,
		expanded, ps, ps->subauth };
	br_timer_start(&ps->deadline, REQUEST_DEADLINE_MS);
	br_wants_resolve(ps->wants, r, &how);
	return NULL;
}

static void
ps_unsubscribe(void *impl, struct br_sub *sub, char *const *events,
    size_t n)
{
	struct br_pubsub *ps = impl;

	for (size_t i = 0; i < n; i++)
		br_wants_remove(ps->wants, sub->login, events[i], NULL, NULL);
	ps_reconcile(ps);
}

static const char *
ps_status(void *impl)
{
	struct br_pubsub *ps = impl;
	bool open = false;

	if (!br_wants_live(ps->wants))
		return "idle";
	for (struct ps_topic *t = ps->topics; t; t = t->next)
		if (t->conn == NULL && t->st == PT_NEW)
			return ps->reconnects > 0 ? "down" : "connecting";
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		open |= c->open && !c->dropping;
	return open ? "up" : ps->reconnects > 0 ? "down" : "connecting";
}

static const struct br_source_ops ps_ops = {
	.subscribe = ps_subscribe,
	.unsubscribe = ps_unsubscribe,
	.status = ps_status,
};

struct br_source
br_pubsub_source(struct br_pubsub *ps)
{
	return (struct br_source){ "pubsub", BR_PS_SOURCE, &ps_ops, ps };
}

void
br_pubsub_auth_ready(struct br_pubsub *ps)
{
	ps_reconcile(ps);
}

struct br_pubsub *
br_pubsub_new(struct br_loop *loop, struct br_bus *bus, struct br_helix *helix,
    struct br_auth *auth, struct br_subs *subs, struct br_metrics *metrics,
    const struct br_pubsub_options *opts, const struct br_source_hooks *hooks)
{
	struct br_pubsub *ps = br_xcalloc(1, sizeof *ps);

	ps->loop = loop;
	ps->bus = bus;
	ps->helix = helix;
	ps->auth = auth;
	ps->subs = subs;
	ps->metrics = metrics;
	ps->hooks = *hooks;
	ps->url = br_xstrdup(opts->url);
	ps->ca_file = opts->ca_file ? br_xstrdup(opts->ca_file) : NULL;
	ps->ping_ms = opts->ping_ms > 0 ? opts->ping_ms : 240000;
	ps->pong_ms = opts->pong_ms > 0 ? opts->pong_ms : 10000;
	ps->response_ms = opts->response_ms > 0 ? opts->response_ms : 10000;
	ps->wants = br_wants_new(subs, "pubsub", hooks, ps_specs);
	ps->subauth = br_subauth_new(auth, subs, BR_PS_SOURCE, hooks);
	/* 1 s doubling with jitter, capped at 30 s: never hours. */
	br_backoff_init(&ps->backoff, 1000, 30000, br_random64());
	br_backoff_init(&ps->server_backoff, 1000, 60000, br_random64());
	br_timer_init(&ps->retry, loop, retry_fired, ps);
	br_timer_init(&ps->deadline, loop, deadline_fired, ps);
	br_timer_init(&ps->server_retry, loop, server_retry_fired, ps);
	if (ps_net_init(ps) < 0) {
		br_pubsub_free(ps);
		return NULL;
	}
	return ps;
}

void
br_pubsub_stop(struct br_pubsub *ps)
{
	ps->stopped = true;
	br_timer_stop(&ps->retry);
	br_timer_stop(&ps->deadline);
	br_timer_stop(&ps->server_retry);
	ps_drop_all(ps);
}

void
br_pubsub_free(struct br_pubsub *ps)
{
	if (ps == NULL)
		return;
	br_timer_stop(&ps->retry);
	br_timer_stop(&ps->deadline);
	br_timer_stop(&ps->server_retry);
	/* Sockets outlive us until the context goes. */
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		ps_conn_forget(c);
	ps_topics_free(ps);
	br_wsrx_net_free(ps->net);
	br_wants_free(ps->wants);
	br_subauth_free(ps->subauth);
	free(ps->url);
	free(ps->ca_file);
	free(ps);
}
