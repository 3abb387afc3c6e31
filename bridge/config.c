/*
 * Configuration (CONTRACT section 2): defaults < JSON file < environment.
 *
 * One table drives the defaults, the file's keys (config_file.c), the
 * environment's variables (config_env.c), validation (config_check.c)
 * and the summary.
 * While loading, each value is held as text or number beside the name of
 * the place it came from, so that a problem names what the operator wrote
 * (mqtt.qos, or TWITCH2MQTT_MQTT_QOS). Only the values finally in effect
 * are judged, and every problem is collected before giving up, so one run
 * of -n shows them all. Secrets never appear in a problem or a summary.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "request.h"
#include "util.h"

enum kind { K_STR, K_INT, K_LONG, K_BOOL, K_LEVEL };

struct key {
	const char *name;       /* "mqtt.url" */
	enum kind kind;
	size_t off;             /* in struct br_config */
	const char *def;
	bool secret;
};

#define O(f) offsetof(struct br_config, f)
static const struct key keys[] = {
	{ "mqtt.url", K_STR, O(mqtt.url), "mqtt://127.0.0.1:1883", false },
	{ "mqtt.client_id", K_STR, O(mqtt.client_id), "twitch2mqtt", false },
	{ "mqtt.username", K_STR, O(mqtt.username), "", false },
	{ "mqtt.password", K_STR, O(mqtt.password), "", true },
	{ "mqtt.base_topic", K_STR, O(mqtt.base_topic), "twitch", false },
	{ "mqtt.qos", K_INT, O(mqtt.qos), "1", false },
	{ "mqtt.version", K_INT, O(mqtt.version), "5", false },
	{ "mqtt.ca_file", K_STR, O(mqtt.ca_file), "", false },
	{ "mqtt.cert_file", K_STR, O(mqtt.cert_file), "", false },
	{ "mqtt.key_file", K_STR, O(mqtt.key_file), "", false },
	{ "mqtt.tls_insecure", K_BOOL, O(mqtt.tls_insecure), "false", false },
	{ "mqtt.buffer_max", K_LONG, O(mqtt.buffer_max), "100000", false },
	{ "twitch.client_id", K_STR, O(twitch.client_id), "", false },
	{ "twitch.client_secret", K_STR, O(twitch.client_secret), "", true },
	{ "twitch.access_token", K_STR, O(twitch.access_token), "", true },
	{ "twitch.refresh_token", K_STR, O(twitch.refresh_token), "", true },
	{ "twitch.api_url", K_STR, O(twitch.api_url),
	  "https://api.twitch.tv/helix", false },
	{ "twitch.auth_url", K_STR, O(twitch.auth_url),
	  "https://id.twitch.tv/oauth2", false },
	{ "twitch.eventsub_url", K_STR, O(twitch.eventsub_url),
	  "wss://eventsub.wss.twitch.tv/ws", false },
	{ "twitch.pubsub_url", K_STR, O(twitch.pubsub_url),
	  "wss://pubsub-edge.twitch.tv", false },
	{ "twitch.ca_file", K_STR, O(twitch.ca_file), "", false },
	{ "http.listen", K_STR, O(http.listen), "", false },
	{ "http.cert_file", K_STR, O(http.cert_file), "", false },
	{ "http.key_file", K_STR, O(http.key_file), "", false },
	{ "webhook.path", K_STR, O(webhook.path), "/webhook", false },
	{ "webhook.public_url", K_STR, O(webhook.public_url), "", false },
	{ "webhook.secret", K_STR, O(webhook.secret), "", true },
	{ "homeassistant.discovery", K_BOOL, O(homeassistant.discovery), "true",
	  false },
	{ "homeassistant.prefix", K_STR, O(homeassistant.prefix),
	  "homeassistant", false },
	{ "bridge.state_dir", K_STR, O(bridge.state_dir), "./state", false },
	{ "bridge.log_level", K_LEVEL, O(bridge.log_level), "info", false },
};
#define N_KEYS (sizeof keys / sizeof keys[0])
_Static_assert(N_KEYS == CONFIG_N_KEYS, "CONFIG_N_KEYS counts keys[]");

/* A certificate without its key, or the other way round, is a mistake. */
static void
check_pair(struct config_loader *l, const char *a, const char *b)
{
	if ((*l->v[config_find_key(a)].s == '\0') !=
	    (*l->v[config_find_key(b)].s == '\0'))
		br_problems_add(l->pr, "%s and %s go together: set both or "
		    "neither", a, b);
}

