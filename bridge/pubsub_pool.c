/*
 * The PubSub pool: which topic is LISTENed on which connection. Topics
 * are packed into the connections there are (at most 50 each, at most
 * 10 connections), LISTENed once per token with a nonce whose RESPONSE
 * settles them, UNLISTENed when nobody wants them, and moved without a
 * gap when Twitch asks for a RECONNECT. ps_pool_sync() is the one place
 * that acts; every change calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pubsub_int.h"
#include "util.h"

struct ps_topic *
ps_topic_find(struct br_pubsub *ps, const char *name)
{
	for (struct ps_topic *t = ps->topics; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct ps_topic *
ps_topic_get(struct br_pubsub *ps, const char *name, const char *login)
{
	struct ps_topic *t = ps_topic_find(ps, name);

	if (t != NULL)
		return t;
	t = br_xcalloc(1, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->login = br_xstrdup(login);
	t->next = ps->topics;
	ps->topics = t;
	return t;
}

static void
topic_free(struct ps_topic *t)
{
	free(t->login);
	free(t->reason);
	free(t);
}

void
ps_topics_free(struct br_pubsub *ps)
{
	while (ps->topics != NULL) {
		struct ps_topic *t = ps->topics;
		ps->topics = t->next;
		topic_free(t);
	}
}

static size_t
load(struct br_pubsub *ps, const struct ps_conn *c)
{
	size_t n = 0;

	for (struct ps_topic *t = ps->topics; t; t = t->next)
		n += t->conn == c;
	return n;
}

static size_t
conn_count(struct br_pubsub *ps)
{
	size_t n = 0;

	for (struct ps_conn *c = ps->conns; c; c = c->next)
		n += !c->dropping;
	return n;
}

/* The token a topic is LISTENed with, and the generation of the
 * subscription's own token (see subauth.h). */
static const char *
token_of(struct br_pubsub *ps, const struct ps_topic *t, unsigned *gen)
{
	struct br_sub *sub = br_subs_find(ps->subs, "pubsub", t->login, NULL);

	*gen = sub != NULL ? sub->token_gen : 0;
	if (sub != NULL && sub->token != NULL)
		return sub->token;
	return br_auth_user_token(ps->auth);
}

static void
send_json(struct ps_conn *c, json_t *j)
{
	size_t len;
	char *s = br_json_compact(j, &len);

	if (s != NULL) {
		ps_send(c, s, len);
		explicit_bzero(s, len);
	}
	free(s);
	json_decref(j);
}

static void
new_nonce(struct br_pubsub *ps, char *buf, size_t size)
{
	snprintf(buf, size, "%016llx", (unsigned long long)br_random64() ^
	    ps->conn_serial);
}

/* One LISTEN per token for the connection's new topics. */
static void
listen_new(struct br_pubsub *ps, struct ps_conn *c)
{
	for (;;) {
		const char *token = NULL;
		json_t *list = json_array();
		char nonce[24];

		new_nonce(ps, nonce, sizeof nonce);
		for (struct ps_topic *t = ps->topics; t; t = t->next) {
			if (t->conn != c || t->st != PT_NEW)
				continue;
			unsigned gen;
			const char *tok = token_of(ps, t, &gen);
			if (tok == NULL)
				continue;
			if (token == NULL)
				token = tok;
			if (strcmp(tok, token) != 0)
				continue;
			json_array_append_new(list, json_string(t->name));
			t->token_gen = gen;
			t->st = PT_SENT;
			t->sent_ms = br_mono_ms();
			snprintf(t->nonce, sizeof t->nonce, "%s", nonce);
		}
		if (token == NULL) {
			json_decref(list);
			return;
		}
		log_info("pubsub: LISTEN %zu topic(s) on connection %u, nonce %s",
		    json_array_size(list), c->serial, nonce);
		send_json(c, json_pack("{s:s, s:s, s:{s:o, s:s}}", "type",
		    "LISTEN", "nonce", nonce, "data", "topics", list,
		    "auth_token", token));
		if (!br_timer_pending(&c->resp))
			br_timer_start(&c->resp, ps->response_ms);
	}
}

static void
unlisten(struct br_pubsub *ps, struct ps_topic *t)
{
	struct ps_conn *c = t->conn;
	char nonce[24];

	if (c == NULL || !c->open || c->dropping || (t->st != PT_OK &&
	    t->st != PT_SENT))
		return;
	new_nonce(ps, nonce, sizeof nonce);
	log_info("pubsub: UNLISTEN %s on connection %u", t->name, c->serial);
	send_json(c, json_pack("{s:s, s:s, s:{s:[s]}}", "type", "UNLISTEN",
	    "nonce", nonce, "data", "topics", t->name));
}

