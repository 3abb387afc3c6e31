/*
 * The EventSub "webhook" transport: its subscriptions at Twitch, made
 * with the app token and, at start, adopted or deleted; and the source
 * interface of both webhook transports. The endpoint Twitch calls is
 * whsrc_endpoint.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventsub.h"
#include "log.h"
#include "util.h"
#include "whsrc_int.h"

/* ---- EventSub webhook subscriptions ---- */

static void reconcile(struct br_whsrc *w);

static json_t *
transport(struct br_whsrc *w)
{
	return json_pack("{s:s, s:s, s:s}", "method", "webhook", "callback",
	    w->public_url, "secret", w->secret);
}

static void
delete_at_twitch(struct br_whsrc *w, const char *id);

struct call {
	struct br_whsrc *w;
	uint64_t serial;
	char *token;            /* the app token used, to drop it on 401 */
};

static void
created(void *arg, const struct br_helix_response *res)
{
	struct call *call = arg;
	struct br_whsrc *w = call->w;
	struct br_want *want = br_wants_by_serial(w->eventsub, call->serial);
	json_t *data = json_array_get(json_object_get(res->json, "data"), 0);
	const char *id = json_string_value(json_object_get(data, "id"));
	const char *st = json_string_value(json_object_get(data, "status"));
	char reason[512];

	if (want == NULL || want->st != BR_WANT_POSTING) {
		if (want == NULL && res->status == 202 && id != NULL)
			delete_at_twitch(w, id);
		goto out;
	}
	if (res->status == 202 && id != NULL) {
		want->twitch_id = br_xstrdup(id);
		bool done = (st && strcmp(st, "enabled") == 0) ||
		    json_object_get(w->verified, id) != NULL;
		json_object_del(w->verified, id);
		br_wants_set(w->eventsub, want, done ? BR_WANT_ENABLED
		    : BR_WANT_VERIFYING, NULL);
		if (!done && want->req != NULL)
			br_timer_start(&w->deadline, VERIFY_WAIT_MS);
	} else if (res->status == 401 && !want->retried_auth) {
		want->retried_auth = true;
		want->st = BR_WANT_NEW;
		br_auth_app_invalid(w->auth);
		reconcile(w);
	} else {
		br_wants_failure(res, reason, sizeof reason);
		log_warn("webhook: %s for %s (%s): %s", want->event, want->login,
		    want->spec.type, reason);
		br_wants_set(w->eventsub, want, BR_WANT_FAILED, reason);
	}
out:
	free(call->token);
	free(call);
}

static void
post_create(struct br_whsrc *w, struct br_want *want, const char *token)
{
	json_t *body = json_pack("{s:s, s:s, s:o, s:o}", "type",
	    want->spec.type, "version", want->spec.version, "condition",
	    br_eventsub_condition(&want->spec, want->broadcaster_id,
	    want->broadcaster_id), "transport", transport(w));
	struct call *call = br_xcalloc(1, sizeof *call);

	call->w = w;
	call->serial = want->serial;
	want->st = BR_WANT_POSTING;
	br_helix_api(w->helix, "POST", "/eventsub/subscriptions", token, body,
	    created, call);
}

static void
deleted(void *arg, const struct br_helix_response *res)
{
	if (res->status != 204 && res->status != 404)
		log_warn("webhook: deleting a subscription at Twitch: %ld %s",
		    res->status, br_helix_message(res));
}

struct del {
	struct br_whsrc *w;
	char *id;
};

static void
delete_with_token(void *arg, const char *token)
{
	struct del *d = arg;
	char *path = br_xasprintf("/eventsub/subscriptions?id=%s", d->id);

	if (token != NULL)
		br_helix_api(d->w->helix, "DELETE", path, token, NULL, deleted,
		    NULL);
	free(path);
	free(d->id);
	free(d);
}

static void
delete_at_twitch(struct br_whsrc *w, const char *id)
{
	struct del *d = br_xcalloc(1, sizeof *d);
	d->w = w;
	d->id = br_xstrdup(id);
	br_auth_app_token(w->auth, delete_with_token, d);
}

/* At start, Twitch's list is read once: subscriptions for our callback
 * that we still want and that work are adopted, the rest deleted; then
 * whatever is missing is created. */
static const char *
str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL ? v : "";
}

static bool
matches(struct br_want *want, json_t *s)
{
	json_t *cond = br_eventsub_condition(&want->spec, want->broadcaster_id,
	    want->broadcaster_id);
	bool same = json_equal(cond, json_object_get(s, "condition")) &&
	    strcmp(want->spec.type, str_of(s, "type")) == 0 &&
	    strcmp(want->spec.version, str_of(s, "version")) == 0;
	json_decref(cond);
	return same;
}

