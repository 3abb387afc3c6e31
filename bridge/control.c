#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "log.h"
#include "request.h"
#include "sample.h"
#include "util.h"

/* Where a request came from and how to answer it. quiet: from the
 * configuration or the state dir; logged, not answered. */
struct origin {
	const char *action;
	json_t *transaction;
	const char *rtopic, *corr;
	size_t corr_len;
	bool quiet;
};

/* A subscribe waiting for its source. While it waits its subscription is
 * busy, so no other request can change or remove it under the source. */
struct pending {
	struct br_control *c;
	struct pending *prev, *next;
	char *action;           /* as in the request topic */
	json_t *transaction;
	char *response_topic, *corr;
	size_t corr_len;
	bool quiet;
	struct br_sub *sub;
	bool created;
	json_t *before;         /* sub->events as they were, to undo */
	bool new_tokens;        /* the request replaced the token pair */
	char *token_before, *refresh_before, *origin_before;    /* secrets */
	char **events;
	size_t n_events;
};

struct br_control {
	struct br_control_env env;
	struct pending *pending;
	size_t n_pending;
};

struct br_control *
br_control_new(const struct br_control_env *env)
{
	struct br_control *c = br_xcalloc(1, sizeof *c);
	c->env = *env;
	return c;
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void
pending_free(struct pending *p)
{
	free(p->action);
	json_decref(p->transaction);
	json_decref(p->before);
	free(p->response_topic);
	free(p->corr);
	wipe_free(p->token_before);
	wipe_free(p->refresh_before);
	free(p->origin_before);
	for (size_t i = 0; i < p->n_events; i++)
		free(p->events[i]);
	free(p->events);
	free(p);
}

void
br_control_free(struct br_control *c)
{
	if (c == NULL)
		return;
	while (c->pending != NULL) {
		struct pending *next = c->pending->next;
		pending_free(c->pending);
		c->pending = next;
	}
	free(c);
}

size_t br_control_pending(const struct br_control *c) { return c->n_pending; }

/* ---- answers ---- */

static void
answer(struct br_control *c, const struct origin *o, json_t *data,
    const char *error)
{
	json_t *a;

	if (o->quiet) {
		if (error != NULL)
			log_warn("control: %s: %s", o->action, error);
		json_decref(data);
		return;
	}
	a = json_object();

	json_object_set_new(a, "status", json_string(error ? "error" : "ok"));
	json_object_set_new(a, "data", data ? data : json_object());
	if (error != NULL)
		json_object_set_new(a, "error", json_string(error));
	if (o->transaction != NULL)
		json_object_set(a, "transaction", o->transaction);
	c->env.reply(c->env.ctx, o->action, a, o->rtopic, o->corr, o->corr_len);
}

static void
answer_pending(struct pending *p, json_t *data, const char *error)
{
	struct origin o = { p->action, p->transaction, p->response_topic,
		p->corr, p->corr_len, p->quiet };
	answer(p->c, &o, data, error);
}

static json_t *
sub_answer(const struct br_sub *sub, char *const *events, size_t n,
    const char *fixed_status, bool *all_ok)
{
	json_t *ev = json_object();

	*all_ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *st = fixed_status ? fixed_status
		                              : br_sub_status(sub, events[i]);
		if (st == NULL)
			st = "failed: no answer from the source";
		/* Only a failure makes the answer an error: a webhook that
		 * Twitch is still verifying has not failed. */
		if (fixed_status == NULL && (strncmp(st, "failed", 6) == 0 ||
		    strncmp(st, "revoked", 7) == 0))
			*all_ok = false;
		json_object_set_new(ev, events[i], json_string(st));
	}
	return json_pack("{s:o, s:o}", "channel", br_sub_channel_json(sub),
	    "events", ev);
}

/* ---- subscribe ---- */

