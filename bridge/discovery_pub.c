/*
 * Publishing the discovery configs: one reconcile step (br_disc_pub_sync)
 * that compares what the held subscriptions call for with what was
 * published, so that new channels, new events, new rewards and removals
 * all take the same path. What was published is remembered in the state
 * dir too, so that a channel dropped while the bridge was down is still
 * cleared. Reward lists come from Helix Get Custom Reward (broadcaster's
 * token with a redemptions scope), from the sample rewards for demo
 * channels, and from redemptions that name a reward not known yet.
 *
 * With discovery turned off the same step runs with nothing wanted: the
 * configs an earlier run published are cleared at the next connect, so
 * Home Assistant does not keep entities nobody feeds.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "discovery.h"
#include "event.h"
#include "helix.h"
#include "log.h"
#include "loop.h"
#include "sample.h"
#include "sink.h"
#include "subs.h"
#include "util.h"

#define ANNOUNCE_DELAY_MS 1500
#define FILE_MAX (4 << 20)

struct fetch {
	struct br_disc_pub *p;
	char *id;               /* broadcaster id */
	struct fetch *next;
};

struct br_disc_pub {
	struct br_loop *loop;
	struct br_sink sink;
	struct br_subs *subs;
	struct br_helix *helix;
	struct br_auth *auth;
	struct br_disc_options opts;
	char *base, *prefix, *version, *status_topic, *path;
	struct br_disc_pub_hooks hooks;
	json_t *published;      /* config topic -> payload string */
	json_t *rewards;        /* broadcaster id -> [{"id","title"}] */
	json_t *asked;          /* broadcaster id -> true: Helix was asked */
	struct fetch *fetches;  /* Helix requests in flight */
	struct br_timer announce;
	bool off;
};

static void
announce(void *arg)
{
	struct br_disc_pub *p = arg;
	if (p->hooks.announce != NULL)
		p->hooks.announce(p->hooks.ctx);
}

/* ---- what was published, across restarts ---- */

static void
load_published(struct br_disc_pub *p)
{
	char *text;
	size_t len, i;
	json_t *a, *t;

	if (br_read_file(p->path, FILE_MAX, &text, &len) < 0)
		return;
	a = json_loads(text, 0, NULL);
	free(text);
	/* "": payload unknown, so the next sync publishes it or clears it. */
	json_array_foreach(a, i, t)
		if (json_is_string(t))
			json_object_set_new(p->published, json_string_value(t),
			    json_string(""));
	json_decref(a);
}

static void
save_published(struct br_disc_pub *p)
{
	json_t *a = json_array();
	const char *topic;
	json_t *v;
	char *text;

	json_object_foreach(p->published, topic, v)
		json_array_append_new(a, json_string(topic));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL || br_write_file_atomic(p->path, text, strlen(text),
	    0600) < 0)
		log_warn("discovery: cannot write %s", p->path);
	free(text);
}

/* ---- lifecycle ---- */

struct br_disc_pub *
br_disc_pub_new(struct br_loop *loop, const struct br_sink *sink,
    struct br_subs *subs, struct br_helix *helix, struct br_auth *auth,
    const struct br_disc_pub_options *o, const struct br_disc_pub_hooks *h)
{
	struct br_disc_pub *p = br_xcalloc(1, sizeof *p);

	p->loop = loop;
	p->sink = *sink;
	p->subs = subs;
	p->helix = helix;
	p->auth = auth;
	p->base = br_xstrdup(o->base);
	p->prefix = br_xstrdup(o->prefix);
	p->version = br_xstrdup(o->version);
	p->opts = (struct br_disc_options){ p->base, p->prefix, p->version };
	p->status_topic = br_xasprintf("%s/status", o->prefix);
	p->path = br_xasprintf("%s/discovery.json", o->state_dir);
	p->hooks = *h;
	p->off = o->off;
	p->published = json_object();
	p->rewards = json_object();
	p->asked = json_object();
	br_timer_init(&p->announce, loop, announce, p);
	load_published(p);
	return p;
}

void
br_disc_pub_free(struct br_disc_pub *p)
{
	if (p == NULL)
		return;
	br_timer_stop(&p->announce);
	while (p->fetches != NULL) {
		struct fetch *f = p->fetches;
		p->fetches = f->next;
		free(f->id);
		free(f);
	}
	json_decref(p->published);
	json_decref(p->rewards);
	json_decref(p->asked);
	free(p->base);
	free(p->prefix);
	free(p->version);
	free(p->status_topic);
	free(p->path);
	free(p);
}