void
br_problems_add(struct br_problems *p, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();        /* out of memory: the br_xmalloc policy */
	va_end(ap);
	p->lines = br_xrealloc(p->lines, (p->n + 1) * sizeof *p->lines);
	p->lines[p->n++] = s;
}

void
br_problems_free(struct br_problems *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->lines[i]);
	free(p->lines);
	p->lines = NULL;
	p->n = 0;
}

int
config_find_key(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void
set_origin(struct config_val *v, const char *origin)
{
	free(v->origin);
	v->origin = origin ? br_xstrdup(origin) : NULL;
}

/* Strict: no spaces, no '+', no trailing junk, no overflow. */
static int
parse_int(const char *s, long long *out)
{
	long long n;
	char *end;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] != '\0')))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

static int
parse_bool(const char *s, long long *out)
{
	static const char *const words[] = {
		"false", "true", "0", "1", "no", "yes", "off", "on"
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (strcasecmp(s, words[i]) == 0) {
			*out = (long long)(i % 2);
			return 0;
		}
	}
	return -1;
}

/* A value given as text: a default or an environment variable. */
static void
set_text(struct config_loader *l, size_t i, const char *s, const char *origin)
{
	struct config_val *v = &l->v[i];
	char q[BR_QUOTE_MAX + 8];
	json_t *utf8;
	/* A default has no origin; one that fails to parse is our bug, and
	 * the line should still name the key. */
	const char *who = origin != NULL ? origin : keys[i].name;

	br_quote(q, sizeof q, s);
	if (keys[i].kind == K_STR || keys[i].kind == K_LEVEL) {
		/* The summary is JSON, which holds only UTF-8. */
		if ((utf8 = json_string(s)) == NULL) {
			br_problems_add(l->pr, "%s: must be valid UTF-8", who);
			return;
		}
		json_decref(utf8);
		free(v->s);
		v->s = br_xstrdup(s);
	} else if (keys[i].kind == K_BOOL && parse_bool(s, &v->n)) {
		br_problems_add(l->pr, "%s: must be true or false (or 1/0, "
		    "yes/no, on/off) (got '%s')", who, q);
		return;
	} else if (keys[i].kind != K_BOOL && parse_int(s, &v->n)) {
		br_problems_add(l->pr, "%s: must be an integer (got '%s')",
		    who, q);
		return;
	}
	set_origin(v, origin);
}

void
config_set_json(struct config_loader *l, size_t i, json_t *j,
    const char *origin)
{
	enum kind k = keys[i].kind;

	if ((k == K_STR || k == K_LEVEL) && json_is_string(j)) {
		set_text(l, i, json_string_value(j), origin);
	} else if (k == K_BOOL && json_is_boolean(j)) {
		l->v[i].n = json_is_true(j);
		set_origin(&l->v[i], origin);
	} else if ((k == K_INT || k == K_LONG) && json_is_integer(j)) {
		l->v[i].n = json_integer_value(j);
		set_origin(&l->v[i], origin);
	} else {
		br_problems_add(l->pr, "%s: must be %s, got %s", origin,
		    k == K_BOOL ? "true or false" : k == K_STR || k == K_LEVEL ?
		    "a string" : "an integer", br_json_kind(j));
	}
}

void
config_set_channels(struct config_loader *l, json_t *j, const char *origin)
{
	if (!json_is_array(j)) {
		br_problems_add(l->pr, "%s: must be an array of subscribe "
		    "requests like [{\"channel\":\"cool_streamer\"}], got %s",
		    origin, br_json_kind(j));
		return;
	}
	json_decref(l->channels);
	l->channels = json_incref(j);
	free(l->channels_origin);
	l->channels_origin = br_xstrdup(origin);
}

static char *
strip(char *s)
{
	char *e;

	s += strspn(s, " \t\r\n");
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		;
	*e = '\0';
	return s;
}

/* "cool_streamer,other:bits+raid" -> [{"channel":"cool_streamer"},
 * {"channel":"other","events":["bits","raid"]}]. Names are judged later,
 * with the file's channels, by br_request_from_json(). */