static void
undo(struct pending *p)
{
	struct br_control *c = p->c;

	if (p->created) {
		br_subs_remove(c->env.subs, p->sub);
		p->sub = NULL;
		return;
	}
	json_decref(p->sub->events);
	p->sub->events = p->before;
	p->before = NULL;
	/* Only what the request brought is undone: a refresh of the pair
	 * held before stays (its old refresh token is spent). */
	if (p->new_tokens)
		br_sub_set_tokens(p->sub, p->token_before, p->refresh_before,
		    p->origin_before);
}

static void
log_outcome(const struct br_sub *sub, json_t *data)
{
	char *events = json_dumps(json_object_get(data, "events"), JSON_COMPACT);
	log_info("control: %s on %s: %s", sub->login ? sub->login : sub->id,
	    sub->transport, events ? events : "?");
	free(events);
}

static void
subscribed(void *arg, const char *error)
{
	struct pending *p = arg;
	struct br_control *c = p->c;
	bool all_ok;

	p->sub->busy = false;
	if (error != NULL) {
		answer_pending(p, NULL, error);
		undo(p);
		/* A refresh meanwhile may have saved the request's pair. */
		if (p->new_tokens)
			c->env.changed(c->env.ctx);
	} else {
		json_t *data = sub_answer(p->sub, p->events, p->n_events, NULL,
		    &all_ok);
		log_outcome(p->sub, data);
		answer_pending(p, data, all_ok ? NULL
		    : "some events could not be subscribed; see data.events");
		c->env.changed(c->env.ctx);
	}
	if (p->prev)
		p->prev->next = p->next;
	else
		c->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	c->n_pending--;
	pending_free(p);
}

/* Events already held are not asked for again: subscribing twice is
 * harmless and creates nothing twice at Twitch. */
static size_t
events_to_ask(struct br_sub *sub, struct br_request *req, char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < req->n_events; i++) {
		const char *st = br_sub_status(sub, req->events[i]);
		if (st == NULL || strcmp(st, "enabled") != 0)
			out[n++] = req->events[i];
	}
	return n;
}

static struct pending *
pending_new(struct br_control *c, const struct origin *o, char *const *events,
    size_t n, struct br_sub *sub, bool created)
{
	struct pending *p = br_xcalloc(1, sizeof *p);

	p->c = c;
	p->action = br_xstrdup(o->action);
	p->transaction = o->transaction ? json_incref(o->transaction) : NULL;
	p->response_topic = o->rtopic ? br_xstrdup(o->rtopic) : NULL;
	if (o->corr != NULL) {
		p->corr = br_xstrndup(o->corr, o->corr_len);
		p->corr_len = o->corr_len;
	}
	p->quiet = o->quiet;
	p->sub = sub;
	p->created = created;
	p->before = json_deep_copy(sub->events);
	p->events = br_xcalloc(n, sizeof *p->events);
	for (size_t i = 0; i < n; i++)
		p->events[p->n_events++] = br_xstrdup(events[i]);
	p->next = c->pending;
	if (c->pending)
		c->pending->prev = p;
	c->pending = p;
	c->n_pending++;
	return p;
}

static const char *
who(const struct br_request *req)
{
	return req->channel ? req->channel : req->channel_id;
}

/* Hands the events to the source; the answer comes from subscribed(). */
static void
ask_source(struct br_source *src, struct pending *p, char *const *ask,
    size_t n)
{
	p->sub->busy = true;
	if (n == 0) {
		subscribed(p, NULL);
		return;
	}
	const char *err = src->ops->subscribe(src->impl, p->sub, ask, n,
	    subscribed, p);
	if (err != NULL)
		subscribed(p, err);
}

/* A new pair replaces the held one; the one it replaced is kept to undo
 * a request that fails. */
static void
take_tokens(struct pending *p, const struct br_request *req)
{
	struct br_sub *sub = p->sub;
	char *t = br_xstrdup_nonempty(sub->token);
	char *r = br_xstrdup_nonempty(sub->refresh_token);
	char *o = br_xstrdup_nonempty(sub->token_origin);

	p->new_tokens = br_sub_offer_tokens(sub, req->token, req->refresh_token);
	if (!p->new_tokens) {
		wipe_free(t);
		wipe_free(r);
		free(o);
		return;
	}
	p->token_before = t;
	p->refresh_before = r;
	p->origin_before = o;
}

