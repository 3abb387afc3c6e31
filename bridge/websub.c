/*
 * Legacy WebSub (Twitch's webhooks hub of 2018-2021): subscribing a
 * channel's follows, streams and users topics at <api_url>/webhooks/hub
 * with a lease renewed before it ends, and turning the hub's
 * notifications into contract events. Each subscription has its own
 * callback URL (?channel=<id>&topic=<which>), so a notification without a
 * Link header is still attributed to its channel.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "whsrc_int.h"

#define LEASE_S 864000                  /* the hub's maximum, 10 days */
#define RENEW_TICK_MS (60 * 1000)       /* leases are looked at this often */
#define RENEW_RETRY_MS (30 * 1000)      /* a renewal not verified by then */
#define RENEW_MIN_MS 1000               /* no faster, whatever the hub says */

struct topic {
	const char *event, *which;
};

static const struct topic topics[] = {
	{ "follow", "follows" },
	{ "stream", "streams" },
	{ "user_update", "users" },
};

static size_t
websub_specs(const char *event, struct br_es_spec *out)
{
	for (size_t i = 0; i < sizeof topics / sizeof *topics; i++) {
		if (strcmp(topics[i].event, event) == 0) {
			out[0] = (struct br_es_spec){ topics[i].which, "websub",
			    "" };
			return 1;
		}
	}
	return 0;
}

static char *
topic_url(struct br_whsrc *w, const char *which, const char *id)
{
	if (strcmp(which, "follows") == 0)
		return br_xasprintf("%s/users/follows?first=1&to_id=%s",
		    w->api_url, id);
	if (strcmp(which, "streams") == 0)
		return br_xasprintf("%s/streams?user_id=%s", w->api_url, id);
	return br_xasprintf("%s/users?id=%s", w->api_url, id);
}

static char *
callback_url(struct br_whsrc *w, const char *which, const char *id)
{
	return br_xasprintf("%s%schannel=%s&topic=%s", w->public_url,
	    strchr(w->public_url, '?') ? "&" : "?", id, which);
}

/* ---- talking to the hub ---- */

static void reconcile(struct br_whsrc *w);

struct call {
	struct br_whsrc *w;
	uint64_t serial;        /* 0 for an unsubscribe */
	bool renew;             /* a lease renewal of an enabled want */
};

static void
posted(void *arg, const struct br_helix_response *res)
{
	struct call *call = arg;
	struct br_whsrc *w = call->w;
	struct br_want *want = call->serial ? br_wants_by_serial(w->websub,
	    call->serial) : NULL;
	char reason[512];
	bool ok = res->status == 202 || res->status == 200;

	if (want != NULL && call->renew) {
		/* Stays enabled: the hub's GET renews the lease. */
		if (!ok && want->st == BR_WANT_ENABLED) {
			br_wants_failure(res, reason, sizeof reason);
			log_warn("websub: the hub refused to renew the %s lease "
			    "of %s: %s", want->spec.type, want->login, reason);
			br_wants_set(w->websub, want, BR_WANT_FAILED, reason);
		}
	} else if (want != NULL && want->st == BR_WANT_POSTING) {
		if (ok) {
			/* A waiting request is answered when the hub's GET
			 * arrives, or after VERIFY_WAIT_MS as pending. */
			br_wants_set(w->websub, want, BR_WANT_VERIFYING, NULL);
			if (want->req != NULL)
				br_timer_start(&w->deadline, VERIFY_WAIT_MS);
		} else {
			br_wants_failure(res, reason, sizeof reason);
			br_wants_set(w->websub, want, BR_WANT_FAILED, reason);
		}
	} else if (call->serial == 0 && res->status >= 300) {
		log_warn("websub: the hub refused an unsubscribe: %ld %s",
		    res->status, br_helix_message(res));
	}
	free(call);
}

static void
hub_post(struct br_whsrc *w, const char *token, const char *mode,
    const char *which, const char *id, uint64_t serial, bool renew)
{
	char *cb = callback_url(w, which, id), *topic = topic_url(w, which, id);
	json_t *body = json_pack("{s:s, s:s, s:s, s:i, s:s}", "hub.callback", cb,
	    "hub.mode", mode, "hub.topic", topic, "hub.lease_seconds", LEASE_S,
	    "hub.secret", w->secret);
	struct call *call = br_xcalloc(1, sizeof *call);

	call->w = w;
	call->serial = serial;
	call->renew = renew;
	br_helix_api(w->helix, "POST", "/webhooks/hub", token, body, posted,
	    call);
	free(cb);
	free(topic);
}