static void
adopt_or_delete(struct br_whsrc *w, json_t *s)
{
	json_t *tr = json_object_get(s, "transport");
	const char *cb = json_string_value(json_object_get(tr, "callback"));
	const char *id = json_string_value(json_object_get(s, "id"));
	const char *st = json_string_value(json_object_get(s, "status"));

	if (cb == NULL || id == NULL || strcmp(cb, w->public_url) != 0)
		return;         /* another bridge's, or another app's */
	for (struct br_want *want = br_wants_first(w->eventsub); want;
	    want = want->next) {
		if (want->st != BR_WANT_NEW || !matches(want, s))
			continue;
		if (st != NULL && strcmp(st, "enabled") == 0) {
			want->twitch_id = br_xstrdup(id);
			br_wants_set(w->eventsub, want, BR_WANT_ENABLED, NULL);
			return;
		}
		break;
	}
	log_info("webhook: deleting a stale subscription at Twitch (%s, %s)",
	    json_string_value(json_object_get(s, "type")), st ? st : "?");
	delete_at_twitch(w, id);
}

static void list_page(struct br_whsrc *w, const char *token,
                      const char *after);

struct page {
	struct br_whsrc *w;
	char *token;
};

static void
listed(void *arg, const struct br_helix_response *res)
{
	struct page *p = arg;
	struct br_whsrc *w = p->w;
	size_t i;
	json_t *s;
	const char *cursor = json_string_value(json_object_get(json_object_get(
	    res->json, "pagination"), "cursor"));

	if (res->status != 200) {
		log_warn("webhook: cannot list the subscriptions at Twitch "
		    "(%ld %s); creating what is held", res->status,
		    br_helix_message(res));
		cursor = NULL;
	} else {
		json_array_foreach(json_object_get(res->json, "data"), i, s)
			adopt_or_delete(w, s);
	}
	if (cursor != NULL && *cursor != '\0') {
		list_page(w, p->token, cursor);
	} else {
		w->listing = false;
		w->listed = true;
		reconcile(w);
	}
	free(p->token);
	free(p);
}

static void
list_page(struct br_whsrc *w, const char *token, const char *after)
{
	struct page *p = br_xcalloc(1, sizeof *p);
	char *enc = after ? br_urlencode(after) : NULL;
	char *path = br_xasprintf("/eventsub/subscriptions%s%s",
	    enc ? "?after=" : "", enc ? enc : "");

	p->w = w;
	p->token = br_xstrdup(token);
	br_helix_api(w->helix, "GET", path, token, NULL, listed, p);
	free(path);
	free(enc);
}

static void
with_app_token(void *arg, const char *token)
{
	struct br_whsrc *w = arg;

	if (token == NULL) {
		w->listing = false;
		br_wants_fail_pending(w->eventsub, "failed: no app token (check "
		    "twitch.client_id and twitch.client_secret; the log says "
		    "more)");
		return;
	}
	if (!w->listed) {
		list_page(w, token, NULL);
		return;
	}
	for (struct br_want *want = br_wants_first(w->eventsub); want;
	    want = want->next)
		if (want->st == BR_WANT_NEW)
			post_create(w, want, token);
}

static void
reconcile(struct br_whsrc *w)
{
	bool any_new = false;

	for (struct br_want *want = br_wants_first(w->eventsub); want;
	    want = want->next)
		any_new = any_new || want->st == BR_WANT_NEW;
	if (w->listing || (!any_new && w->listed))
		return;
	if (!w->listed)
		w->listing = true;
	br_auth_app_token(w->auth, with_app_token, w);
}

static void
expanded(void *w)
{
	reconcile(w);
}

void
whsrc_on_challenge(struct br_whsrc *w, json_t *body)
{
	json_t *s = json_object_get(body, "subscription");
	const char *id = json_string_value(json_object_get(s, "id"));
	struct br_want *want = br_wants_by_twitch_id(w->eventsub, id);

	log_info("webhook: answered Twitch's verification of %s",
	    str_of(s, "type"));
	if (want != NULL)
		br_wants_set(w->eventsub, want, BR_WANT_ENABLED, NULL);
	else if (id != NULL)    /* before its 202 reached us */
		json_object_set_new(w->verified, id, json_true());
}

void
whsrc_on_revocation(struct br_whsrc *w, json_t *body)
{
	json_t *s = json_object_get(body, "subscription");
	const char *id = json_string_value(json_object_get(s, "id"));
	const char *st = json_string_value(json_object_get(s, "status"));
	struct br_want *want = br_wants_by_twitch_id(w->eventsub, id);
	char reason[256], detail[512];

	if (want == NULL) {
		log_warn("webhook: a revocation for a subscription we do not "
		    "hold");
		return;
	}
	snprintf(reason, sizeof reason, "revoked: %s", st ? st : "unknown");
	snprintf(detail, sizeof detail, "Twitch revoked %s (%s) for %s: %s",
	    want->event, want->spec.type, want->login, st ? st : "no reason");
	log_warn("webhook: %s", detail);
	w->hooks.event(w->hooks.ctx, "revoked", WH_SOURCE, want->login,
	    json_pack("[s]", want->event), detail);
	br_wants_set(w->eventsub, want, BR_WANT_REVOKED, reason);
}