static void
subscribe(struct br_control *c, struct br_request *req, const struct origin *o)
{
	struct br_source *src = c->env.source(c->env.ctx, req->transport);
	char msg[512], avail[128], *ask[BR_REQUEST_MAX_EVENTS];
	struct br_sub *sub;
	bool created = false;

	if (src == NULL) {
		c->env.transports(c->env.ctx, avail, sizeof avail);
		snprintf(msg, sizeof msg, "transport '%s' is not available in "
		    "this build yet; available: %s", req->transport, avail);
		answer(c, o, NULL, msg);
		return;
	}
	sub = br_subs_find(c->env.subs, req->transport, req->channel,
	    req->channel_id);
	if (sub != NULL && sub->busy) {
		snprintf(msg, sizeof msg, "a request for channel '%s' on %s is "
		    "still in progress; try again when it is answered",
		    who(req), req->transport);
		answer(c, o, NULL, msg);
		return;
	}
	if (sub == NULL) {
		sub = br_subs_add(c->env.subs, req->transport, req->channel_id,
		    req->channel, NULL);
		created = true;
	}
	struct pending *p = pending_new(c, o, req->events, req->n_events, sub,
	    created);
	take_tokens(p, req);
	if (req->moderator_id != NULL) {
		free(sub->moderator_id);
		sub->moderator_id = br_xstrdup(req->moderator_id);
	}
	ask_source(src, p, ask, events_to_ask(sub, req, ask));
}

/* ---- unsubscribe ---- */

static int
check_held(struct br_sub *sub, const struct br_request *req, char *const *ev,
    size_t n, char *msg, size_t size)
{
	if (sub == NULL) {
		snprintf(msg, size, "channel '%s' is not subscribed on transport "
		    "%s; nothing to unsubscribe", who(req), req->transport);
		return -1;
	}
	if (sub->busy) {
		snprintf(msg, size, "a request for channel '%s' on %s is still "
		    "in progress; try again when it is answered", who(req),
		    req->transport);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (br_sub_status(sub, ev[i]) == NULL) {
			snprintf(msg, size, "event '%s' is not subscribed for "
			    "channel '%s' on transport %s; nothing was changed",
			    ev[i], who(req), req->transport);
			return -1;
		}
	}
	return 0;
}

static void
release(struct br_control *c, struct br_sub *sub, char **events, size_t n)
{
	struct br_source *src = c->env.source(c->env.ctx, sub->transport);

	for (size_t i = 0; i < n; i++)
		json_object_del(sub->events, events[i]);
	if (src != NULL)
		src->ops->unsubscribe(src->impl, sub, events, n);
	if (json_object_size(sub->events) == 0)
		br_subs_remove(c->env.subs, sub);
	c->env.changed(c->env.ctx);
}

static void
unsubscribe(struct br_control *c, struct br_request *req,
    const struct origin *o)
{
	struct br_sub *sub = br_subs_find(c->env.subs, req->transport,
	    req->channel, req->channel_id);
	char msg[512], *events[BR_REQUEST_MAX_EVENTS];
	size_t n = 0;
	bool ok;

	if (req->events != NULL) {
		for (; n < req->n_events; n++)
			events[n] = br_xstrdup(req->events[n]);
	} else if (sub != NULL) {
		const char *ev;
		json_t *st;
		json_object_foreach(sub->events, ev, st)
			if (n < BR_REQUEST_MAX_EVENTS)
				events[n++] = br_xstrdup(ev);
	}
	if (check_held(sub, req, events, n, msg, sizeof msg) < 0) {
		answer(c, o, NULL, msg);
		goto out;
	}
	json_t *data = sub_answer(sub, events, n, "removed", &ok);
	log_outcome(sub, data);
	release(c, sub, events, n);
	answer(c, o, data, NULL);
out:
	for (size_t i = 0; i < n; i++)
		free(events[i]);
}