static void
with_token(void *arg, const char *token)
{
	struct br_whsrc *w = arg;

	if (token == NULL) {
		br_wants_fail_pending(w->websub, "failed: no app token (check "
		    "twitch.client_id and twitch.client_secret)");
		return;
	}
	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next) {
		if (want->st != BR_WANT_NEW)
			continue;
		want->st = BR_WANT_POSTING;
		hub_post(w, token, "subscribe", want->spec.type,
		    want->broadcaster_id, want->serial, false);
	}
}

static void
reconcile(struct br_whsrc *w)
{
	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next) {
		if (want->st == BR_WANT_NEW) {
			br_auth_app_token(w->auth, with_token, w);
			return;
		}
	}
}

static void
expanded(void *w)
{
	reconcile(w);
}

/* Leases are renewed well before they end: renewing is subscribing
 * again, and the hub verifies it like the first time. A want's until_ms
 * is when to renew (90% into the lease the hub granted); the want stays
 * enabled meanwhile. */
static void
schedule_renew(struct br_whsrc *w)
{
	int64_t now = br_now_ms(), next = now + RENEW_TICK_MS;

	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next)
		if (want->st == BR_WANT_ENABLED && want->until_ms > 0 &&
		    want->until_ms < next)
			next = want->until_ms;
	br_timer_start(&w->renew, next > now ? next - now : 0);
}

struct renew {
	struct br_whsrc *w;
	size_t n;
	uint64_t serial[];
};

static void
renew_with(void *arg, const char *token)
{
	struct renew *r = arg;

	for (size_t i = 0; token != NULL && i < r->n; i++) {
		struct br_want *want = br_wants_by_serial(r->w->websub,
		    r->serial[i]);
		if (want != NULL && want->st == BR_WANT_ENABLED)
			hub_post(r->w, token, "subscribe", want->spec.type,
			    want->broadcaster_id, want->serial, true);
	}
	if (token == NULL)
		log_warn("websub: no app token to renew leases with; trying "
		    "again later");
	free(r);
}

static void
renew_fired(void *arg)
{
	struct br_whsrc *w = arg;
	int64_t now = br_now_ms();
	size_t n = 0;

	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next)
		n += want->st == BR_WANT_ENABLED && want->until_ms > 0 &&
		    now >= want->until_ms;
	if (n > 0) {
		struct renew *r = br_xcalloc(1, sizeof *r + n * sizeof r->serial[0]);
		r->w = w;
		for (struct br_want *want = br_wants_first(w->websub); want;
		    want = want->next) {
			if (want->st != BR_WANT_ENABLED || want->until_ms <= 0 ||
			    now < want->until_ms)
				continue;
			log_info("websub: renewing the %s lease of %s",
			    want->spec.type, want->login);
			/* again then, unless the hub's GET comes first */
			want->until_ms = now + RENEW_RETRY_MS;
			r->serial[r->n++] = want->serial;
		}
		br_auth_app_token(w->auth, renew_with, r);
	}
	reconcile(w);
	schedule_renew(w);
}

/* ---- calls from the hub on the endpoint ---- */

static struct br_want *
find(struct br_whsrc *w, const char *id, const char *which)
{
	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next)
		if (id && which && strcmp(want->broadcaster_id, id) == 0 &&
		    strcmp(want->spec.type, which) == 0)
			return want;
	return NULL;
}

void
websub_on_verify(struct br_whsrc *w, const char *mode, const char *topic,
    const char *channel, const char *which, const char *lease_seconds)
{
	struct br_want *want = find(w, channel, which);
	char *end = NULL;
	long long lease = lease_seconds ? strtoll(lease_seconds, &end, 10) : 0;

	/* The hub may grant less than asked; without a number (twitch-cli
	 * sends none) what was asked. */
	if (end == NULL || *end != '\0' || lease <= 0 || lease > LEASE_S)
		lease = LEASE_S;
	log_info("websub: the hub verified %s of %s (lease %lld s)",
	    mode ? mode : "?", topic ? topic : "?", lease);
	if (want == NULL || mode == NULL || strcmp(mode, "subscribe") != 0)
		return;
	long long renew_in = lease * 900;       /* 90% of it, in ms */
	want->until_ms = br_now_ms() + (renew_in < RENEW_MIN_MS ? RENEW_MIN_MS
	    : renew_in);
	br_wants_set(w->websub, want, BR_WANT_ENABLED, NULL);
	schedule_renew(w);
}

