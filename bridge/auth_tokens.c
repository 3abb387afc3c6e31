/*
 * <state_dir>/tokens.json: the user token pair the daemon refreshed or
 * `twitch2mqtt auth` obtained, and the rule that picks between it and the
 * configured token. The file is all secrets: nothing here logs its
 * content, and every buffer that held its text is wiped before free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_int.h"
#include "log.h"
#include "util.h"

#define TOKENS_MAX      (64 * 1024)
/* Fixed, so that the tag is comparable across restarts. */
#define FINGERPRINT_SEED 0x7477326d71747470ULL

void
br_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *
br_tokens_path(const char *state_dir)
{
	return br_xasprintf("%s/tokens.json", state_dir);
}

void
br_tokens_clear(struct br_tokens *t)
{
	br_secret_free(t->access_token);
	br_secret_free(t->refresh_token);
	json_decref(t->scopes);
	free(t->user_id);
	free(t->login);
	free(t->config_fingerprint);
	memset(t, 0, sizeof *t);
}

/* The one-way tag is only compared for equality, and the file that holds
 * it holds the live tokens themselves, so a 64-bit keyed hash suffices. */
char *
br_tokens_fingerprint(const char *access_token, const char *refresh_token)
{
	const char *s = refresh_token;

	if (s == NULL || *s == '\0')
		s = access_token;
	if (s == NULL || *s == '\0')
		return NULL;
	return br_xasprintf("h64:%016llx", (unsigned long long)
	    br_hash64(s, strlen(s), FINGERPRINT_SEED));
}

static char *
string_member(json_t *o, const char *key)
{
	return br_xstrdup_nonempty(json_string_value(json_object_get(o, key)));
}

static int64_t
time_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	int64_t ms;

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v) * 1000;
	if (json_is_string(v) && br_parse_time(json_string_value(v), &ms) == 0)
		return ms;
	return 0;
}

int
br_tokens_load(const char *path, struct br_tokens *t)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *root;
	int rc;

	memset(t, 0, sizeof *t);
	if ((rc = br_read_file(path, TOKENS_MAX, &buf, &len)) < 0)
		return rc;
	root = json_loadb(buf, len, 0, NULL);
	explicit_bzero(buf, len);
	free(buf);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	t->access_token = string_member(root, "access_token");
	t->refresh_token = string_member(root, "refresh_token");
	t->expires_at_ms = time_member(root, "expires_at");
	t->user_id = string_member(root, "user_id");
	t->login = string_member(root, "login");
	t->config_fingerprint = string_member(root, "config_fingerprint");
	if (json_is_array(json_object_get(root, "scopes")))
		t->scopes = json_incref(json_object_get(root, "scopes"));
	/* jansson frees its own copies unwiped; we cannot reach them. */
	json_decref(root);
	if (t->access_token == NULL && t->refresh_token == NULL) {
		br_tokens_clear(t);
		return -EINVAL;
	}
	return 0;
}

static void
set_string(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, json_string(s));
}

int
br_tokens_save(const char *path, const struct br_tokens *t)
{
	json_t *o = json_object();
	char when[BR_TIME_LEN], *text;
	int rc;

	set_string(o, "access_token", t->access_token);
	set_string(o, "refresh_token", t->refresh_token);
	if (t->expires_at_ms > 0) {
		br_format_time(when, t->expires_at_ms);
		set_string(o, "expires_at", when);
	}
	if (t->scopes != NULL)
		json_object_set(o, "scopes", t->scopes);
	set_string(o, "user_id", t->user_id);
	set_string(o, "login", t->login);
	set_string(o, "config_fingerprint", t->config_fingerprint);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return -ENOMEM;
	rc = br_write_file_atomic(path, text, strlen(text), 0600);
	br_secret_free(text);
	return rc;
}

/*
 * CONTRACT 2: the configured token, else tokens.json. But a refresh
 * replaces the configured pair at Twitch (refresh tokens of public
 * clients are single-use), so the daemon writes the refreshed pair to
 * tokens.json tagged with the fingerprint of the configured token it
 * descends from. Such a file wins over the configuration: it is the newer
 * form of the same token. A file with any other tag, or none, loses, so
 * configuring a new token always takes effect.
 */
int
br_tokens_choose(const char *path, const char *cfg_access,
    const char *cfg_refresh, struct br_tokens *out, const char **from)
{
	char *fp = br_tokens_fingerprint(cfg_access, cfg_refresh);
	struct br_tokens file;
	int rc = br_tokens_load(path, &file);

	if (rc == -EINVAL)
		log_warn("auth: %s holds no usable tokens; ignoring it", path);
	else if (rc < 0 && rc != -ENOENT)
		log_warn("auth: cannot read %s: %s", path, strerror(-rc));
	if (rc == 0 && (fp == NULL || (file.config_fingerprint != NULL &&
	    strcmp(fp, file.config_fingerprint) == 0))) {
		*out = file;
		*from = fp == NULL ? "tokens.json" :
		    "tokens.json (refreshed from the configured token)";
		free(fp);
		return 1;
	}
	if (rc == 0)
		br_tokens_clear(&file);
	memset(out, 0, sizeof *out);
	if (fp == NULL)
		return -ENOENT;
	out->access_token = br_xstrdup_nonempty(cfg_access);
	out->refresh_token = br_xstrdup_nonempty(cfg_refresh);
	out->config_fingerprint = fp;
	*from = "the configuration";
	return 0;
}
