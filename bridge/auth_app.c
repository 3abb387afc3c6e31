/*
 * The app token (client credentials), for the calls Twitch makes with one
 * (EventSub webhooks, WebSub, user lookups). Fetched when first wanted,
 * one request at a time for every waiter, and cached until five minutes
 * before it expires or until a caller saw it refused. Without
 * twitch.client_secret there is none, and the log says so once. Nothing
 * here logs the token or the client secret.
 */
#include <stdlib.h>

#include "auth.h"
#include "auth_int.h"
#include "log.h"
#include "util.h"

#define APP_MARGIN_MS           (5 * 60 * 1000)

static void
on_app_token(void *arg, const struct br_helix_response *r)
{
	struct br_auth *a = auth_ref_put(arg);
	const char *token;
	json_int_t expires_in;
	struct auth_waiter *w;
	char buf[200];

	if (a == NULL)
		return;
	w = a->app_waiters;
	a->app_waiters = NULL;
	a->app_fetching = false;
	token = json_string_value(json_object_get(r->json, "access_token"));
	if (r->status == 200 && token != NULL) {
		br_secret_free(a->app_token);
		a->app_token = br_xstrdup(token);
		expires_in = json_integer_value(json_object_get(r->json,
		    "expires_in"));
		/* Without a lifetime, ask again after a day. */
		a->app_expires_ms = br_mono_ms() - APP_MARGIN_MS +
		    (expires_in > 0 ? expires_in * 1000 : 86400000LL);
		log_info("auth: app token obtained expires_in=%lld",
		    (long long)expires_in);
	} else {
		log_warn("auth: cannot get an app token (status %ld: %s)",
		    r->status, auth_twitch_message(a, r, buf, sizeof buf));
	}
	auth_notify(a, w, false, a->app_token);
}

void
br_auth_app_token(struct br_auth *a, br_auth_token_cb done, void *arg)
{
	if (a->app_token != NULL && br_mono_ms() >= a->app_expires_ms)
		br_auth_app_invalid(a);
	if (a->app_token != NULL) {
		done(arg, a->app_token);
		return;
	}
	if (a->client_secret == NULL) {
		if (!a->app_warned)
			log_warn("auth: an app token needs twitch.client_secret, "
			    "which is not set");
		a->app_warned = true;
		done(arg, NULL);
		return;
	}
	auth_waiter_add(&a->app_waiters, NULL, done, arg);
	if (a->app_fetching)
		return;
	a->app_fetching = true;
	auth_post_token(a, "grant_type=client_credentials", on_app_token);
}

void
br_auth_app_invalid(struct br_auth *a)
{
	br_secret_free(a->app_token);
	a->app_token = NULL;
	a->app_expires_ms = 0;
}
