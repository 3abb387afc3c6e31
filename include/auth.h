/*
 * Twitch tokens: the user token (configuration, else
 * <state_dir>/tokens.json) validated at start and hourly and refreshed on
 * 401 or when fewer than 5 minutes remain; the app token (client
 * credentials) fetched on demand. Refreshed tokens are written back
 * atomically, 0600. Nothing here ever logs or publishes a token.
 */
#ifndef BR_AUTH_H
#define BR_AUTH_H

#include <stdbool.h>

#include "helix.h"
#include "loop.h"

struct br_auth_options {
	const char *client_id, *client_secret;
	const char *access_token, *refresh_token;       /* from the config */
	const char *state_dir;
};

struct br_auth_hooks {
	void *ctx;
	/* type: "token_refreshed" or "auth_failed"; detail: a sentence. */
	void (*event)(void *ctx, const char *type, const char *detail);
	/* The user token became usable (validated or refreshed). */
	void (*ready)(void *ctx);
};

struct br_auth;

struct br_auth *br_auth_new(struct br_loop *loop, struct br_helix *helix,
                            const struct br_auth_options *opts,
                            const struct br_auth_hooks *hooks);
void br_auth_free(struct br_auth *a);

/* Validates the user token now, then hourly. */
void br_auth_start(struct br_auth *a);

/* The user token and what /validate said of it; NULL until known. */
const char *br_auth_user_token(const struct br_auth *a);
const char *br_auth_user_id(const struct br_auth *a);
const char *br_auth_user_login(const struct br_auth *a);
bool br_auth_has_scope(const struct br_auth *a, const char *scope);
/* True when a user token is configured or stored at all. */
bool br_auth_has_user(const struct br_auth *a);
/* True once the refresh token was refused: no automatic retry until a new
 * token is configured. */
bool br_auth_failed(const struct br_auth *a);

/* A Helix call answered 401 with the user token: refresh it (one refresh
 * at a time; concurrent callers wait for the same one). done(arg, ok)
 * runs on the loop thread. */
typedef void (*br_auth_done)(void *arg, bool ok);
void br_auth_refresh(struct br_auth *a, br_auth_done done, void *arg);

/* The app token, fetched by client credentials when missing or after
 * br_auth_app_invalid(). done(arg, token or NULL). */
typedef void (*br_auth_token_cb)(void *arg, const char *token);
void br_auth_app_token(struct br_auth *a, br_auth_token_cb done, void *arg);
void br_auth_app_invalid(struct br_auth *a);

/* A subscription's own token pair (a subscribe request's token and
 * refresh_token), refreshed by the grant the user token uses: one request
 * at a time, one for every caller with the same refresh token. done(arg,
 * fresh, refused) runs on the loop thread: fresh is the new pair (borrowed
 * for the call; the old refresh token when Twitch sent none), or NULL,
 * with refused true when Twitch refused the refresh token (400 or 401)
 * rather than could not be asked. The caller keeps the pair. */
struct br_token_pair {
	const char *access_token, *refresh_token;
};
typedef void (*br_auth_pair_cb)(void *arg, const struct br_token_pair *fresh,
                                bool refused);
void br_auth_refresh_pair(struct br_auth *a, const char *refresh_token,
                          br_auth_pair_cb done, void *arg);

/* `twitch2mqtt auth`: the device-code flow, blocking, for the command
 * line. Prints the verification URL and code, polls, stores the tokens
 * in <state_dir>/tokens.json (0600). Returns the exit code. */
int br_auth_device_flow(const struct br_auth_options *opts,
                        const char *auth_url, const char *ca_file,
                        const char *scopes);

#endif
