/*
 * Private to the auth module: the tokens.json file, shared by the daemon
 * (auth.c) and the device-code flow (auth_device.c), and exposed to the
 * unit tests.
 */
#ifndef BR_AUTH_INT_H
#define BR_AUTH_INT_H

#include <stdint.h>
#include <jansson.h>

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

#endif
