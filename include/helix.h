/*
 * Helix and OAuth over HTTP: the only module that includes curl. Requests
 * run on a worker thread (blocking libcurl there), so the loop never
 * waits; each answer comes back through the loop's inbox and its callback
 * runs on the loop thread.
 */
#ifndef BR_HELIX_H
#define BR_HELIX_H

#include <jansson.h>

#include "loop.h"

struct br_helix_options {
	const char *api_url;    /* Helix base, e.g. https://api.twitch.tv/helix */
	const char *auth_url;   /* OAuth base, e.g. https://id.twitch.tv/oauth2 */
	const char *client_id;
	const char *ca_file;    /* or NULL/"" for the system store */
};

struct br_helix_response {
	long status;            /* HTTP status; 0 when no answer came */
	json_t *json;           /* borrowed; the parsed body or NULL */
	const char *error;      /* transport failure, or NULL */
	long retry_after_s;     /* from Ratelimit-Reset on 429, else 0 */
};

/* Runs on the loop thread; NULL for a request nobody waits for. */
typedef void (*br_helix_cb)(void *arg, const struct br_helix_response *res);

struct br_helix;

struct br_helix *br_helix_new(struct br_loop *loop,
                              const struct br_helix_options *opts);
/* Joins the worker; requests not yet answered never call back. */
void br_helix_free(struct br_helix *h);

/* Helix: method "GET"/"POST"/"DELETE", path below api_url ("/users?login=x"),
 * "Authorization: Bearer <token>" and Client-Id; body is stolen (may be
 * NULL). */
void br_helix_api(struct br_helix *h, const char *method, const char *path,
                  const char *token, json_t *body, br_helix_cb cb, void *arg);

/* OAuth: POST application/x-www-form-urlencoded to auth_url + path
 * ("/token", "/device"). form is copied. */
void br_helix_oauth(struct br_helix *h, const char *path, const char *form,
                    br_helix_cb cb, void *arg);

/* OAuth: GET auth_url/validate with "Authorization: OAuth <token>". */
void br_helix_validate(struct br_helix *h, const char *token, br_helix_cb cb,
                       void *arg);

/* Requests queued or running (shutdown waits for none of them). */
size_t br_helix_pending(struct br_helix *h);

/* A new string, percent-encoded for a query or a form. */
char *br_urlencode(const char *s);

#endif
