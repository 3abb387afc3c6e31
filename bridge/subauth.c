/*
 * What follows when Twitch refuses a subscription's own token (see
 * subauth.h). One refresh per subscription at a time: every call that met
 * the refusal meanwhile waits for it. A subscription is found again by
 * transport and channel when the answer comes, since it may have been
 * unsubscribed, or given a new pair, in the meantime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "subauth.h"
#include "util.h"

struct waiter {
	struct waiter *next;
	br_auth_done done;
	void *arg;
};

/* A refresh under way for one subscription. */
struct refresh {
	struct refresh *next;
	struct br_subauth *sa;
	char *transport, *login, *id;
	char *old_refresh;              /* secret */
	char *why;
	struct waiter *waiters;
};

struct br_subauth {
	struct br_auth *auth;
	struct br_subs *subs;
	char *source;
	struct br_source_hooks hooks;
	struct refresh *refreshes;
};

static const char *
who(const struct br_sub *sub)
{
	return sub->login != NULL ? sub->login : sub->id ? sub->id : "?";
}

static json_t *
events_of(const struct br_sub *sub)
{
	json_t *a = json_array(), *v;
	const char *ev;

	json_object_foreach(sub->events, ev, v)
		json_array_append_new(a, json_string(ev));
	return a;
}

static void
tell(struct br_subauth *sa, const struct br_sub *sub, const char *type,
    const char *detail)
{
	sa->hooks.event(sa->hooks.ctx, type, sa->source, sub->login,
	    events_of(sub), detail);
}

/* For good: auth_failed once, and no refresh until a new pair comes. */
static void
give_up(struct br_subauth *sa, struct br_sub *sub, const char *why,
    const char *what)
{
	char detail[512];

	sub->token_refused = true;
	snprintf(detail, sizeof detail, "Twitch refused the token of the "
	    "%s subscription to channel %s (%s) and %s; subscribe again with "
	    "a new token", sub->transport, who(sub), why, what);
	log_warn("%s: %s", sa->source, detail);
	tell(sa, sub, "auth_failed", detail);
}

static void
refresh_free(struct refresh *r)
{
	for (struct waiter *w = r->waiters, *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	free(r->transport);
	free(r->login);
	free(r->id);
	if (r->old_refresh != NULL)
		explicit_bzero(r->old_refresh, strlen(r->old_refresh));
	free(r->old_refresh);
	free(r->why);
	free(r);
}

/* Twitch spent the old refresh token: every subscription that held the
 * pair (the same may be given for two transports) takes the new one.
 * sub, the one refused, names the channel; any other will do if it went
 * meanwhile. */
static void
adopt(struct br_subauth *sa, struct refresh *r,
    const struct br_token_pair *fresh, struct br_sub *sub)
{
	char detail[256];
	size_t n = 0;

	for (size_t i = 0; i < br_subs_count(sa->subs); i++) {
		struct br_sub *s = br_subs_at(sa->subs, i);
		if (!br_str_same(s->refresh_token, r->old_refresh))
			continue;
		br_sub_set_tokens(s, fresh->access_token, fresh->refresh_token,
		    s->token_origin);
		if (sub == NULL)
			sub = s;
		n++;
	}
	if (n == 0)
		return;
	log_info("%s: refreshed the token of the %s subscription to channel "
	    "%s (held by %zu subscription%s)", sa->source, sub->transport,
	    who(sub), n, n > 1 ? "s" : "");
	sa->hooks.changed(sa->hooks.ctx);
	snprintf(detail, sizeof detail, "the token of the %s subscription to "
	    "channel %s was refreshed", sub->transport, who(sub));
	tell(sa, sub, "token_refreshed", detail);
}

static void
refreshed(void *arg, const struct br_token_pair *fresh, bool refused)
{
	struct refresh *r = arg, **p;
	struct br_subauth *sa = r->sa;
	struct br_sub *sub;
	bool ok = false;

	for (p = &sa->refreshes; *p != NULL; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	sub = br_subs_find(sa->subs, r->transport, r->login, r->id);
	if (fresh != NULL) {
		ok = sub != NULL;
		adopt(sa, r, fresh, sub);
	} else if (sub != NULL && !br_str_same(sub->refresh_token, r->old_refresh)) {
		ok = true;      /* a new pair came meanwhile: try that */
	} else if (sub != NULL && refused) {
		give_up(sa, sub, r->why, "its refresh token too");
	}       /* else no answer: the next refusal may try again */
	for (struct waiter *w = r->waiters; w != NULL; w = w->next)
		w->done(w->arg, ok);
	refresh_free(r);
}

static struct refresh *
under_way(struct br_subauth *sa, const struct br_sub *sub)
{
	for (struct refresh *r = sa->refreshes; r != NULL; r = r->next)
		if (br_str_same(r->transport, sub->transport) &&
		    br_str_same(r->old_refresh, sub->refresh_token))
			return r;
	return NULL;
}

static struct refresh *
start(struct br_subauth *sa, const struct br_sub *sub, const char *why)
{
	struct refresh *r = br_xcalloc(1, sizeof *r);

	r->sa = sa;
	r->transport = br_xstrdup(sub->transport);
	r->login = br_xstrdup_nonempty(sub->login);
	r->id = br_xstrdup_nonempty(sub->id);
	r->old_refresh = br_xstrdup(sub->refresh_token);
	r->why = br_xstrdup(why);
	r->next = sa->refreshes;
	sa->refreshes = r;
	log_info("%s: Twitch refused the token of the %s subscription to "
	    "channel %s (%s); refreshing it", sa->source, sub->transport,
	    who(sub), why);
	br_auth_refresh_pair(sa->auth, sub->refresh_token, refreshed, r);
	return r;
}

void
br_subauth_refused(struct br_subauth *sa, struct br_sub *sub, unsigned gen,
    bool first, const char *why, br_auth_done done, void *arg)
{
	struct refresh *r;
	struct waiter *w;

	if (sub->token_gen != gen) {
		done(arg, true);        /* an answer about an older token */
		return;
	}
	if (sub->token_refused) {
		done(arg, false);
		return;
	}
	if (!first || sub->refresh_token == NULL) {
		give_up(sa, sub, why, first ? "it has no refresh token" :
		    "it was just refreshed");
		done(arg, false);
		return;
	}
	if ((r = under_way(sa, sub)) == NULL)
		r = start(sa, sub, why);
	w = br_xcalloc(1, sizeof *w);
	w->done = done;
	w->arg = arg;
	w->next = r->waiters;
	r->waiters = w;
}

struct br_subauth *
br_subauth_new(struct br_auth *auth, struct br_subs *subs, const char *source,
    const struct br_source_hooks *hooks)
{
	struct br_subauth *sa = br_xcalloc(1, sizeof *sa);

	sa->auth = auth;
	sa->subs = subs;
	sa->source = br_xstrdup(source);
	sa->hooks = *hooks;
	return sa;
}

void
br_subauth_free(struct br_subauth *sa)
{
	if (sa == NULL)
		return;
	while (sa->refreshes != NULL) {
		struct refresh *r = sa->refreshes;
		sa->refreshes = r->next;
		refresh_free(r);
	}
	free(sa->source);
	free(sa);
}