const char *
br_disc_pub_status_topic(const struct br_disc_pub *p)
{
	return p->status_topic;
}

/* ---- reward lists ---- */

static void
fetch_done(void *arg, const struct br_helix_response *res)
{
	struct fetch *f = arg, **pp;
	struct br_disc_pub *p = f->p;
	size_t i;
	json_t *r, *list;

	for (pp = &p->fetches; *pp != f; pp = &(*pp)->next)
		;
	*pp = f->next;
	if (res->status == 200 &&
	    json_is_array(json_object_get(res->json, "data"))) {
		list = json_array();
		json_array_foreach(json_object_get(res->json, "data"), i, r)
			if (json_is_string(json_object_get(r, "id")) &&
			    json_is_string(json_object_get(r, "title")))
				json_array_append_new(list, json_pack("{s:O, s:O}",
				    "id", json_object_get(r, "id"), "title",
				    json_object_get(r, "title")));
		log_info("discovery: channel %s has %zu custom rewards", f->id,
		    json_array_size(list));
		json_object_set_new(p->rewards, f->id, list);
		br_disc_pub_sync(p, false);
	} else {
		log_warn("discovery: Get Custom Reward for channel %s answered "
		    "%ld%s%s; reward triggers come from redemptions instead",
		    f->id, res->status, res->error ? ": " : "",
		    res->error ? res->error : "");
	}
	free(f->id);
	free(f);
}

/* Get Custom Reward needs the broadcaster's own token with a
 * redemptions scope; ask once per channel until a redemption names a
 * reward not known. */
static void
maybe_fetch(struct br_disc_pub *p, const struct br_sub *sub)
{
	const char *token, *uid;

	if (p->helix == NULL || p->auth == NULL ||
	    json_object_get(p->asked, sub->id) != NULL)
		return;
	token = br_auth_user_token(p->auth);
	uid = br_auth_user_id(p->auth);
	if (token == NULL || uid == NULL || strcmp(uid, sub->id) != 0 ||
	    (!br_auth_has_scope(p->auth, "channel:read:redemptions") &&
	    !br_auth_has_scope(p->auth, "channel:manage:redemptions")))
		return;
	json_object_set_new(p->asked, sub->id, json_true());
	struct fetch *f = br_xcalloc(1, sizeof *f);
	char *q = br_urlencode(sub->id);
	char *path = br_xasprintf("/channel_points/custom_rewards?"
	    "broadcaster_id=%s", q);
	f->p = p;
	f->id = br_xstrdup(sub->id);
	f->next = p->fetches;
	p->fetches = f;
	br_helix_api(p->helix, "GET", path, token, NULL, fetch_done, f);
	free(path);
	free(q);
}

static json_t *
rewards_of(struct br_disc_pub *p, const struct br_sub *sub)
{
	json_t *r = json_object_get(p->rewards, sub->id);

	if (r == NULL && strcmp(sub->transport, "demo") == 0) {
		r = br_sample_rewards();
		json_object_set_new(p->rewards, sub->id, r);
	}
	if (json_object_get(sub->events, "channel_points") != NULL &&
	    strcmp(sub->transport, "demo") != 0)
		maybe_fetch(p, sub);
	return r;
}

/* ---- the reconcile step ---- */

/* One channel per broadcaster id: the events of all its transports. */
static json_t *
channels(struct br_disc_pub *p)
{
	json_t *out = json_object();

	for (size_t i = 0; i < br_subs_count(p->subs); i++) {
		struct br_sub *s = br_subs_at(p->subs, i);
		const char *ev;
		json_t *v, *ch, *r;
		if (s->id == NULL || s->login == NULL)
			continue;
		if ((ch = json_object_get(out, s->id)) == NULL) {
			ch = json_pack("{s:s, s:s, s:s, s:[], s:n}", "id", s->id,
			    "login", s->login, "name", s->name ? s->name
			    : s->login, "events", "rewards");
			json_object_set_new(out, s->id, ch);
		}
		if ((r = rewards_of(p, s)) != NULL)
			json_object_set(ch, "rewards", r);
		json_object_foreach(s->events, ev, v)
			json_array_append_new(json_object_get(ch, "events"),
			    json_string(ev));
	}
	return out;
}

