/*
 * The books of wanted EventSub subscriptions (see wants.h). Lists stay
 * short (channels x events x specs), so plain linked lists are enough.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "wants.h"

struct br_wants_req {
	struct br_wants_req *next;
	struct br_sub *sub;     /* busy while we hold it: it cannot go away */
	char **events;
	size_t n_events;
	int outstanding;
	bool retried_auth;
	br_source_done done;
	void *arg;
};

struct br_wants {
	struct br_subs *subs;
	char *transport;
	struct br_source_hooks hooks;
	br_wants_specs_fn specs;
	struct br_want *list;
	struct br_wants_req *requests;
	uint64_t next_serial;
};

struct br_wants *
br_wants_new(struct br_subs *subs, const char *transport,
    const struct br_source_hooks *hooks, br_wants_specs_fn specs)
{
	struct br_wants *ws = br_xcalloc(1, sizeof *ws);

	ws->specs = specs ? specs : br_eventsub_specs;
	ws->subs = subs;
	ws->transport = br_xstrdup(transport);
	ws->hooks = *hooks;
	return ws;
}

static void
want_free(struct br_want *w)
{
	free(w->login);
	free(w->event);
	free(w->broadcaster_id);
	free(w->twitch_id);
	free(w->reason);
	free(w);
}

static void
req_free(struct br_wants_req *r)
{
	for (size_t i = 0; i < r->n_events; i++)
		free(r->events[i]);
	free(r->events);
	free(r);
}

void
br_wants_free(struct br_wants *ws)
{
	if (ws == NULL)
		return;
	while (ws->list != NULL) {
		struct br_want *w = ws->list;
		ws->list = w->next;
		want_free(w);
	}
	while (ws->requests != NULL) {
		struct br_wants_req *r = ws->requests;
		ws->requests = r->next;
		req_free(r);
	}
	free(ws->transport);
	free(ws);
}

struct br_want *br_wants_first(struct br_wants *ws) { return ws->list; }

struct br_want *
br_wants_by_serial(struct br_wants *ws, uint64_t serial)
{
	for (struct br_want *w = ws->list; w; w = w->next)
		if (w->serial == serial)
			return w;
	return NULL;
}

struct br_want *
br_wants_by_twitch_id(struct br_wants *ws, const char *id)
{
	for (struct br_want *w = ws->list; w && id; w = w->next)
		if (w->twitch_id != NULL && strcmp(w->twitch_id, id) == 0)
			return w;
	return NULL;
}

bool
br_wants_live(const struct br_wants *ws)
{
	for (const struct br_want *w = ws->list; w; w = w->next)
		if (w->st != BR_WANT_FAILED && w->st != BR_WANT_REVOKED)
			return true;
	return false;
}

static bool
want_is(const struct br_want *w, const char *login, const char *event)
{
	return strcmp(w->login, login) == 0 &&
	    (event == NULL || strcmp(w->event, event) == 0);
}

static bool
final(enum br_want_state st)
{
	return st == BR_WANT_ENABLED || st == BR_WANT_FAILED ||
	    st == BR_WANT_REVOKED;
}

/* ---- statuses on the held subscription ---- */

static const char *
event_status(struct br_wants *ws, const char *login, const char *event,
    bool *settled)
{
	const char *bad = NULL;
	bool pending_verify = false;

	*settled = true;
	for (struct br_want *w = ws->list; w; w = w->next) {
		if (!want_is(w, login, event))
			continue;
		if (w->st == BR_WANT_FAILED || w->st == BR_WANT_REVOKED)
			bad = bad ? bad : w->reason;
		else if (w->st == BR_WANT_VERIFYING)
			pending_verify = true;
		else if (w->st != BR_WANT_ENABLED)
			*settled = false;
	}
	if (bad != NULL)
		return bad;
	return pending_verify ? "webhook_callback_verification_pending"
	                      : "enabled";
}

/* True when the status shown changed. */
static bool
update_status(struct br_wants *ws, const char *login, const char *event)
{
	struct br_sub *sub = br_subs_find(ws->subs, ws->transport, login, NULL);
	bool settled;
	const char *st = event_status(ws, login, event, &settled);
	const char *before;

	if (sub == NULL || !settled)
		return false;
	before = br_sub_status(sub, event);
	if (before != NULL && strcmp(before, st) == 0)
		return false;
	br_sub_set_status(sub, event, st);
	return true;
}

/* ---- requests ---- */

struct br_wants_req *
br_wants_request(struct br_wants *ws, struct br_sub *sub, char *const *events,
    size_t n, br_source_done done, void *arg)
{
	struct br_wants_req *r = br_xcalloc(1, sizeof *r);

	r->sub = sub;
	r->done = done;
	r->arg = arg;
	r->events = br_xcalloc(n ? n : 1, sizeof *r->events);
	for (size_t i = 0; i < n; i++)
		r->events[r->n_events++] = br_xstrdup(events[i]);
	r->next = ws->requests;
	ws->requests = r;
	return r;
}

