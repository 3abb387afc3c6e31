/*
 * The channel behind a subscribe request, for every source that keeps
 * books of wants: when its id or login is missing, Helix /users fills
 * both and the display name; then the request is expanded into wants.
 * EventSub over WebSocket and PubSub ask with the request's own token or
 * the bridge's user token (either refreshed once on a 401, see
 * subauth.h for the former), webhooks with the app token.
 */
#include <stdlib.h>

#include "auth.h"
#include "subauth.h"
#include "util.h"
#include "wants.h"

struct lookup {
	struct br_wants *ws;
	struct br_wants_req *req;
	struct br_wants_lookup how;
	unsigned gen;           /* of the sub's own token when asked */
};

static void ask(struct lookup *l, const char *token);

static void
expand(struct br_wants *ws, struct br_wants_req *r,
    const struct br_wants_lookup *how)
{
	if (br_wants_expand(ws, r) > 0)
		how->expanded(how->ctx);
}

static void
fail(struct lookup *l, const char *why)
{
	br_wants_finish(l->ws, l->req, why);
	free(l);
}

static void
user_token(struct lookup *l)
{
	struct br_sub *sub = br_wants_req_sub(l->req);

	ask(l, sub->token ? sub->token : br_auth_user_token(l->how.auth));
}

static void
refreshed(void *arg, bool ok)
{
	struct lookup *l = arg;

	if (ok)
		user_token(l);
	else
		fail(l, l->how.auth_failed);
}

static void
own_refreshed(void *arg, bool ok)
{
	struct lookup *l = arg;

	if (ok)
		user_token(l);
	else
		fail(l, BR_SUBAUTH_REFUSED);
}

static void
app_token(void *arg, const char *token)
{
	struct lookup *l = arg;

	if (token == NULL)
		fail(l, "no app token: check twitch.client_id and "
		    "twitch.client_secret (the log says more)");
	else
		ask(l, token);
}

static void
resolved(void *arg, const struct br_helix_response *res)
{
	struct lookup *l = arg;
	struct br_sub *sub = br_wants_req_sub(l->req);
	char msg[512];

	if (!l->how.app && res->status == 401 && sub->token != NULL &&
	    l->how.subauth != NULL) {
		br_subauth_refused(l->how.subauth, sub, l->gen,
		    !br_wants_req_retried(l->req), "401 from Helix",
		    own_refreshed, l);
		return;
	}
	if (!l->how.app && res->status == 401 && sub->token == NULL &&
	    !br_wants_req_retried(l->req)) {
		br_auth_refresh(l->how.auth, refreshed, l);
		return;
	}
	if (br_wants_adopt_user(l->req, res, msg, sizeof msg) < 0)
		br_wants_finish(l->ws, l->req, msg);
	else
		expand(l->ws, l->req, &l->how);
	free(l);
}

static void
ask(struct lookup *l, const char *token)
{
	struct br_sub *sub = br_wants_req_sub(l->req);
	char *enc = br_urlencode(sub->login ? sub->login : sub->id);
	char *path = br_xasprintf("/users?%s=%s", sub->login ? "login" : "id",
	    enc);

	l->gen = sub->token_gen;
	br_helix_api(l->how.helix, "GET", path, token, NULL, resolved, l);
	free(path);
	free(enc);
}

void
br_wants_resolve(struct br_wants *ws, struct br_wants_req *r,
    const struct br_wants_lookup *how)
{
	struct br_sub *sub = br_wants_req_sub(r);

	/* With both id and login given there is nothing to look up. */
	if (sub->id != NULL && sub->login != NULL) {
		if (sub->name == NULL)
			sub->name = br_xstrdup(sub->login);
		expand(ws, r, how);
		return;
	}
	struct lookup *l = br_xcalloc(1, sizeof *l);
	*l = (struct lookup){ .ws = ws, .req = r, .how = *how };
	if (how->app)
		br_auth_app_token(how->auth, app_token, l);
	else
		user_token(l);
}
