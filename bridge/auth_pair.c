/*
 * Subscriptions' own token pairs (a subscribe request's token and
 * refresh_token): refreshed by the grant and with the client credentials
 * of the user token (auth_post_refresh), one request at a time, and one
 * for every caller that holds the same refresh token: the same pair may
 * be held on two transports, and a refresh token spent twice is refused
 * the second time. What becomes of the new pair is the caller's business
 * (subauth.c). Nothing here logs a token.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_int.h"
#include "log.h"
#include "util.h"

struct pair_waiter {
	struct pair_waiter *next;
	br_auth_pair_cb done;
	void *arg;
};

struct auth_pair {
	struct auth_pair *next;
	char *refresh_token;            /* secret */
	struct pair_waiter *waiters;
};

static void
pair_free(struct auth_pair *p)
{
	for (struct pair_waiter *w = p->waiters, *next; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	br_secret_free(p->refresh_token);
	free(p);
}

void
auth_pairs_free(struct br_auth *a)
{
	while (a->pairs != NULL) {
		struct auth_pair *p = a->pairs;
		a->pairs = p->next;
		pair_free(p);
	}
}

static void on_pair(void *arg, const struct br_helix_response *r);

static void
send_next(struct br_auth *a)
{
	if (a->pair_sent || a->pairs == NULL)
		return;
	a->pair_sent = true;
	auth_post_refresh(a, a->pairs->refresh_token, on_pair);
}

/* Twitch's message for the log, unless it quotes the refresh token. */
static const char *
message(const struct br_auth *a, const struct br_helix_response *r,
    const struct auth_pair *p, char *buf, size_t size)
{
	const char *m = auth_twitch_message(a, r, buf, size);

	if (strstr(m, p->refresh_token) != NULL)
		return "message withheld: it contains a secret";
	return m;
}

static void
on_pair(void *arg, const struct br_helix_response *r)
{
	struct br_auth *a = auth_ref_put(arg);
	struct br_token_pair fresh;
	struct auth_pair *p;
	const char *access, *refresh;
	bool ok, refused;
	char buf[200];

	if (a == NULL || (p = a->pairs) == NULL)
		return;
	a->pairs = p->next;
	a->pair_sent = false;
	access = json_string_value(json_object_get(r->json, "access_token"));
	refresh = json_string_value(json_object_get(r->json, "refresh_token"));
	ok = r->status == 200 && access != NULL && *access != '\0';
	refused = !ok && (r->status == 400 || r->status == 401);
	if (ok) {
		fresh.access_token = access;
		fresh.refresh_token = refresh != NULL && *refresh != '\0' ?
		    refresh : p->refresh_token;
		log_info("auth: a subscription's own token was refreshed");
	} else {
		log_warn("auth: %s a subscription's own token (status %ld: %s)",
		    refused ? "Twitch refused the refresh token of" :
		    "cannot refresh", r->status, message(a, r, p, buf,
		    sizeof buf));
	}
	/* Before the callbacks, after which a may be gone. */
	send_next(a);
	for (struct pair_waiter *w = p->waiters; w != NULL; w = w->next)
		w->done(w->arg, ok ? &fresh : NULL, refused);
	pair_free(p);
}

void
br_auth_refresh_pair(struct br_auth *a, const char *refresh_token,
    br_auth_pair_cb done, void *arg)
{
	struct auth_pair **pp = &a->pairs;
	struct pair_waiter *w = br_xcalloc(1, sizeof *w), **wp;

	w->done = done;
	w->arg = arg;
	while (*pp != NULL && strcmp((*pp)->refresh_token, refresh_token) != 0)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		*pp = br_xcalloc(1, sizeof **pp);
		(*pp)->refresh_token = br_xstrdup(refresh_token);
	}
	for (wp = &(*pp)->waiters; *wp != NULL; wp = &(*wp)->next)
		;
	*wp = w;
	send_next(a);
}