/* Topics no want needs any more go: UNLISTEN, forget. */
static void
sweep(struct br_pubsub *ps)
{
	for (struct ps_topic *t = ps->topics; t; t = t->next)
		t->used = false;
	for (struct br_want *w = br_wants_first(ps->wants); w; w = w->next) {
		struct ps_topic *t = w->twitch_id ? ps_topic_find(ps,
		    w->twitch_id) : NULL;
		if (t != NULL)
			t->used = true;
	}
	for (struct ps_topic **p = &ps->topics; *p;) {
		struct ps_topic *t = *p;
		if (t->used) {
			p = &t->next;
			continue;
		}
		unlisten(ps, t);
		*p = t->next;
		topic_free(t);
	}
}

/* A connection with room: an open or opening one that is not being
 * replaced; else a new one while the pool allows. */
static struct ps_conn *
room(struct br_pubsub *ps)
{
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		if (!c->dropping && !c->moving && c->replaces == NULL &&
		    load(ps, c) < PS_TOPICS_MAX)
			return c;
	if (conn_count(ps) >= PS_CONNS_MAX || br_timer_pending(&ps->retry))
		return NULL;
	return ps_connect(ps, NULL);
}

static bool
wants_placing(const struct ps_topic *t)
{
	return t->conn == NULL && (t->st == PT_NEW || t->st == PT_SENT ||
	    t->st == PT_OK);
}

static void
place(struct br_pubsub *ps)
{
	for (struct ps_topic *t = ps->topics; t; t = t->next) {
		if (!wants_placing(t))
			continue;
		t->st = PT_NEW;
		struct ps_conn *c = room(ps);
		if (c == NULL) {
			if (conn_count(ps) >= PS_CONNS_MAX) {
				t->st = PT_FAILED;
				free(t->reason);
				t->reason = br_xstrdup("failed: the PubSub pool "
				    "is full (10 connections of 50 topics)");
				ps_topic_settled(ps, t);
			}
			continue;
		}
		t->conn = c;
	}
}

/* Empty connections close, unless they are about to take over or are
 * being taken over (the successor closes those once it is confirmed). */
static void
close_empty(struct br_pubsub *ps)
{
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		if (!c->dropping && !c->moving && c->replaces == NULL &&
		    load(ps, c) == 0) {
			log_info("pubsub: connection %u holds no topic; closing",
			    c->serial);
			c->superseded = true;
			ps_drop(c, "empty");
		}
}

void
ps_pool_sync(struct br_pubsub *ps)
{
	if (ps->stopped)
		return;
	sweep(ps);
	place(ps);
	for (struct ps_conn *c = ps->conns; c; c = c->next)
		if (c->open && !c->dropping)
			listen_new(ps, c);
	close_empty(ps);
}

/* ---- what the connections report ---- */

void
ps_on_open(struct br_pubsub *ps, struct ps_conn *c)
{
	struct ps_conn *old = c->replaces;

	/* RECONNECT: take the old connection's topics and LISTEN them
	 * here; the old one stays until they are confirmed. */
	for (struct ps_topic *t = ps->topics; old && t; t = t->next)
		if (t->conn == old) {
			t->conn = c;
			if (t->st == PT_OK || t->st == PT_SENT)
				t->st = PT_NEW;
		}
	ps_reconcile(ps);
}

/* The new connection confirmed everything: the old one can go. */
static void
takeover_done(struct br_pubsub *ps, struct ps_conn *c)
{
	struct ps_conn *old = c->replaces;

	for (struct ps_topic *t = ps->topics; old && t; t = t->next)
		if (t->conn == c && (t->st == PT_NEW || t->st == PT_SENT))
			return;
	if (old == NULL)
		return;
	log_info("pubsub: connection %u took over from %u; closing the old "
	    "one", c->serial, old->serial);
	c->replaces = NULL;
	old->superseded = true;
	ps_drop(old, "replaced");
}

static const char *
error_reason(const char *error)
{
	if (strcmp(error, "ERR_BADTOPIC") == 0)
		return "failed: ERR_BADTOPIC (Twitch does not know this topic)";
	if (strcmp(error, "ERR_BADMESSAGE") == 0)
		return "failed: ERR_BADMESSAGE (Twitch refused the LISTEN "
		    "frame)";
	if (strcmp(error, "ERR_SERVER") == 0)
		return "failed: ERR_SERVER (Twitch's server failed; retrying)";
	return NULL;
}