struct br_sub *br_wants_req_sub(struct br_wants_req *r) { return r->sub; }

bool
br_wants_req_retried(struct br_wants_req *r)
{
	bool was = r->retried_auth;
	r->retried_auth = true;
	return was;
}

static void
drop_matching(struct br_wants *ws, const char *login, const char *event,
    void (*gone)(void *, struct br_want *), void *arg)
{
	for (struct br_want **p = &ws->list; *p;) {
		struct br_want *w = *p;
		if (!want_is(w, login, event)) {
			p = &w->next;
			continue;
		}
		if (gone != NULL && w->twitch_id != NULL)
			gone(arg, w);
		*p = w->next;
		want_free(w);
	}
}

void
br_wants_finish(struct br_wants *ws, struct br_wants_req *r,
    const char *error)
{
	for (struct br_wants_req **p = &ws->requests; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	for (struct br_want **p = &ws->list; *p;) {
		struct br_want *w = *p;
		if (w->req == r && error != NULL) {
			*p = w->next;
			want_free(w);
			continue;
		}
		if (w->req == r)
			w->req = NULL;
		p = &w->next;
	}
	for (size_t i = 0; error == NULL && i < r->n_events; i++)
		update_status(ws, r->sub->login, r->events[i]);
	br_source_done done = r->done;
	void *arg = r->arg;
	req_free(r);
	done(arg, error);
}

size_t
br_wants_expand(struct br_wants *ws, struct br_wants_req *r)
{
	struct br_es_spec specs[BR_ES_MAX_SPECS];
	size_t made = 0;

	for (size_t i = 0; i < r->n_events; i++) {
		/* Asked again: whatever failed before is forgotten. */
		drop_matching(ws, r->sub->login, r->events[i], NULL, NULL);
		size_t n = ws->specs(r->events[i], specs);
		for (size_t k = 0; k < n; k++) {
			struct br_want *w = br_xcalloc(1, sizeof *w);
			w->serial = ++ws->next_serial;
			w->login = br_xstrdup(r->sub->login);
			w->event = br_xstrdup(r->events[i]);
			w->broadcaster_id = br_xstrdup(r->sub->id);
			w->spec = specs[k];
			w->slot = -1;
			w->req = r;
			w->next = ws->list;
			ws->list = w;
			r->outstanding++;
			made++;
		}
		if (n == 0)
			br_sub_set_status(r->sub, r->events[i],
			    "failed: not an EventSub type");
	}
	if (made == 0)
		br_wants_finish(ws, r, NULL);
	return made;
}

/* ---- settling ---- */

void
br_wants_set(struct br_wants *ws, struct br_want *w, enum br_want_state st,
    const char *reason)
{
	struct br_wants_req *r = w->req;
	bool was_final = final(w->st);

	w->st = st;
	free(w->reason);
	w->reason = reason ? br_xstrdup(reason) : NULL;
	if (r != NULL && final(st)) {
		br_wants_release(ws, w);
		return;
	}
	if ((final(st) || was_final) && r == NULL &&
	    update_status(ws, w->login, w->event))
		ws->hooks.changed(ws->hooks.ctx);
}

void
br_wants_release(struct br_wants *ws, struct br_want *w)
{
	struct br_wants_req *r = w->req;

	if (r == NULL)
		return;
	w->req = NULL;
	if (--r->outstanding == 0)
		br_wants_finish(ws, r, NULL);
}

void
br_wants_fail_pending(struct br_wants *ws, const char *reason)
{
	for (struct br_want *w = ws->list, *next; w; w = next) {
		next = w->next;         /* settling may finish a request */
		if (w->st == BR_WANT_NEW || w->st == BR_WANT_POSTING)
			br_wants_set(ws, w, BR_WANT_FAILED, reason);
	}
}

void
br_wants_remove(struct br_wants *ws, const char *login, const char *event,
    void (*gone)(void *arg, struct br_want *w), void *arg)
{
	drop_matching(ws, login, event, gone, arg);
}

/* ---- Helix answers ---- */

const char *
br_helix_message(const struct br_helix_response *res)
{
	const char *m = json_string_value(json_object_get(res->json, "message"));
	return m != NULL ? m : res->error ? res->error : "no message";
}

void
br_wants_failure(const struct br_helix_response *res, char *buf, size_t size)
{
	const char *m = br_helix_message(res);

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

json_t *
br_wants_events(const struct br_wants *ws)
{
	json_t *a = json_array(), *seen = json_object();

	for (const struct br_want *w = ws->list; w; w = w->next) {
		if (json_object_get(seen, w->event) != NULL)
			continue;
		json_object_set_new(seen, w->event, json_true());
		json_array_append_new(a, json_string(w->event));
	}
	json_decref(seen);
	return a;
}
