/*
 * Twitch tokens for the daemon (CONTRACT 2 and 7). The user token is
 * validated at start and hourly, refreshed before it expires and on 401,
 * one refresh at a time; the app token is auth_app.c's, subscriptions'
 * own tokens auth_pair.c's. Everything runs on the loop thread. Nothing
 * here logs or publishes a token, a refresh token or the client secret.
 * Which user token (configuration or tokens.json): br_tokens_choose().
 *
 * hooks.ready runs each time the token becomes usable after it was not:
 * at the first successful validation, and after a refresh that followed a
 * 401. A routine refresh before expiry does not repeat it.
 *
 * Helix answers may arrive after br_auth_free, so requests carry a
 * reference to a small struct auth_ref rather than to the auth itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_int.h"
#include "backoff.h"
#include "log.h"
#include "util.h"

#define VALIDATE_EVERY_MS       (60 * 60 * 1000)
#define REFRESH_MARGIN_S        300
#define RETRY_BASE_MS           5000
#define RETRY_CAP_MS            (5 * 60 * 1000)
/* However short-lived the tokens Twitch issues, refresh no more often. */
#define REFRESH_MIN_GAP_MS      30000

#define REAUTHORIZE \
	"run `twitch2mqtt auth` or configure a new twitch.access_token and " \
	"twitch.refresh_token"

static void validate_now(struct br_auth *a);
static void refresh(struct br_auth *a, bool internal, br_auth_done done,
                    void *arg);

/* An answer may come after br_auth_free; a freed auth's ref stays
 * reachable here until its last answer (if any) arrives. */
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth_ref *orphans;

static struct auth_ref *
ref_get(struct br_auth *a)
{
	a->ref->refs++;
	return a->ref;
}