/* ---- simulate ---- */

static struct br_sub *
find_any(struct br_subs *subs, const char *login, const char *id)
{
	for (size_t i = 0; i < br_subs_count(subs); i++) {
		struct br_sub *s = br_subs_at(subs, i);
		if ((login && s->login && strcmp(login, s->login) == 0) ||
		    (!login && id && s->id && strcmp(id, s->id) == 0))
			return s;
	}
	return NULL;
}

static void
simulate(struct br_control *c, struct br_request *req, const struct origin *o)
{
	struct br_sub *held = find_any(c->env.subs, req->channel,
	    req->channel_id);
	const char *login = held ? held->login : req->channel;
	const char *id = held ? held->id : req->channel_id;
	char msg[256];

	if (login == NULL) {
		snprintf(msg, sizeof msg, "channel_id '%s' is not held by any "
		    "subscription; give the channel's login as 'channel'",
		    req->channel_id);
		answer(c, o, NULL, msg);
		return;
	}
	struct br_event *ev = br_sample_event(req->type, "demo", id, login,
	    held ? held->name : login, br_random64() % 1000);
	json_t *copy = json_deep_copy(br_event_json(ev));
	if (br_bus_submit(c->env.bus, ev) == -ENOBUFS) {
		json_decref(copy);
		answer(c, o, NULL, "the event buffer is full (the broker is "
		    "away); try again later");
		return;
	}
	answer(c, o, copy, NULL);
}

/* ---- entry points ---- */

static void
act(struct br_control *c, struct br_request *req, const struct origin *o)
{
	if (req->error[0] != '\0') {
		log_info("control: refused a %s request: %s", o->action,
		    req->error);
		answer(c, o, NULL, req->error);
		return;
	}
	switch (req->action) {
	case BR_ACTION_SUBSCRIBE:
		subscribe(c, req, o);
		break;
	case BR_ACTION_UNSUBSCRIBE:
		unsubscribe(c, req, o);
		break;
	case BR_ACTION_SUBSCRIPTIONS:
		answer(c, o, br_subs_public(c->env.subs), NULL);
		break;
	case BR_ACTION_HEALTH:
		answer(c, o, c->env.health(c->env.ctx), NULL);
		break;
	case BR_ACTION_SIMULATE:
		simulate(c, req, o);
		break;
	}
}

void
br_control_handle(struct br_control *c, const char *action,
    const char *payload, size_t len, const char *rtopic, const char *corr,
    size_t corr_len)
{
	struct br_request *req = br_request_parse(action, payload, len);
	struct origin o = { action, req->transaction, rtopic, corr, corr_len,
		false };

	act(c, req, &o);
	br_request_free(req);
}

void
br_control_apply(struct br_control *c, enum br_action action, json_t *request)
{
	struct br_request *req = br_request_from_json(action, request);
	struct origin o = { br_action_name(action), NULL, NULL, NULL, 0, true };

	act(c, req, &o);
	br_request_free(req);
}

void
br_control_restore(struct br_control *c)
{
	struct origin o = { "restore", NULL, NULL, NULL, 0, true };

	for (size_t i = 0; i < br_subs_count(c->env.subs); i++) {
		struct br_sub *sub = br_subs_at(c->env.subs, i);
		struct br_source *src = c->env.source(c->env.ctx, sub->transport);
		char *events[BR_REQUEST_MAX_EVENTS];
		size_t n = 0;
		const char *ev;
		json_t *st;

		if (src == NULL) {
			log_warn("control: %s is held on transport %s, which this "
			    "build does not have; kept, inactive", sub->login,
			    sub->transport);
			continue;
		}
		json_object_foreach(sub->events, ev, st)
			if (n < BR_REQUEST_MAX_EVENTS)
				events[n++] = (char *)ev;
		struct pending *p = pending_new(c, &o, events, n, sub, false);
		ask_source(src, p, p->events, p->n_events);
	}
}