static json_t *
wanted(struct br_disc_pub *p)
{
	json_t *all, *chans, *c;
	const char *id;

	if (p->off)
		return json_object();
	all = br_disc_bridge(&p->opts);
	chans = channels(p);

	json_object_foreach(chans, id, c) {
		json_t *r = json_object_get(c, "rewards");
		struct br_disc_channel ch = {
			json_string_value(json_object_get(c, "id")),
			json_string_value(json_object_get(c, "login")),
			json_string_value(json_object_get(c, "name")),
			json_object_get(c, "events"), json_is_null(r) ? NULL : r,
		};
		json_t *cfgs = br_disc_channel(&p->opts, &ch);
		json_object_update(all, cfgs);
		json_decref(cfgs);
	}
	json_decref(chans);
	return all;
}

static void
publish(struct br_disc_pub *p, const char *topic, const char *payload)
{
	p->sink.ops->publish(p->sink.impl, br_msg_new(topic, payload,
	    strlen(payload), 1, true));
}

void
br_disc_pub_sync(struct br_disc_pub *p, bool all)
{
	json_t *want, *now, *cfg, *old;
	const char *topic;
	bool changed = false;

	if (p == NULL || !p->sink.ops->connected(p->sink.impl))
		return;
	want = wanted(p);
	now = json_object();
	json_object_foreach(p->published, topic, old)
		if (json_object_get(want, topic) == NULL) {
			publish(p, topic, "");
			changed = true;
		}
	json_object_foreach(want, topic, cfg) {
		char *text = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
		old = json_object_get(p->published, topic);
		if (all || old == NULL || strcmp(json_string_value(old), text))
			publish(p, topic, text);
		changed |= old == NULL;     /* the file lists topics only */
		json_object_set_new(now, topic, json_string(text));
		free(text);
	}
	json_decref(want);
	json_decref(p->published);
	p->published = now;
	if (changed)
		save_published(p);
}

bool
br_disc_pub_message(struct br_disc_pub *p, const char *topic,
    const char *payload, size_t len)
{
	if (p == NULL || p->off || strcmp(topic, p->status_topic) != 0)
		return false;
	if (len == 6 && memcmp(payload, "online", 6) == 0) {
		log_info("discovery: Home Assistant is online; publishing the "
		    "discovery configs again");
		br_disc_pub_sync(p, true);
		br_timer_start(&p->announce, ANNOUNCE_DELAY_MS);
	}
	return true;
}

/* ---- rewards learned from redemptions ---- */

static bool
learn_reward(json_t *list, const char *id, const char *title)
{
	size_t i;
	json_t *r;

	json_array_foreach(list, i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0) {
			if (strcmp(json_string_value(json_object_get(r, "title")),
			    title) == 0)
				return false;
			json_object_set_new(r, "title", json_string(title));
			return true;
		}
	json_array_append_new(list, json_pack("{s:s, s:s}", "id", id, "title",
	    title));
	return true;
}

void
br_disc_pub_event(void *arg, struct br_event *ev)
{
	struct br_disc_pub *p = arg;
	const char *type = br_event_type(ev);
	json_t *j = br_event_json(ev), *reward, *list;
	const char *cid, *rid, *title;

	/* Simulated redemptions name the sample rewards, not the channel's. */
	if (strncmp(type, "channel_points", 14) != 0 ||
	    json_is_true(json_object_get(j, "test")))
		return;
	cid = json_string_value(json_object_get(json_object_get(j, "channel"),
	    "id"));
	reward = json_object_get(j, "reward");
	rid = json_string_value(json_object_get(reward, "id"));
	title = json_string_value(json_object_get(reward, "title"));
	if (cid == NULL || rid == NULL || title == NULL)
		return;
	if ((list = json_object_get(p->rewards, cid)) == NULL) {
		list = json_array();
		json_object_set_new(p->rewards, cid, list);
	}
	if (!learn_reward(list, rid, title))
		return;
	log_info("discovery: channel %s: reward %s (\"%s\") is new or renamed",
	    cid, rid, title);
	json_object_del(p->asked, cid);         /* the list changed: ask again */
	br_disc_pub_sync(p, false);
}