/* Drops one reference; returns the auth, or NULL when it was freed. */
struct br_auth *
auth_ref_put(struct auth_ref *r)
{
	struct br_auth *a = r->a;

	if (--r->refs > 0)
		return a;
	pthread_mutex_lock(&orphans_lock);
	for (struct auth_ref **p = &orphans; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	pthread_mutex_unlock(&orphans_lock);
	free(r);
	return a;
}

/* Text from Twitch for a log line: short, and never a secret even if a
 * server were to echo one back. */
static const char *
safe_text(const struct br_auth *a, const char *s, char *buf, size_t size)
{
	const char *secrets[] = { a->tok.access_token, a->tok.refresh_token,
		a->client_secret, a->app_token, a->cfg_access, a->cfg_refresh };

	if (s == NULL)
		return "no message";
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		if (secrets[i] != NULL && strstr(s, secrets[i]) != NULL)
			return "message withheld: it contains a secret";
	snprintf(buf, size, "%s", s);
	return buf;
}

const char *
auth_twitch_message(const struct br_auth *a,
    const struct br_helix_response *r, char *buf, size_t size)
{
	const char *m;

	if (r->error != NULL)
		return r->error;
	m = json_string_value(json_object_get(r->json, "message"));
	if (m == NULL)
		m = json_string_value(json_object_get(r->json, "error"));
	return safe_text(a, m, buf, size);
}

static void
store_tokens(struct br_auth *a)
{
	int rc = br_mkdirs(a->state_dir, 0700);

	if (rc == 0)
		rc = br_tokens_save(a->path, &a->tok);
	if (rc < 0)
		log_warn("auth: cannot store the user token in %s: %s; a "
		    "restart will need a new one", a->path, strerror(-rc));
	else
		a->in_file = true;
}

struct auth_waiter *
auth_waiter_add(struct auth_waiter **list, br_auth_done done,
    br_auth_token_cb tdone, void *arg)
{
	struct auth_waiter *w = br_xcalloc(1, sizeof *w);

	w->done = done;
	w->token_done = tdone;
	w->arg = arg;
	while (*list != NULL)
		list = &(*list)->next;
	*list = w;
	return w;
}

/* Calls and frees every waiter; a callback may free the auth, after
 * which the rest are freed uncalled. */
void
auth_notify(struct br_auth *a, struct auth_waiter *w, bool ok,
    const char *token)
{
	struct auth_ref *r = ref_get(a);
	char *copy = token != NULL ? br_xstrdup(token) : NULL;

	for (struct auth_waiter *next; w != NULL; w = next) {
		next = w->next;
		if (r->a != NULL && w->done != NULL)
			w->done(w->arg, ok);
		else if (r->a != NULL && w->token_done != NULL)
			w->token_done(w->arg, copy);
		free(w);
	}
	br_secret_free(copy);
	auth_ref_put(r);
}

static void
set_ready(struct br_auth *a)
{
	if (a->usable)
		return;
	a->usable = true;
	if (a->hooks.ready != NULL)
		a->hooks.ready(a->hooks.ctx);
}

/* what: a sentence start for the event; why: the detail for the log. */
static void
fail(struct br_auth *a, const char *what, const char *why)
{
	char detail[256];

	if (a->failed)
		return;
	a->failed = true;
	a->usable = false;
	free(a->refused);
	a->refused = br_tokens_fingerprint(NULL, a->tok.refresh_token);
	br_timer_stop(&a->refresh_timer);
	log_error("auth: %s (%s); " REAUTHORIZE, what, why);
	snprintf(detail, sizeof detail, "%s; " REAUTHORIZE ".", what);
	if (a->hooks.event != NULL)
		a->hooks.event(a->hooks.ctx, "auth_failed", detail);
}

/* While failed: adopt tokens that replaced the refused ones (a new
 * configuration is a new auth; this catches `twitch2mqtt auth` writing
 * tokens.json under a running daemon). */
static bool
recover(struct br_auth *a)
{
	struct br_tokens t;
	const char *from;
	char *fp;
	bool fresh;
	int rc;

	rc = br_tokens_choose(a->path, a->cfg_access, a->cfg_refresh, &t,
	    &from);
	if (rc < 0)
		return false;
	fp = br_tokens_fingerprint(NULL, t.refresh_token);
	fresh = fp != NULL && !br_str_same(fp, a->refused);
	free(fp);
	if (!fresh) {
		br_tokens_clear(&t);
		return false;
	}
	log_info("auth: new user token found in %s", from);
	br_tokens_clear(&a->tok);
	a->tok = t;
	a->in_file = rc == 1;
	a->token_gen++;
	a->failed = false;
	a->just_refreshed = false;
	return true;
}

static void
schedule_refresh(struct br_auth *a, long long expires_in)
{
	long long due, earliest;

	if (expires_in <= 0)    /* Twitch: 0 means it does not expire */
		return;
	due = (expires_in - REFRESH_MARGIN_S) * 1000LL;
	earliest = a->last_refresh_ms == 0 ? 0 :
	    a->last_refresh_ms + REFRESH_MIN_GAP_MS - br_mono_ms();
	if (due < earliest)
		due = earliest;
	if (due <= 0)
		refresh(a, true, NULL, NULL);
	else
		br_timer_start(&a->refresh_timer, due);
}

static void
learn(struct br_auth *a, json_t *j)
{
	const char *uid = json_string_value(json_object_get(j, "user_id"));
	const char *login = json_string_value(json_object_get(j, "login"));
	const char *cid = json_string_value(json_object_get(j, "client_id"));
	json_t *scopes = json_object_get(j, "scopes");
	bool changed = !br_str_same(uid, a->tok.user_id) ||
	    !br_str_same(login, a->tok.login);

	if (cid != NULL && a->client_id != NULL && strcmp(cid, a->client_id))
		log_warn("auth: the user token was issued to client id %s, not "
		    "to twitch.client_id; Helix will refuse it", cid);
	if (changed) {
		free(a->tok.user_id);
		free(a->tok.login);
		a->tok.user_id = uid != NULL ? br_xstrdup(uid) : NULL;
		a->tok.login = login != NULL ? br_xstrdup(login) : NULL;
	}
	if (json_is_array(scopes) && !json_equal(scopes, a->tok.scopes)) {
		json_decref(a->tok.scopes);
		a->tok.scopes = json_incref(scopes);
		changed = true;
	}
	/* Keep the identity beside the token once the token lives there. */
	if (changed && a->in_file)
		store_tokens(a);
}

static void
on_validate(void *arg, const struct br_helix_response *r)
{
	struct br_auth *a = auth_ref_put(arg);
	long long expires_in;
	char buf[200];

	if (a == NULL)
		return;
	a->validating = false;
	if (a->validating_gen != a->token_gen) {        /* stale */
		validate_now(a);
		return;
	}
	if (r->status == 200 && json_is_object(r->json)) {
		learn(a, r->json);
		expires_in = json_integer_value(json_object_get(r->json,
		    "expires_in"));
		a->tok.expires_at_ms = expires_in > 0 ?
		    br_now_ms() + expires_in * 1000 : 0;
		a->just_refreshed = false;
		br_backoff_reset(&a->backoff);
		log_info("auth: user token valid login=%s user_id=%s "
		    "expires_in=%lld scopes=%zu", a->tok.login ? a->tok.login :
		    "-", a->tok.user_id ? a->tok.user_id : "-", expires_in,
		    json_array_size(a->tok.scopes));
		br_timer_start(&a->validate_timer, VALIDATE_EVERY_MS);
		set_ready(a);
		schedule_refresh(a, expires_in);
		return;
	}
	if (r->status == 401) {
		/* Keep asking hourly even when failed: that is how tokens
		 * stored by `twitch2mqtt auth` meanwhile are found. */
		br_timer_start(&a->validate_timer, VALIDATE_EVERY_MS);
		a->usable = false;
		if (a->just_refreshed) {
			/* A refresh loop would follow; stop here instead. */
			fail(a, "Twitch refused the user token it had just "
			    "issued", "401 from /validate");
			return;
		}
		log_info("auth: the user token is no longer valid; refreshing");
		refresh(a, true, NULL, NULL);
		return;
	}
	long long ms = br_backoff_next(&a->backoff);
	log_warn("auth: cannot validate the user token (status %ld: %s); "
	    "retrying in %lld s", r->status, auth_twitch_message(a, r, buf,
	    sizeof buf), ms / 1000);
	br_timer_start(&a->validate_timer, ms);
}

static void
validate_now(struct br_auth *a)
{
	if (a->validating || a->tok.access_token == NULL)
		return;
	a->validating = true;
	a->validating_gen = a->token_gen;
	br_helix_validate(a->helix, a->tok.access_token, on_validate,
	    ref_get(a));
}

static void
validate_timer_fired(void *arg)
{
	validate_now(arg);
}

static void
refresh_timer_fired(void *arg)
{
	refresh(arg, true, NULL, NULL);
}

static void
adopt(struct br_auth *a, json_t *j)
{
	const char *access = json_string_value(json_object_get(j,
	    "access_token"));
	const char *refresh = json_string_value(json_object_get(j,
	    "refresh_token"));
	json_int_t expires_in = json_integer_value(json_object_get(j,
	    "expires_in"));
	json_t *scope = json_object_get(j, "scope");

	br_secret_free(a->tok.access_token);
	a->tok.access_token = br_xstrdup(access);
	if (refresh != NULL && *refresh != '\0') {
		br_secret_free(a->tok.refresh_token);
		a->tok.refresh_token = br_xstrdup(refresh);
	}
	a->tok.expires_at_ms = expires_in > 0 ?
	    br_now_ms() + (int64_t)expires_in * 1000 : 0;
	if (json_is_array(scope)) {
		json_decref(a->tok.scopes);
		a->tok.scopes = json_incref(scope);
	}
	a->token_gen++;
	a->last_refresh_ms = br_mono_ms();
	store_tokens(a);
	log_info("auth: user token refreshed expires_in=%lld",
	    (long long)expires_in);
	if (a->hooks.event != NULL)
		a->hooks.event(a->hooks.ctx, "token_refreshed",
		    "the user token was refreshed");
}

static void
on_refresh(void *arg, const struct br_helix_response *r)
{
	struct br_auth *a = auth_ref_put(arg);
	struct auth_waiter *w;
	bool internal, ok = false;
	char buf[200];

	if (a == NULL)
		return;
	w = a->refresh_waiters;
	a->refresh_waiters = NULL;
	a->refreshing = false;
	internal = a->internal_refresh;
	a->internal_refresh = false;
	if (r->status == 200 && json_is_string(json_object_get(r->json,
	    "access_token"))) {
		adopt(a, r->json);
		ok = true;
		a->just_refreshed = true;
		br_backoff_reset(&a->backoff);
		br_timer_stop(&a->refresh_timer);
		/* Usable now if we know whose it is; else after /validate. */
		if (a->tok.user_id != NULL)
			set_ready(a);
		validate_now(a);
	} else if (r->status == 400 || r->status == 401) {
		fail(a, "Twitch refused the refresh token",
		    auth_twitch_message(a, r, buf, sizeof buf));
	} else {
		long long ms = br_backoff_next(&a->backoff);
		log_warn("auth: cannot refresh the user token (status %ld: "
		    "%s)%s", r->status, auth_twitch_message(a, r, buf, sizeof buf),
		    internal ? "; retrying" : "");
		if (internal)
			br_timer_start(&a->refresh_timer, ms);
	}
	auth_notify(a, w, ok, NULL);
}

/* POST /token: grant (already a form fragment), our client id and, when
 * configured, the client secret. */
void
auth_post_token(struct br_auth *a, const char *grant, br_helix_cb cb)
{
	char *cid = br_urlencode(a->client_id ? a->client_id : "");
	char *cs = a->client_secret ? br_urlencode(a->client_secret) : NULL;
	char *form = br_xasprintf("%s&client_id=%s%s%s", grant, cid,
	    cs ? "&client_secret=" : "", cs ? cs : "");

	br_helix_oauth(a->helix, "/token", form, cb, ref_get(a));
	br_secret_free(form);
	br_secret_free(cs);
	free(cid);
}

/* POST /token: the refresh grant for refresh_token. */
void
auth_post_refresh(struct br_auth *a, const char *refresh_token, br_helix_cb cb)
{
	char *rt = br_urlencode(refresh_token);
	char *grant = br_xasprintf("grant_type=refresh_token&refresh_token=%s",
	    rt);

	auth_post_token(a, grant, cb);
	br_secret_free(grant);
	br_secret_free(rt);
}

static void
refresh(struct br_auth *a, bool internal, br_auth_done done, void *arg)
{
	if (a->failed && !recover(a)) {
		if (done != NULL)
			done(arg, false);
		return;
	}
	if (a->tok.access_token == NULL && a->tok.refresh_token == NULL) {
		if (done != NULL)       /* nothing to refresh, nothing failed */
			done(arg, false);
		return;
	}
	if (a->tok.refresh_token == NULL) {
		fail(a, "the user token cannot be refreshed",
		    "no refresh token is configured or stored");
		if (done != NULL)
			done(arg, false);
		return;
	}
	if (done != NULL)
		auth_waiter_add(&a->refresh_waiters, done, NULL, arg);
	a->internal_refresh |= internal;
	if (a->refreshing)
		return;
	a->refreshing = true;
	auth_post_refresh(a, a->tok.refresh_token, on_refresh);
}

void
br_auth_refresh(struct br_auth *a, br_auth_done done, void *arg)
{
	refresh(a, false, done, arg);
}

struct br_auth *
br_auth_new(struct br_loop *loop, struct br_helix *helix,
    const struct br_auth_options *opts, const struct br_auth_hooks *hooks)
{
	struct br_auth *a = br_xcalloc(1, sizeof *a);
	const char *from;

	a->helix = helix;
	if (hooks != NULL)
		a->hooks = *hooks;
	a->ref = br_xcalloc(1, sizeof *a->ref);
	a->ref->a = a;
	a->ref->refs = 1;
	a->client_id = br_xstrdup_nonempty(opts->client_id);
	a->client_secret = br_xstrdup_nonempty(opts->client_secret);
	a->cfg_access = br_xstrdup_nonempty(opts->access_token);
	a->cfg_refresh = br_xstrdup_nonempty(opts->refresh_token);
	a->state_dir = br_xstrdup(opts->state_dir && *opts->state_dir ?
	    opts->state_dir : ".");
	a->path = br_tokens_path(a->state_dir);
	br_timer_init(&a->validate_timer, loop, validate_timer_fired, a);
	br_timer_init(&a->refresh_timer, loop, refresh_timer_fired, a);
	br_backoff_init(&a->backoff, RETRY_BASE_MS, RETRY_CAP_MS,
	    br_random64());
	switch (br_tokens_choose(a->path, a->cfg_access,
	    a->cfg_refresh, &a->tok, &from)) {
	case 1:
		a->in_file = true;
		/* FALLTHROUGH */
	case 0:
		log_info("auth: user token from %s", from);
		break;
	}
	return a;
}

static void
waiters_free(struct auth_waiter *w)
{
	for (struct auth_waiter *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
}

/* Waiters are dropped uncalled, as br_helix_free drops requests. */
void
br_auth_free(struct br_auth *a)
{
	if (a == NULL)
		return;
	br_timer_stop(&a->validate_timer);
	br_timer_stop(&a->refresh_timer);
	a->ref->a = NULL;
	if (a->ref->refs > 1) {         /* answers still due: park it */
		pthread_mutex_lock(&orphans_lock);
		a->ref->next = orphans;
		orphans = a->ref;
		pthread_mutex_unlock(&orphans_lock);
	}
	auth_ref_put(a->ref);
	auth_pairs_free(a);
	waiters_free(a->refresh_waiters);
	waiters_free(a->app_waiters);
	br_tokens_clear(&a->tok);
	br_secret_free(a->app_token);
	br_secret_free(a->client_secret);
	br_secret_free(a->cfg_access);
	br_secret_free(a->cfg_refresh);
	free(a->client_id);
	free(a->state_dir);
	free(a->path);
	free(a->refused);
	free(a);
}

void
br_auth_start(struct br_auth *a)
{
	if (a->tok.access_token != NULL) {
		validate_now(a);
	} else if (a->tok.refresh_token != NULL) {
		refresh(a, true, NULL, NULL);
	} else {
		log_info("auth: no user token; configure twitch.access_token "
		    "or run `twitch2mqtt auth`");
	}
}

const char *
br_auth_user_token(const struct br_auth *a)
{
	return a->tok.access_token;
}

const char *
br_auth_user_id(const struct br_auth *a)
{
	return a->tok.user_id;
}

const char *
br_auth_user_login(const struct br_auth *a)
{
	return a->tok.login;
}

bool
br_auth_failed(const struct br_auth *a)
{
	return a->failed;
}

bool
br_auth_has_scope(const struct br_auth *a, const char *scope)
{
	size_t i;
	json_t *v;

	json_array_foreach(a->tok.scopes, i, v)
		if (br_str_same(json_string_value(v), scope))
			return true;
	return false;
}

bool
br_auth_has_user(const struct br_auth *a)
{
	return a->tok.access_token != NULL || a->tok.refresh_token != NULL;
}