void
websub_on_denied(struct br_whsrc *w, const char *topic, const char *reason)
{
	char why[512], detail[512];

	log_warn("websub: the hub denied %s: %s", topic ? topic : "?",
	    reason ? reason : "no reason given");
	for (struct br_want *want = br_wants_first(w->websub), *next; want;
	    want = next) {
		next = want->next;
		char *url = topic_url(w, want->spec.type, want->broadcaster_id);
		bool hit = topic != NULL && strcmp(url, topic) == 0;
		free(url);
		if (!hit)
			continue;
		snprintf(why, sizeof why, "failed: denied by the hub (%s)",
		    reason ? reason : "no reason given");
		snprintf(detail, sizeof detail, "the WebSub hub denied %s for "
		    "%s: %s", want->event, want->login, reason ? reason : "-");
		w->hooks.event(w->hooks.ctx, "revoked", WS_SOURCE, want->login,
		    json_pack("[s]", want->event), detail);
		br_wants_set(w->websub, want, BR_WANT_FAILED, why);
	}
}

/* ---- notifications ---- */

static const char *
str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL && *v != '\0' ? v : NULL;
}

/* WebSub names only display names; a display name that is a valid login
 * once lower-cased is the login. */
static char *
login_from(const char *name)
{
	if (name == NULL)
		return NULL;
	char *l = br_xstrdup(name);
	for (char *p = l; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '_') {
			free(l);
			return NULL;
		}
	}
	return l;
}

static struct br_sub *
held_by_id(struct br_whsrc *w, const char *id)
{
	for (size_t i = 0; id && i < br_subs_count(w->subs); i++) {
		struct br_sub *s = br_subs_at(w->subs, i);
		if (strcmp(s->transport, "websub") == 0 && s->id &&
		    strcmp(s->id, id) == 0)
			return s;
	}
	return NULL;
}

static struct br_event *
start(struct br_whsrc *w, const char *type, const char *event_type,
    const char *channel_id, const char *channel_name, const char *id)
{
	struct br_sub *sub = held_by_id(w, channel_id);
	char *login = sub ? NULL : login_from(channel_name);
	struct br_event *ev = br_event_new(type, event_type, WS_SOURCE);

	br_event_set_id(ev, id);
	br_event_set_channel(ev, channel_id, sub ? sub->login : login,
	    sub ? sub->name : channel_name);
	free(login);
	return ev;
}

static struct br_event *
follow(struct br_whsrc *w, json_t *d, const char *channel, const char *id)
{
	struct br_event *ev = start(w, "follow", "follow",
	    str(d, "to_id") ? str(d, "to_id") : channel, str(d, "to_name"), id);
	char *login = login_from(str(d, "from_name"));
	br_event_set_user(ev, str(d, "from_id"), login, str(d, "from_name"));
	free(login);
	json_t *at = json_object_get(d, "followed_at");
	json_object_set(br_event_json(ev), "followed_at", json_is_string(at) ? at
	    : json_null());
	return ev;
}

static struct br_event *
stream(struct br_whsrc *w, json_t *d, const char *channel, const char *id)
{
	const char *cid = str(d, "user_id") ? str(d, "user_id") : channel;
	struct br_sub *sub = held_by_id(w, cid);
	json_t *state = sub ? br_bus_channel_state(w->bus, sub->login) : NULL;
	bool live = json_is_true(json_object_get(state, "live"));
	struct br_event *ev;

	if (d == NULL) {
		ev = start(w, "stream", "offline", cid, NULL, id);
		json_object_set_new(br_event_json(ev), "started_at", json_null());
		return ev;
	}
	/* A streams notification while live is the title or game changing. */
	ev = start(w, live ? "channel_update" : "stream", live ? "update"
	    : "online", cid, str(d, "user_name"), id);
	json_t *o = br_event_json(ev);
	if (live) {
		json_object_set_new(o, "title", json_string(str(d, "title") ?
		    str(d, "title") : ""));
		json_object_set_new(o, "category", json_pack("{s:s?, s:s?}", "id",
		    str(d, "game_id"), "name", str(d, "game_name")));
		json_object_set_new(o, "language", str(d, "language") ?
		    json_string(str(d, "language")) : json_null());
	} else {
		json_object_set_new(o, "started_at", str(d, "started_at") ?
		    json_string(str(d, "started_at")) : json_null());
	}
	return ev;
}

static struct br_event *
user(struct br_whsrc *w, json_t *d, const char *channel, const char *id)
{
	struct br_event *ev = start(w, "user_update", "update", str(d, "id") ?
	    str(d, "id") : channel, str(d, "display_name"), id);
	json_t *o = br_event_json(ev);

	json_object_set_new(o, "login", str(d, "login") ?
	    json_string(str(d, "login")) : json_null());
	json_object_set_new(o, "name", str(d, "display_name") ?
	    json_string(str(d, "display_name")) : json_null());
	json_object_set_new(o, "description", str(d, "description") ?
	    json_string(str(d, "description")) : json_null());
	return ev;
}

