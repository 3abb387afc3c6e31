/*
 * Private to the auth module: the tokens.json file, shared by the daemon
 * (auth.c) and the device-code flow (auth_device.c), and exposed to the
 * unit tests; and the daemon's struct br_auth, shared by auth.c (the
 * user token), auth_app.c (the app token) and auth_pair.c (the tokens of
 * subscriptions).
 */
#ifndef BR_AUTH_INT_H
#define BR_AUTH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "auth.h"
#include "backoff.h"
#include "helix.h"
#include "loop.h"

/* <state_dir>/tokens.json, as it is on disk. */
struct br_tokens {
	char *access_token, *refresh_token;     /* secrets */
	int64_t expires_at_ms;  /* 0 when unknown */
	json_t *scopes;         /* array of strings, or NULL */
	char *user_id, *login;
	/* Set when these tokens descend, by refresh, from the ones in the
	 * configuration: br_tokens_fingerprint() of those. */
	char *config_fingerprint;
};

/* A new string: the path of tokens.json in state_dir. */
char *br_tokens_path(const char *state_dir);

/* 0; -ENOENT when there is no file; another -errno when it cannot be
 * read; -EINVAL when it is not an object with an access or refresh
 * token. Never logs (the file holds secrets). */
int br_tokens_load(const char *path, struct br_tokens *t);

/* Writes t atomically with mode 0600; 0 or -errno. */
int br_tokens_save(const char *path, const struct br_tokens *t);

/* Frees and wipes every member; t itself is left zeroed. */
void br_tokens_clear(struct br_tokens *t);

/* A short, one-way tag of the configured tokens (refresh token if set,
 * else access token), or NULL when neither is set. A new string. */
char *br_tokens_fingerprint(const char *access_token,
                            const char *refresh_token);

/* Picks the user token (see auth_tokens.c for the rule) into *out and
 * names its source in *from. 1: tokens.json; 0: the configuration;
 * -ENOENT: neither has one. */
int br_tokens_choose(const char *path, const char *cfg_access,
                     const char *cfg_refresh, struct br_tokens *out,
                     const char **from);

/* Wipes and frees a string that held a secret. */
void br_secret_free(char *s);

/* ---- the daemon's tokens ---- */

struct auth_pair;

struct auth_waiter {
	struct auth_waiter *next;
	br_auth_done done;              /* user token waiters */
	br_auth_token_cb token_done;    /* app token waiters */
	void *arg;
};

struct auth_ref {
	struct auth_ref *next;          /* on the orphan list */
	struct br_auth *a;              /* NULL once the auth is freed */
	unsigned refs;
};

struct br_auth {
	struct br_helix *helix;
	struct br_auth_hooks hooks;
	struct auth_ref *ref;
	char *client_id, *client_secret, *state_dir, *path;
	char *cfg_access, *cfg_refresh;         /* as configured */
	struct br_tokens tok;                   /* the user token in use */
	bool in_file;           /* tok is what tokens.json holds */
	bool failed, usable, validating, refreshing, just_refreshed;
	bool internal_refresh;                  /* we asked for it ourselves */
	/* A validation answers for the token it was sent with: one sent
	 * before a refresh must not judge the new token. */
	unsigned token_gen, validating_gen;
	int64_t last_refresh_ms;                /* monotonic */
	char *refused;          /* fingerprint of the refused refresh token */
	struct auth_waiter *refresh_waiters;
	struct br_timer validate_timer, refresh_timer;
	struct br_backoff backoff;

	char *app_token;
	int64_t app_expires_ms;                 /* monotonic */
	bool app_fetching, app_warned;
	struct auth_waiter *app_waiters;

	struct auth_pair *pairs;        /* subscriptions' refreshes, in turn */
	bool pair_sent;                 /* the first one is under way */
};

/* auth.c, for auth_app.c */
/* Drops one reference; returns the auth, or NULL when it was freed. */
struct br_auth *auth_ref_put(struct auth_ref *r);
/* Twitch's message in an answer, fit for the log: short, never a secret. */
const char *auth_twitch_message(const struct br_auth *a,
                                const struct br_helix_response *r,
                                char *buf, size_t size);
struct auth_waiter *auth_waiter_add(struct auth_waiter **list,
                                    br_auth_done done, br_auth_token_cb tdone,
                                    void *arg);
void auth_notify(struct br_auth *a, struct auth_waiter *w, bool ok,
                 const char *token);
void auth_post_token(struct br_auth *a, const char *grant, br_helix_cb cb);
void auth_post_refresh(struct br_auth *a, const char *refresh_token,
                       br_helix_cb cb);

/* auth_pair.c, for auth.c: drops the waiting refreshes uncalled. */
void auth_pairs_free(struct br_auth *a);

#endif