/* Requests are answered once every want is verified, or after
 * VERIFY_WAIT_MS with "webhook_callback_verification_pending": EventSub
 * webhook subscriptions and WebSub hub subscriptions alike. */
static void
release_verifying(struct br_wants *ws)
{
	for (struct br_want *want = br_wants_first(ws), *next; want;
	    want = next) {
		next = want->next;
		if (want->req != NULL && want->st == BR_WANT_VERIFYING)
			br_wants_release(ws, want);
	}
}

static void
deadline_fired(void *arg)
{
	struct br_whsrc *w = arg;

	release_verifying(w->eventsub);
	release_verifying(w->websub);
}

/* ---- the source interface ---- */

/* What a transport still lacks, as a sentence; NULL when ready. */
const char *
whsrc_missing(struct br_whsrc *w, bool websub)
{
	if (w->http == NULL)
		return "needs http.listen: Twitch delivers to the bridge's HTTP "
		    "server";
	if (w->public_url == NULL || *w->public_url == '\0')
		return "needs webhook.public_url: the address Twitch calls";
	if (w->secret == NULL || strlen(w->secret) < 10)
		return "needs webhook.secret (10 to 100 characters)";
	if (!w->has_app)
		return "needs twitch.client_id and twitch.client_secret (an app "
		    "token)";
	return NULL;
}

/* Both transports: resolve the channel with the app token, then expand. */
const char *
whsrc_begin(struct br_whsrc *w, struct br_wants *ws, bool websub,
    void (*next)(void *), struct br_sub *sub, char *const *events,
    size_t n, br_source_done done, void *arg)
{
	const char *missing = whsrc_missing(w, websub);

	if (missing != NULL)
		return missing;
	struct br_wants_req *r = br_wants_request(ws, sub, events, n, done, arg);
	struct br_wants_lookup how = { w->helix, w->auth, true, NULL,
		next, w, NULL };
	br_wants_resolve(ws, r, &how);
	return NULL;
}

static const char *
wh_subscribe(void *impl, struct br_sub *sub, char *const *events, size_t n,
    br_source_done done, void *arg)
{
	struct br_whsrc *w = impl;
	return whsrc_begin(w, w->eventsub, false, expanded, sub, events, n,
	    done, arg);
}

static void
wh_gone(void *arg, struct br_want *want)
{
	delete_at_twitch(arg, want->twitch_id);
}

static void
wh_unsubscribe(void *impl, struct br_sub *sub, char *const *events, size_t n)
{
	struct br_whsrc *w = impl;
	for (size_t i = 0; i < n; i++)
		br_wants_remove(w->eventsub, sub->login, events[i], wh_gone, w);
}

static const char *
wh_status(void *impl)
{
	struct br_whsrc *w = impl;
	if (whsrc_missing(w, false) != NULL)
		return br_wants_live(w->eventsub) ? "down" : "idle";
	return "up";
}

static const struct br_source_ops wh_ops = {
	.subscribe = wh_subscribe,
	.unsubscribe = wh_unsubscribe,
	.status = wh_status,
};

struct br_source
br_whsrc_webhook(struct br_whsrc *w)
{
	return (struct br_source){ "webhook", WH_SOURCE, &wh_ops, w };
}

struct br_source
br_whsrc_websub(struct br_whsrc *w)
{
	return websub_source(w);
}

static char *
dup_or_empty(const char *s)
{
	return br_xstrdup(s ? s : "");
}

struct br_whsrc *
br_whsrc_new(struct br_loop *loop, struct br_bus *bus, struct br_helix *helix,
    struct br_auth *auth, struct br_subs *subs, struct br_metrics *metrics,
    struct br_http *http, const struct br_whsrc_options *opts,
    const struct br_source_hooks *hooks)
{
	struct br_whsrc *w = br_xcalloc(1, sizeof *w);

	w->loop = loop;
	w->bus = bus;
	w->helix = helix;
	w->auth = auth;
	w->subs = subs;
	w->metrics = metrics;
	w->http = http;
	w->hooks = *hooks;
	w->path = dup_or_empty(opts->path);
	w->public_url = dup_or_empty(opts->public_url);
	w->secret = dup_or_empty(opts->secret);
	w->api_url = dup_or_empty(opts->api_url);
	w->has_app = opts->has_app_credentials;
	w->eventsub = br_wants_new(subs, "webhook", hooks, NULL);
	w->verified = json_object();
	br_timer_init(&w->deadline, loop, deadline_fired, w);
	if (http != NULL) {
		br_http_route(http, "POST", w->path, whsrc_on_request, w);
		br_http_route(http, "GET", w->path, whsrc_on_request,
		    w);
	}
	websub_init(w);
	return w;
}

void
br_whsrc_free(struct br_whsrc *w)
{
	if (w == NULL)
		return;
	br_timer_stop(&w->deadline);
	websub_release(w);
	br_wants_free(w->eventsub);
	json_decref(w->verified);
	if (w->secret != NULL)
		explicit_bzero(w->secret, strlen(w->secret));
	free(w->path);
	free(w->public_url);
	free(w->secret);
	free(w->api_url);
	free(w);
}