/* The notification id, or one derived from the content so that a
 * redelivery is still a duplicate. */
static void
event_id(char *buf, size_t size, const char *notification_id, json_t *body,
    const char *which, const char *channel, size_t index)
{
	if (notification_id != NULL && *notification_id != '\0') {
		snprintf(buf, size, index ? "%s:%zu" : "%s", notification_id,
		    index);
		return;
	}
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = br_hash64(text, strlen(text), 0x7765627375627631ULL);
	free(text);
	snprintf(buf, size, "websub-%s-%s-%016llx-%zu", which, channel,
	    (unsigned long long)h, index);
}

int
websub_on_notification(struct br_whsrc *w, json_t *body, const char *channel,
    const char *which, const char *notification_id, const char *timestamp)
{
	json_t *data = json_object_get(body, "data"), *d;
	char id[256];
	size_t i;
	int rc = 0;

	if (!json_is_array(data) || which == NULL || *which == '\0') {
		log_warn("websub: a notification without data or without our "
		    "topic argument");
		return -EINVAL;
	}
	if (json_array_size(data) == 0 && strcmp(which, "streams") == 0) {
		event_id(id, sizeof id, notification_id, body, which, channel, 0);
		return br_bus_submit(w->bus, stream(w, NULL, channel, id)) ==
		    -ENOBUFS ? -ENOBUFS : 0;
	}
	json_array_foreach(data, i, d) {
		struct br_event *ev = NULL;
		event_id(id, sizeof id, notification_id, body, which, channel, i);
		if (strcmp(which, "follows") == 0)
			ev = follow(w, d, channel, id);
		else if (strcmp(which, "streams") == 0)
			ev = stream(w, d, channel, id);
		else if (strcmp(which, "users") == 0)
			ev = user(w, d, channel, id);
		if (ev == NULL)
			return -EINVAL;
		int64_t ms;
		if (timestamp != NULL && br_parse_time(timestamp, &ms) == 0)
			br_event_set_time_ms(ev, ms);
		int r = br_bus_submit(w->bus, ev);
		if (r == -ENOBUFS)
			rc = -ENOBUFS;
	}
	return rc;
}

/* ---- the source ---- */

static const char *
ws_subscribe(void *impl, struct br_sub *sub, char *const *events, size_t n,
    br_source_done done, void *arg)
{
	struct br_whsrc *w = impl;
	return whsrc_begin(w, w->websub, true, expanded, sub, events, n, done,
	    arg);
}

struct unsub {
	struct br_whsrc *w;
	char *which, *id;
};

static void
unsub_with(void *arg, const char *token)
{
	struct unsub *u = arg;
	if (token != NULL)
		hub_post(u->w, token, "unsubscribe", u->which, u->id, 0, false);
	free(u->which);
	free(u->id);
	free(u);
}

static void
ws_gone(void *arg, struct br_want *want)
{
	struct unsub *u = br_xcalloc(1, sizeof *u);
	u->w = arg;
	u->which = br_xstrdup(want->spec.type);
	u->id = br_xstrdup(want->broadcaster_id);
	br_auth_app_token(u->w->auth, unsub_with, u);
}

static void
ws_unsubscribe(void *impl, struct br_sub *sub, char *const *events, size_t n)
{
	struct br_whsrc *w = impl;

	/* Every want has a hub subscription (or one on its way): always
	 * say unsubscribe, even without an id from Twitch. */
	for (struct br_want *want = br_wants_first(w->websub); want;
	    want = want->next) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(want->login, sub->login) == 0 &&
			    strcmp(want->event, events[i]) == 0)
				ws_gone(w, want);
	}
	for (size_t i = 0; i < n; i++)
		br_wants_remove(w->websub, sub->login, events[i], NULL, NULL);
}

static const char *
ws_status(void *impl)
{
	struct br_whsrc *w = impl;
	if (whsrc_missing(w, true) != NULL)
		return br_wants_live(w->websub) ? "down" : "idle";
	return "up";
}

static const struct br_source_ops ws_ops = {
	.subscribe = ws_subscribe,
	.unsubscribe = ws_unsubscribe,
	.status = ws_status,
};

struct br_source
websub_source(struct br_whsrc *w)
{
	return (struct br_source){ "websub", WS_SOURCE, &ws_ops, w };
}

void
websub_init(struct br_whsrc *w)
{
	w->websub = br_wants_new(w->subs, "websub", &w->hooks, websub_specs);
	br_timer_init(&w->renew, w->loop, renew_fired, w);
	br_timer_start(&w->renew, RENEW_TICK_MS);
}

void
websub_release(struct br_whsrc *w)
{
	br_timer_stop(&w->renew);
	br_wants_free(w->websub);
}
