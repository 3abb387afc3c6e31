#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "subs.h"
#include "util.h"

#define SUBS_FILE "subscriptions.json"
#define SUBS_FILE_MAX (16u << 20)
/* Fixed, so that an origin tag is comparable across restarts. */
#define ORIGIN_SEED 0x7375626f72696769ULL

struct br_subs {
	char *path;
	struct br_sub **v;
	size_t n, cap;
};

struct br_subs *
br_subs_new(const char *state_dir)
{
	struct br_subs *subs = br_xcalloc(1, sizeof *subs);
	subs->path = br_xasprintf("%s/%s", state_dir, SUBS_FILE);
	return subs;
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void
sub_free(struct br_sub *sub)
{
	free(sub->transport);
	free(sub->id);
	free(sub->login);
	free(sub->name);
	wipe_free(sub->token);
	wipe_free(sub->refresh_token);
	free(sub->token_origin);
	free(sub->moderator_id);
	json_decref(sub->events);
	free(sub);
}

void
br_subs_free(struct br_subs *subs)
{
	if (subs == NULL)
		return;
	for (size_t i = 0; i < subs->n; i++)
		sub_free(subs->v[i]);
	free(subs->v);
	free(subs->path);
	free(subs);
}

size_t br_subs_count(const struct br_subs *subs) { return subs->n; }

struct br_sub *
br_subs_at(struct br_subs *subs, size_t i)
{
	return i < subs->n ? subs->v[i] : NULL;
}

struct br_sub *
br_subs_find(struct br_subs *subs, const char *transport, const char *login,
    const char *id)
{
	for (size_t i = 0; i < subs->n; i++) {
		struct br_sub *s = subs->v[i];
		if (!br_str_same(s->transport, transport))
			continue;
		if (login != NULL ? br_str_same(s->login, login) : br_str_same(s->id, id))
			return s;
	}
	return NULL;
}

struct br_sub *
br_subs_add(struct br_subs *subs, const char *transport, const char *id,
    const char *login, const char *name)
{
	struct br_sub *sub = br_xcalloc(1, sizeof *sub);

	sub->transport = br_xstrdup(transport);
	sub->id = br_xstrdup_nonempty(id);
	sub->login = br_xstrdup_nonempty(login);
	sub->name = br_xstrdup_nonempty(name);
	sub->events = json_object();
	if (subs->n == subs->cap) {
		subs->cap = subs->cap ? subs->cap * 2 : 8;
		subs->v = br_xrealloc(subs->v, subs->cap * sizeof *subs->v);
	}
	subs->v[subs->n++] = sub;
	return sub;
}

void
br_subs_remove(struct br_subs *subs, struct br_sub *sub)
{
	for (size_t i = 0; i < subs->n; i++) {
		if (subs->v[i] != sub)
			continue;
		memmove(&subs->v[i], &subs->v[i + 1],
		    (subs->n - i - 1) * sizeof *subs->v);
		subs->n--;
		sub_free(sub);
		return;
	}
}

void
br_sub_set_status(struct br_sub *sub, const char *event, const char *status)
{
	json_object_set_new(sub->events, event, json_string(status));
}

const char *
br_sub_status(const struct br_sub *sub, const char *event)
{
	return json_string_value(json_object_get(sub->events, event));
}

/* The origin tag of a pair: one-way and only compared for equality; the
 * file that keeps it keeps the tokens themselves. */
static char *
origin_of(const char *token, const char *refresh_token)
{
	const char *r = refresh_token != NULL ? refresh_token : "";
	size_t lt = strlen(token), lr = strlen(r);
	char *buf = br_xmalloc(lt + lr + 1);
	uint64_t h;

	memcpy(buf, token, lt);
	buf[lt] = '\n';
	memcpy(buf + lt + 1, r, lr);
	h = br_hash64(buf, lt + lr + 1, ORIGIN_SEED);
	explicit_bzero(buf, lt + lr + 1);
	free(buf);
	return br_xasprintf("h64:%016llx", (unsigned long long)h);
}

/* The arguments may be the sub's own strings: copy before freeing. */
void
br_sub_set_tokens(struct br_sub *sub, const char *token,
    const char *refresh_token, const char *origin)
{
	char *t = br_xstrdup_nonempty(token);
	char *r = t != NULL ? br_xstrdup_nonempty(refresh_token) : NULL;
	char *o = t != NULL ? br_xstrdup_nonempty(origin) : NULL;

	wipe_free(sub->token);
	wipe_free(sub->refresh_token);
	free(sub->token_origin);
	sub->token = t;
	sub->refresh_token = r;
	sub->token_origin = o;
	sub->token_gen++;
	sub->token_refused = false;
}

bool
br_sub_offer_tokens(struct br_sub *sub, const char *token,
    const char *refresh_token)
{
	char *o;
	bool same;

	if (token == NULL || *token == '\0')
		return false;
	o = origin_of(token, refresh_token);
	same = sub->token != NULL && sub->token_origin != NULL &&
	    strcmp(o, sub->token_origin) == 0;
	if (!same)
		br_sub_set_tokens(sub, token, refresh_token, o);
	else            /* asked again by hand: worth one more try */
		sub->token_refused = false;
	free(o);
	return !same;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *
br_sub_channel_json(const struct br_sub *sub)
{
	return json_pack("{s:o, s:o, s:o}", "id", str_or_null(sub->id),
	    "login", str_or_null(sub->login), "name", str_or_null(sub->name));
}

bool
br_subs_channel_active(struct br_subs *subs, const char *login)
{
	for (size_t i = 0; i < subs->n; i++) {
		const char *ev;
		json_t *st;
		if (!br_str_same(subs->v[i]->login, login))
			continue;
		json_object_foreach(subs->v[i]->events, ev, st)
			if (br_str_same(json_string_value(st), "enabled"))
				return true;
	}
	return false;
}

static json_t *
sub_json(const struct br_sub *sub, bool with_secrets)
{
	json_t *o = json_pack("{s:o, s:s, s:O}", "channel",
	    br_sub_channel_json(sub), "transport", sub->transport, "events",
	    sub->events);
	if (sub->moderator_id != NULL)
		json_object_set_new(o, "moderator_id",
		    json_string(sub->moderator_id));
	if (!with_secrets || sub->token == NULL)
		return o;
	json_object_set_new(o, "token", json_string(sub->token));
	if (sub->refresh_token != NULL)
		json_object_set_new(o, "refresh_token",
		    json_string(sub->refresh_token));
	if (sub->token_origin != NULL)
		json_object_set_new(o, "token_origin",
		    json_string(sub->token_origin));
	return o;
}

json_t *
br_subs_public(const struct br_subs *subs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < subs->n; i++)
		json_array_append_new(a, sub_json(subs->v[i], false));
	return a;
}

int
br_subs_save(const struct br_subs *subs)
{
	json_t *a = json_array();
	char *text;
	int rc;

	for (size_t i = 0; i < subs->n; i++)
		if (!subs->v[i]->ephemeral)
			json_array_append_new(a, sub_json(subs->v[i], true));
	text = json_dumps(a, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(a);
	rc = br_write_file_atomic(subs->path, text, strlen(text), 0600);
	explicit_bzero(text, strlen(text));
	free(text);
	if (rc < 0)
		log_error("subs: cannot write %s: %s", subs->path, strerror(-rc));
	return rc;
}

static int
load_one(struct br_subs *subs, json_t *o)
{
	json_t *ch = json_object_get(o, "channel");
	const char *transport = json_string_value(json_object_get(o, "transport"));
	json_t *events = json_object_get(o, "events");

	if (!json_is_object(ch) || transport == NULL || !json_is_object(events))
		return -EINVAL;
	struct br_sub *sub = br_subs_add(subs, transport,
	    json_string_value(json_object_get(ch, "id")),
	    json_string_value(json_object_get(ch, "login")),
	    json_string_value(json_object_get(ch, "name")));
	const char *ev;
	json_t *st;
	json_object_foreach(events, ev, st)
		if (json_is_string(st))
			br_sub_set_status(sub, ev, json_string_value(st));
	br_sub_set_tokens(sub, json_string_value(json_object_get(o, "token")),
	    json_string_value(json_object_get(o, "refresh_token")),
	    json_string_value(json_object_get(o, "token_origin")));
	sub->moderator_id = br_xstrdup_nonempty(json_string_value(
	    json_object_get(o, "moderator_id")));
	return 0;
}

int
br_subs_load(struct br_subs *subs)
{
	json_error_t err;
	char *text;
	size_t i;
	json_t *a, *o;
	int rc = br_read_file(subs->path, SUBS_FILE_MAX, &text, NULL);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		log_error("subs: cannot read %s: %s", subs->path, strerror(-rc));
		return rc;
	}
	a = json_loads(text, 0, &err);
	explicit_bzero(text, strlen(text));
	free(text);
	if (!json_is_array(a)) {
		log_error("subs: %s is not a JSON array (line %d: %s); ignoring it",
		    subs->path, err.line, err.text);
		json_decref(a);
		return -EINVAL;
	}
	json_array_foreach(a, i, o)
		if (load_one(subs, o) < 0)
			log_warn("subs: skipping entry %zu of %s", i, subs->path);
	json_decref(a);
	return 0;
}
