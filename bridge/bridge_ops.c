#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_internal.h"
#include "log.h"
#include "topic.h"

extern char **environ;

/* ---- what the control module asks of the bridge ---- */

static struct br_source *
source_for(void *ctx, const char *transport)
{
	struct bridge *b = ctx;
	for (size_t i = 0; i < b->n_sources; i++)
		if (strcmp(b->sources[i].transport, transport) == 0)
			return &b->sources[i];
	return NULL;
}

static void
transports(void *ctx, char *buf, size_t size)
{
	struct bridge *b = ctx;
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->n_sources && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s",
		    i ? ", " : "", b->sources[i].transport);
}

static bool
sources_up(struct bridge *b, json_t *down)
{
	bool up = true;
	for (size_t i = 0; i < b->n_sources; i++) {
		const char *st = b->sources[i].ops->status(b->sources[i].impl);
		/* idle: nothing held on it, so nothing is missing. */
		if (strcmp(st, "up") != 0 && strcmp(st, "idle") != 0) {
			up = false;
			if (down)
				json_array_append_new(down,
				    json_string(b->sources[i].name));
		}
	}
	return up;
}

static json_t *
health(void *ctx)
{
	struct bridge *b = ctx;
	json_t *counters = br_metrics_summary(b->metrics);

	json_object_set_new(counters, "buffered_events",
	    json_integer((json_int_t)b->sink.ops->buffered(b->sink.impl)));
	return json_pack("{s:{s:b}, s:o, s:I, s:o}",
	    "mqtt", "connected", b->sink.ops->connected(b->sink.impl),
	    "sources", bridge_sources_json(b),
	    "uptime_s", (json_int_t)((br_mono_ms() - b->started_mono_ms) / 1000),
	    "counters", counters);
}

static void
reply(void *ctx, const char *action, json_t *answer, const char *rtopic,
    const char *corr, size_t corr_len)
{
	struct bridge *b = ctx;
	char *text = json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char leaf[256];

	json_decref(answer);
	/* The action comes from one topic level, so it fits; a level that
	 * does not is answered nowhere rather than somewhere wrong. */
	if (br_topic_level_ok(action) &&
	    snprintf(leaf, sizeof leaf, "response/%s", action) < (int)sizeof leaf)
		bridge_publish(b, leaf, text, false, false);
	if (rtopic != NULL && *rtopic != '\0' && !strpbrk(rtopic, "+#")) {
		struct br_msg *msg = br_msg_new(rtopic, text, strlen(text), 1,
		    false);
		if (corr != NULL) {
			msg->corr = br_xstrndup(corr, corr_len);
			msg->corr_len = corr_len;
		}
		b->sink.ops->publish(b->sink.impl, msg);
	}
	free(text);
}

static void
changed(void *ctx)
{
	bridge_subs_changed(ctx);
}

void
bridge_control_env(struct bridge *b, struct br_control_env *env)
{
	*env = (struct br_control_env){
		.ctx = b, .subs = b->subs, .bus = b->bus,
		.source = source_for, .transports = transports,
		.health = health, .reply = reply, .changed = changed,
	};
}

/* ---- HTTP ---- */

static void
take_json(struct br_http_response *res, int status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	br_http_reply(res, status, "application/json", s);
	free(s);
	res->body = br_xrealloc(res->body, res->len + 2);
	res->body[res->len++] = '\n';
	res->body[res->len] = '\0';
}

static void
get_healthz(void *ctx, const struct br_http_request *req,
    struct br_http_response *res)
{
	struct bridge *b = ctx;
	json_t *down = json_array();
	bool mqtt = b->sink.ops->connected(b->sink.impl);

	if (!mqtt)
		json_array_append_new(down, json_string("mqtt"));
	bool ok = sources_up(b, down) && mqtt;
	take_json(res, ok ? 200 : 503, json_pack("{s:s, s:{s:b}, s:o, s:o}",
	    "status", ok ? "ok" : "error", "mqtt", "connected", mqtt,
	    "sources", bridge_sources_json(b), "down", down));
}

static void
get_metrics(void *ctx, const struct br_http_request *req,
    struct br_http_response *res)
{
	struct bridge *b = ctx;

	br_metrics_set(b->metrics, "twitch2mqtt_buffered_events",
	    (long long)b->sink.ops->buffered(b->sink.impl), NULL);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4";
	res->body = br_metrics_render(b->metrics);
	res->len = strlen(res->body);
}

void
bridge_http_routes(struct bridge *b)
{
	br_http_route(b->http, "GET", "/healthz", get_healthz, b);
	br_http_route(b->http, "GET", "/metrics", get_metrics, b);
}

/* ---- SIGHUP ---- */

static bool
contains(json_t *array, json_t *item)
{
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
		if (json_equal(v, item))
			return true;
	return false;
}

/* Channels dropped from the file are unsubscribed, new ones subscribed;
 * entries that did not change are left alone. */
static void
reconcile_channels(struct bridge *b, json_t *old, json_t *now)
{
	size_t i;
	json_t *req;

	json_array_foreach(old, i, req) {
		if (contains(now, req))
			continue;
		json_t *un = json_deep_copy(req);
		/* unsubscribe takes none of these */
		json_object_del(un, "token");
		json_object_del(un, "refresh_token");
		json_object_del(un, "moderator_id");
		br_control_apply(b->control, BR_ACTION_UNSUBSCRIBE, un);
		json_decref(un);
	}
	json_array_foreach(now, i, req)
		if (!contains(old, req))
			br_control_apply(b->control, BR_ACTION_SUBSCRIBE, req);
}

void
bridge_reload(struct bridge *b)
{
	struct br_problems problems = { 0 };
	struct br_config *cfg = br_config_load(b->opts.config_path, environ,
	    &problems);

	if (cfg == NULL) {
		for (size_t i = 0; i < problems.n; i++)
			log_error("config: %s", problems.lines[i]);
		log_error("bridge: SIGHUP: invalid configuration; keeping the "
		    "old configuration");
		br_problems_free(&problems);
		return;
	}
	br_problems_free(&problems);
	br_log_set_level(cfg->bridge.log_level);
	/* Modules copied what they needed at start; the rest of the new
	 * configuration applies when the part it configures reconnects. */
	if (strcmp(cfg->mqtt.base_topic, b->cfg->mqtt.base_topic) != 0) {
		log_warn("bridge: mqtt.base_topic changes take effect after a "
		    "restart");
		free(cfg->mqtt.base_topic);
		cfg->mqtt.base_topic = br_xstrdup(b->cfg->mqtt.base_topic);
	}
	reconcile_channels(b, b->cfg->channels, cfg->channels);
	br_config_free(b->cfg);
	b->cfg = cfg;
	log_info("bridge: SIGHUP: configuration reloaded");
}
