/*
 * `twitch2mqtt auth`: Twitch's device-code flow on the command line. It
 * blocks, so it has its own curl handle instead of the loop's worker; its
 * output goes to stdout and stderr, not to the log. The device code is
 * worth a token while it lives, so it is never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "auth.h"
#include "auth_int.h"
#include "helix.h"
#include "util.h"

#define BODY_MAX        (1u << 20)
#define SLOW_DOWN_S     5

static const char default_scopes[] =
    "bits:read channel:read:redemptions channel:read:subscriptions "
    "moderator:read:followers channel:read:hype_train channel:read:polls "
    "channel:read:predictions channel:read:ads user:read:chat "
    "user:read:whispers";

struct reply {
	long status;
	json_t *json;
	char *buf;
	size_t len;
	char error[CURL_ERROR_SIZE + 64];
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	n *= size;
	if (r->len + n > BODY_MAX)
		return 0;
	r->buf = br_xrealloc(r->buf, r->len + n + 1);
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	return n;
}

static void
reply_clear(struct reply *r)
{
	json_decref(r->json);
	if (r->buf != NULL)
		explicit_bzero(r->buf, r->len);
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* POST form (when not NULL) or GET with an extra header; 0 when an
 * answer came, whatever its status, else -1 with r->error set. */
static int
request(CURL *c, const char *url, const char *form, const char *header,
    const char *ca_file, struct reply *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;

	reply_clear(r);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "twitch2mqtt/" BR_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (ca_file != NULL && *ca_file != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	if (header != NULL)
		hdrs = curl_slist_append(hdrs, header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (form != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	for (struct curl_slist *i = hdrs; i != NULL; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(r->error, sizeof r->error, "%s%s%s",
		    curl_easy_strerror(rc), *errbuf ? ": " : "", errbuf);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	r->json = r->buf != NULL ? json_loadb(r->buf, r->len, 0, NULL) : NULL;
	return 0;
}

static const char *
str(const struct reply *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

/* Twitch says {"status":400,"message":"authorization_pending"}; RFC 8628
 * says {"error":"authorization_pending"}. Either will do. */
static const char *
reason(const struct reply *r)
{
	if (r->error[0] != '\0')
		return r->error;
	if (str(r, "message") != NULL)
		return str(r, "message");
	if (str(r, "error") != NULL)
		return str(r, "error");
	return "no explanation given";
}

static void
sleep_s(long s)
{
	struct timespec ts = { .tv_sec = s };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Polls /token until the user has entered the code; the tokens go to t. */
static int
poll_token(CURL *c, const char *url, const char *form, const char *ca_file,
    long interval, long expires_in, struct br_tokens *t)
{
	int64_t deadline = br_mono_ms() + expires_in * 1000;
	struct reply r = { 0 };
	int rc = -1;

	while (br_mono_ms() + interval * 1000 <= deadline) {
		sleep_s(interval);
		if (request(c, url, form, NULL, ca_file, &r) < 0) {
			/* The network may come back before the code expires. */
			fprintf(stderr, "twitch2mqtt: auth: %s; still trying\n",
			    r.error);
			continue;
		}
		if (r.status == 200 && str(&r, "access_token") != NULL)
			goto done;
		if (strstr(reason(&r), "authorization_pending") != NULL)
			continue;
		if (strstr(reason(&r), "slow_down") != NULL) {
			interval += SLOW_DOWN_S;
			continue;
		}
		fprintf(stderr, "twitch2mqtt: auth: Twitch refused the "
		    "authorization (status %ld: %s)\n", r.status, reason(&r));
		goto out;
	}
	fprintf(stderr, "twitch2mqtt: auth: the code expired before it was "
	    "entered; run `twitch2mqtt auth` again\n");
	goto out;
done:
	t->access_token = br_xstrdup(str(&r, "access_token"));
	if (str(&r, "refresh_token") != NULL)
		t->refresh_token = br_xstrdup(str(&r, "refresh_token"));
	if (json_integer_value(json_object_get(r.json, "expires_in")) > 0)
		t->expires_at_ms = br_now_ms() + 1000 *
		    json_integer_value(json_object_get(r.json, "expires_in"));
	if (json_is_array(json_object_get(r.json, "scope")))
		t->scopes = json_incref(json_object_get(r.json, "scope"));
	rc = 0;
out:
	reply_clear(&r);
	return rc;
}

/* Asks /validate whose token it is, so tokens.json names the user. */
static void
identify(CURL *c, const char *auth_url, const char *ca_file,
    struct br_tokens *t)
{
	char *url = br_xasprintf("%s/validate", auth_url);
	char *hdr = br_xasprintf("Authorization: OAuth %s", t->access_token);
	struct reply r = { 0 };

	if (request(c, url, NULL, hdr, ca_file, &r) == 0 && r.status == 200) {
		if (str(&r, "user_id") != NULL)
			t->user_id = br_xstrdup(str(&r, "user_id"));
		if (str(&r, "login") != NULL)
			t->login = br_xstrdup(str(&r, "login"));
	}
	reply_clear(&r);
	br_secret_free(hdr);
	free(url);
}

static int
store(const struct br_auth_options *opts, const struct br_tokens *t)
{
	char *path = br_tokens_path(opts->state_dir);
	int rc = br_mkdirs(opts->state_dir, 0700);

	if (rc == 0)
		rc = br_tokens_save(path, t);
	if (rc < 0) {
		fprintf(stderr, "twitch2mqtt: auth: cannot write %s: %s\n",
		    path, strerror(-rc));
	} else {
		printf("tokens stored in %s\n", path);
		if ((opts->access_token && *opts->access_token) ||
		    (opts->refresh_token && *opts->refresh_token))
			fprintf(stderr, "twitch2mqtt: auth: note: the "
			    "configured twitch.access_token/refresh_token take "
			    "precedence over %s; remove them to use these\n",
			    path);
	}
	free(path);
	return rc < 0 ? 1 : 0;
}

static int
start(CURL *c, const char *auth_url, const char *ca_file, const char *cid,
    const char *scopes, struct reply *r)
{
	char *url = br_xasprintf("%s/device", auth_url);
	char *form = br_xasprintf("client_id=%s&scopes=%s", cid, scopes);
	int rc = request(c, url, form, NULL, ca_file, r);

	free(url);
	free(form);
	if (rc == 0 && r->status == 200 && str(r, "device_code") != NULL &&
	    str(r, "user_code") != NULL && str(r, "verification_uri") != NULL)
		return 0;
	if (r->status == 0)
		fprintf(stderr, "twitch2mqtt: auth: %s/device: %s\n", auth_url,
		    reason(r));
	else
		fprintf(stderr, "twitch2mqtt: auth: %s/device did not start "
		    "the flow (status %ld: %s)\n", auth_url, r->status,
		    reason(r));
	return -1;
}

int
br_auth_device_flow(const struct br_auth_options *o, const char *auth_url,
    const char *ca_file, const char *scopes)
{
	struct br_auth_options opts = *o;
	struct br_tokens t = { 0 };
	struct reply r = { 0 };
	char *cid = NULL, *sc = NULL, *dc = NULL, *url = NULL, *form = NULL;
	char *base = NULL;
	long interval, expires_in;
	size_t n;
	CURL *c = NULL;
	int rc = 1;

	if (opts.client_id == NULL || *opts.client_id == '\0') {
		fprintf(stderr, "twitch2mqtt: auth: twitch.client_id is not "
		    "set (the configuration file or "
		    "TWITCH2MQTT_TWITCH_CLIENT_ID)\n");
		return 2;
	}
	if (scopes == NULL || *scopes == '\0')
		scopes = default_scopes;
	if (opts.state_dir == NULL || *opts.state_dir == '\0')
		opts.state_dir = ".";
	if ((c = curl_easy_init()) == NULL) {
		fprintf(stderr, "twitch2mqtt: auth: libcurl did not start\n");
		return 1;
	}
	n = strlen(auth_url);
	while (n > 0 && auth_url[n - 1] == '/')
		n--;
	base = br_xstrndup(auth_url, n);
	cid = br_urlencode(opts.client_id);
	sc = br_urlencode(scopes);
	if (start(c, base, ca_file, cid, sc, &r) < 0)
		goto out;
	printf("Open %s and enter the code %s\n", str(&r, "verification_uri"),
	    str(&r, "user_code"));
	fflush(stdout);
	interval = (long)json_integer_value(json_object_get(r.json,
	    "interval"));
	expires_in = (long)json_integer_value(json_object_get(r.json,
	    "expires_in"));
	dc = br_urlencode(str(&r, "device_code"));
	url = br_xasprintf("%s/token", base);
	form = br_xasprintf("client_id=%s&scopes=%s&device_code=%s&grant_type="
	    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Adevice_code",
	    cid, sc, dc);
	if (poll_token(c, url, form, ca_file, interval > 0 ? interval : 5,
	    expires_in > 0 ? expires_in : 1800, &t) < 0)
		goto out;
	identify(c, base, ca_file, &t);
	rc = store(&opts, &t);
out:
	reply_clear(&r);
	br_tokens_clear(&t);
	br_secret_free(form);
	br_secret_free(dc);
	free(url);
	free(base);
	free(cid);
	free(sc);
	curl_easy_cleanup(c);
	return rc;
}