static void
settle(struct br_pubsub *ps, struct ps_topic *t, const char *error)
{
	char buf[160];
	const char *why = error_reason(error);

	if (*error == '\0') {
		t->st = PT_OK;
		br_backoff_reset(&ps->backoff);
		br_backoff_reset(&ps->server_backoff);
	} else if (strcmp(error, "ERR_BADAUTH") == 0) {
		ps_bad_auth(ps, t);
		return;
	} else if (strcmp(error, "ERR_SERVER") == 0) {
		t->st = PT_RETRY;
		free(t->reason);
		t->reason = br_xstrdup(why);
		if (!br_timer_pending(&ps->server_retry))
			br_timer_start(&ps->server_retry,
			    br_backoff_next(&ps->server_backoff));
		return;
	} else {
		if (why == NULL) {
			snprintf(buf, sizeof buf, "failed: %.60s", error);
			why = buf;
		}
		t->st = PT_FAILED;
		t->conn = NULL;
		free(t->reason);
		t->reason = br_xstrdup(why);
	}
	log_info("pubsub: %s: %s", t->name, *error ? error : "listening");
	ps_topic_settled(ps, t);
}

void
ps_on_response(struct br_pubsub *ps, struct ps_conn *c, const char *nonce,
    const char *error)
{
	bool any = false;

	if (nonce == NULL)
		return;
	for (struct ps_topic *t = ps->topics, *next; t; t = next) {
		next = t->next;
		if (t->conn != c || t->st != PT_SENT || strcmp(t->nonce,
		    nonce) != 0)
			continue;
		any = true;
		settle(ps, t, error != NULL ? error : "");
	}
	if (!any)
		log_debug("pubsub: RESPONSE to nonce %s (UNLISTEN or stale)",
		    nonce);
	takeover_done(ps, c);
	ps_pool_sync(ps);
}

/* A LISTEN unanswered for response_ms: the connection is sick. */
void
ps_response_timeout(struct br_pubsub *ps, struct ps_conn *c)
{
	int64_t now = br_mono_ms(), first = 0;

	for (struct ps_topic *t = ps->topics; t; t = t->next) {
		if (t->conn != c || t->st != PT_SENT)
			continue;
		if (now - t->sent_ms >= ps->response_ms) {
			log_warn("pubsub: no RESPONSE to nonce %s within %ld ms "
			    "on connection %u; reconnecting", t->nonce,
			    ps->response_ms, c->serial);
			ps_drop(c, "response timeout");
			return;
		}
		if (first == 0 || t->sent_ms < first)
			first = t->sent_ms;
	}
	if (first != 0)
		br_timer_start(&c->resp, ps->response_ms - (now - first));
}

void
ps_on_reconnect(struct br_pubsub *ps, struct ps_conn *c)
{
	if (c->moving)
		return;
	log_info("pubsub: Twitch asks connection %u to reconnect; opening "
	    "its successor first", c->serial);
	c->moving = true;
	ps->reconnects++;
	br_metrics_add(ps->metrics, "twitch2mqtt_reconnects_total", 1,
	    "source", BR_PS_SOURCE, NULL);
	ps_lost_news(ps, "Twitch asked for a PubSub RECONNECT; moving the "
	    "topics to a new connection before closing the old one");
	ps_connect(ps, c);
}

void
ps_on_lost(struct br_pubsub *ps, struct ps_conn *c)
{
	bool had = false, quiet = c->superseded;

	/* unlink_conn (pubsub_conn.c) has already unhooked c. */
	for (struct ps_topic *t = ps->topics; t; t = t->next) {
		if (t->conn != c)
			continue;
		t->conn = NULL;
		had = true;
		if (t->st == PT_SENT || t->st == PT_OK)
			t->st = PT_NEW;
	}
	/* A successor that failed: the old one stays until it goes. */
	if (c->replaces != NULL)
		c->replaces->moving = false;
	if (ps->stopped || quiet)
		return;
	if (had) {
		ps->reconnects++;
		br_metrics_add(ps->metrics, "twitch2mqtt_reconnects_total", 1,
		    "source", BR_PS_SOURCE, NULL);
		ps_lost_news(ps, "a PubSub connection ended; reconnecting and "
		    "LISTENing its topics again");
	}
	if (!br_timer_pending(&ps->retry)) {
		int64_t ms = br_backoff_next(&ps->backoff);
		log_info("pubsub: reconnecting in %lld ms", (long long)ms);
		br_timer_start(&ps->retry, ms);
	}
}