static json_t *
parse_channel_list(char *s)
{
	char *save = NULL, *esave = NULL, *item, *evs, *ev;
	json_t *a = json_array(), *o, *events;

	for (item = strtok_r(s, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (*(item = strip(item)) == '\0')
			continue;       /* "a,,b" and a trailing comma */
		if ((evs = strchr(item, ':')) != NULL)
			*evs++ = '\0';
		o = json_pack("{s:s}", "channel", strip(item));
		if (evs != NULL) {
			events = json_array();
			for (ev = strtok_r(evs, "+", &esave); ev != NULL;
			    ev = strtok_r(NULL, "+", &esave))
				json_array_append_new(events,
				    json_string(strip(ev)));
			json_object_set_new(o, "events", events);
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* TWITCH2MQTT_CHANNELS: its JSON (an array, or one request), or a list. */
static void
env_channels(struct config_loader *l, char *s, const char *var)
{
	json_error_t err;
	json_t *a;

	s = strip(s);
	if ((a = json_string(s)) == NULL) {
		br_problems_add(l->pr, "%s: must be valid UTF-8", var);
		return;
	}
	json_decref(a);
	if (*s != '[' && *s != '{') {
		a = parse_channel_list(s);
	} else if ((a = json_loads(s, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		br_json_error_cut(err.text);
		br_problems_add(l->pr, "%s: not valid JSON (column %d: %s); give "
		    "JSON or a list like cool_streamer,other:bits+raid", var,
		    err.column, err.text);
		return;
	} else if (json_is_object(a)) {
		a = json_pack("[o]", a);
	}
	config_set_channels(l, a, var);
	json_decref(a);
}

static void
load_env(struct config_loader *l, char *const *envp)
{
	struct br_env_value *ev;
	size_t n = br_env_read(envp, l->names, &ev, l->pr);

	for (size_t i = 0; i < n; i++) {
		int k = config_find_key(ev[i].key);
		if (k >= 0)
			set_text(l, (size_t)k, ev[i].value, ev[i].var);
		else
			env_channels(l, ev[i].value, ev[i].var);
	}
	br_env_values_free(ev, n);
}

static bool
same_subscription(const struct br_request *a, const struct br_request *b)
{
	if (strcmp(a->transport, b->transport) != 0)
		return false;
	if (a->channel != NULL && b->channel != NULL)
		return strcmp(a->channel, b->channel) == 0;
	return a->channel_id != NULL && b->channel_id != NULL &&
	    strcmp(a->channel_id, b->channel_id) == 0;
}

/* Returns the channels as the config holds them: objects only, a bare
 * login turned into {"channel":login}. */
static json_t *
check_channels(struct config_loader *l)
{
	size_t n = json_array_size(l->channels), i, j;
	struct br_request **reqs = br_xcalloc(n, sizeof *reqs);
	const char *o = l->channels_origin;
	json_t *out = json_array(), *el;

	json_array_foreach(l->channels, i, el) {
		reqs[i] = br_request_from_json(BR_ACTION_SUBSCRIBE, el);
		for (j = 0; reqs[i]->error[0] == '\0' && j < i; j++)
			if (reqs[j]->error[0] == '\0' &&
			    same_subscription(reqs[i], reqs[j]))
				break;
		if (reqs[i]->error[0] != '\0')
			br_problems_add(l->pr, "%s[%zu]: %s", o, i, reqs[i]->error);
		else if (j < i)
			br_problems_add(l->pr, "%s[%zu]: the same channel and "
			    "transport as %s[%zu]; merge their events", o, i, o, j);
		else
			json_array_append_new(out, json_is_string(el) ?
			    json_pack("{s:s}", "channel", reqs[i]->channel) :
			    json_deep_copy(el));
	}
	for (i = 0; i < n; i++)
		br_request_free(reqs[i]);
	free(reqs);
	return out;
}

static void
store(struct br_config *cfg, size_t i, struct config_val *v)
{
	void *p = (char *)cfg + keys[i].off;

	switch (keys[i].kind) {
	case K_STR:
		*(char **)p = v->s;
		v->s = NULL;
		break;
	case K_INT:
		*(int *)p = (int)v->n;
		break;
	case K_LONG:
		*(long *)p = (long)v->n;
		break;
	case K_BOOL:
		*(bool *)p = v->n != 0;
		break;
	case K_LEVEL:
		br_log_parse_level(v->s, (enum br_log_level *)p);
		break;
	}
}

static struct br_config *
finish(struct config_loader *l, const char *path, size_t before)
{
	struct br_config *cfg;
	json_t *channels;
	char *msg;

	for (size_t i = 0; i < N_KEYS; i++) {
		struct config_val *v = &l->v[i];
		if ((msg = br_config_check(keys[i].name, v->s, &v->n)) == NULL)
			continue;
		br_problems_add(l->pr, "%s: %s", v->origin ? v->origin :
		    keys[i].name, msg);
		free(msg);
	}
	check_pair(l, "mqtt.cert_file", "mqtt.key_file");
	check_pair(l, "http.cert_file", "http.key_file");
	channels = check_channels(l);
	if (l->pr->n > before) {
		json_decref(channels);
		return NULL;
	}
	cfg = br_xcalloc(1, sizeof *cfg);
	cfg->path = path ? br_xstrdup(path) : NULL;
	cfg->channels = channels;
	for (size_t i = 0; i < N_KEYS; i++)
		store(cfg, i, &l->v[i]);
	return cfg;
}

struct br_config *
br_config_load(const char *path, char *const *envp,
    struct br_problems *problems)
{
	struct br_problems local = { NULL, 0 };
	struct config_loader l = { .pr = problems ? problems : &local };
	size_t before = l.pr->n;
	struct br_config *cfg;

	for (size_t i = 0; i < N_KEYS; i++) {
		l.names[i] = keys[i].name;
		set_text(&l, i, keys[i].def, NULL);
	}
	l.names[N_KEYS] = "channels";
	l.channels = json_array();
	l.channels_origin = br_xstrdup("channels");
	path = config_resolve_path(path, envp);
	if (path != NULL)
		config_load_file(&l, path);
	load_env(&l, envp);
	cfg = finish(&l, path, before);
	for (size_t i = 0; i < N_KEYS; i++) {
		free(l.v[i].s);
		free(l.v[i].origin);
	}
	json_decref(l.channels);
	free(l.channels_origin);
	br_problems_free(&local);
	return cfg;
}

void
br_config_free(struct br_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].kind == K_STR)
			free(*(char **)((char *)cfg + keys[i].off));
	json_decref(cfg->channels);
	free(cfg->path);
	free(cfg);
}

bool
br_config_has_twitch(const struct br_config *cfg)
{
	return cfg->twitch.client_id[0] != '\0' ||
	    cfg->twitch.access_token[0] != '\0';
}

static json_t *
summary_value(const struct br_config *cfg, size_t i)
{
	const void *p = (const char *)cfg + keys[i].off;
	char *clean;
	json_t *j;

	switch (keys[i].kind) {
	case K_INT:
		return json_integer(*(const int *)p);
	case K_LONG:
		return json_integer(*(const long *)p);
	case K_BOOL:
		return json_boolean(*(const bool *)p);
	case K_LEVEL:
		return json_string(br_log_level_name(
		    *(const enum br_log_level *)p));
	default:
		clean = br_url_redact(*(char *const *)p);
		j = json_string(clean);
		free(clean);
		return j;
	}
}

/* Secrets become "<key>_set": true or false; a channel's tokens too. */
json_t *
br_config_summary(const struct br_config *cfg)
{
	json_t *root = json_object(), *sect, *ch = json_array(), *el, *c;
	char name[64];
	size_t i, dot;

	json_object_set_new(root, "path", cfg->path ? json_string(cfg->path) :
	    json_null());
	for (i = 0; i < N_KEYS; i++) {
		const char *leaf = keys[i].name + (dot = strcspn(keys[i].name, "."));
		snprintf(name, sizeof name, "%.*s", (int)dot, keys[i].name);
		if ((sect = json_object_get(root, name)) == NULL)
			json_object_set_new(root, name, sect = json_object());
		if (!keys[i].secret) {
			json_object_set_new(sect, leaf + 1, summary_value(cfg, i));
			continue;
		}
		snprintf(name, sizeof name, "%s_set", leaf + 1);
		json_object_set_new(sect, name, json_boolean(
		    **(char *const *)((const char *)cfg + keys[i].off)));
	}
	json_array_foreach(cfg->channels, i, el) {
		c = json_copy(el);
		if (json_object_del(c, "token") == 0)
			json_object_set_new(c, "token_set", json_true());
		if (json_object_del(c, "refresh_token") == 0)
			json_object_set_new(c, "refresh_token_set", json_true());
		json_array_append_new(ch, c);
	}
	json_object_set_new(root, "channels", ch);
	return root;
}
