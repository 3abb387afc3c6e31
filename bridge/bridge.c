#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "bridge_internal.h"
#include "log.h"
#include "topic.h"
#include "util.h"

extern char **environ;

/* The only process-wide mutable state: what the signal handlers saw. */
static volatile sig_atomic_t got_term, got_hup;

static void on_term(int sig) { got_term = sig; }
static void on_hup(int sig) { got_hup = 1; }

void
bridge_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- publishing bridge-level topics ---- */

void
bridge_publish(struct bridge *b, const char *leaf, const char *payload,
    bool retain, bool first)
{
	char topic[512];
	struct br_msg *msg;

	if (br_topic_bridge(topic, sizeof topic, b->cfg->mqtt.base_topic,
	    leaf) < 0)
		return;
	msg = br_msg_new(topic, payload, strlen(payload), 1, retain);
	if (first)
		b->sink.ops->publish_first(b->sink.impl, msg);
	else
		b->sink.ops->publish(b->sink.impl, msg);
}

static void
publish_json(struct bridge *b, const char *leaf, json_t *j, bool retain)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	bridge_publish(b, leaf, s, retain, false);
	free(s);
	json_decref(j);
}

static void
publish_channel(struct bridge *b, const char *login, const char *leaf,
    const char *payload)
{
	char topic[512];

	if (br_topic_channel(topic, sizeof topic, b->cfg->mqtt.base_topic, login,
	    leaf) == 0)
		b->sink.ops->publish(b->sink.impl,
		    br_msg_new(topic, payload, strlen(payload), 1, true));
}

json_t *
bridge_sources_json(struct bridge *b)
{
	json_t *o = json_object();
	for (size_t i = 0; i < b->n_sources; i++)
		json_object_set_new(o, b->sources[i].name, json_string(
		    b->sources[i].ops->status(b->sources[i].impl)));
	return o;
}

static void
publish_info(struct bridge *b)
{
	publish_json(b, "info", json_pack("{s:s, s:s, s:o, s:o}", "version",
	    BR_VERSION, "started_at", b->started_at, "sources",
	    bridge_sources_json(b), "config", br_config_summary(b->cfg)), true);
}

/* Each channel's retained availability follows whether any of its events
 * is enabled; channels no longer held go offline once. */
static void
publish_availability(struct bridge *b, bool all)
{
	json_t *now = json_object();
	const char *login;
	json_t *v;

	for (size_t i = 0; i < br_subs_count(b->subs); i++) {
		const char *l = br_subs_at(b->subs, i)->login;
		if (l != NULL)
			json_object_set_new(now, l, json_string(
			    br_subs_channel_active(b->subs, l) ? "online"
			                                        : "offline"));
	}
	json_object_foreach(b->availability, login, v)
		if (json_object_get(now, login) == NULL)
			json_object_set_new(now, login, json_string("offline"));
	json_object_foreach(now, login, v) {
		json_t *before = json_object_get(b->availability, login);
		if (all || !json_equal(before, v))
			publish_channel(b, login, "availability",
			    json_string_value(v));
	}
	json_decref(b->availability);
	b->availability = now;
}

/* The automatic demo is a placeholder: it gives way as soon as the user
 * holds a subscription of their own. (--demo keeps it.) */
static void
end_auto_demo(struct bridge *b)
{
	struct br_sub *demo = br_subs_find(b->subs, "demo", "demo", NULL);

	if (b->opts.demo || demo == NULL || !demo->ephemeral ||
	    br_subs_count(b->subs) < 2)
		return;
	log_info("bridge: a subscription is held now; the automatic demo ends");
	br_subs_remove(b->subs, demo);
}

void
bridge_subs_changed(struct bridge *b)
{
	end_auto_demo(b);
	br_subs_save(b->subs);
	/* While the broker is away the reconnect announces all of it. */
	if (!b->sink.ops->connected(b->sink.impl))
		return;
	br_disc_pub_sync(b->disc, false);
	publish_json(b, "subscriptions", br_subs_public(b->subs), true);
	publish_availability(b, false);
}

/* ---- sink hooks ---- */

static void
on_connected(void *ctx)
{
	struct bridge *b = ctx;

	/* First in the queue: anything buffered meanwhile follows it. */
	bridge_publish(b, "state", "online", true, true);
	br_disc_pub_sync(b->disc, true);        /* configs before state */
	publish_info(b);
	publish_json(b, "subscriptions", br_subs_public(b->subs), true);
	publish_availability(b, true);
	br_bus_announce(b->bus);
}

static void
on_message(void *ctx, const struct br_inmsg *in)
{
	struct bridge *b = ctx;
	size_t n = strlen(b->request_prefix);

	if (br_disc_pub_message(b->disc, in->topic, in->payload, in->len))
		return;
	if (strncmp(in->topic, b->request_prefix, n) != 0)
		return;
	br_control_handle(b->control, in->topic + n, in->payload, in->len,
	    in->response_topic, in->corr, in->corr_len);
}

/* ---- the housekeeping tick: signals and the shutdown sequence ---- */

static void
stop_loop(void *arg)
{
	struct bridge *b = arg;
	b->phase = PHASE_DONE;
	br_loop_stop(b->loop);
}

static void
begin_shutdown(struct bridge *b)
{
	int64_t now = br_mono_ms();

	log_info("bridge: %s received; publishing what is queued and stopping",
	    got_term == SIGINT ? "SIGINT" : "SIGTERM");
	b->phase = PHASE_DRAINING;
	b->deadline_ms = now + 3000;
	b->hard_deadline_ms = now + 4500;
	br_demo_stop(b->demo);
	br_esws_stop(b->esws);
	br_pubsub_stop(b->pubsub);
}

static void
shutdown_step(struct bridge *b)
{
	int64_t now = br_mono_ms();
	bool connected = b->sink.ops->connected(b->sink.impl);
	bool idle = br_sink_mqtt_idle(b->mqtt);

	if (now > b->hard_deadline_ms) {
		stop_loop(b);
		return;
	}
	if (b->phase == PHASE_DRAINING && (idle || !connected ||
	    now > b->deadline_ms)) {
		bridge_publish(b, "state", "offline", true, true);
		b->phase = PHASE_OFFLINE;
		b->deadline_ms = now + 800;
	} else if (b->phase == PHASE_OFFLINE && (!connected ||
	    br_sink_mqtt_idle(b->mqtt) || now > b->deadline_ms)) {
		b->phase = PHASE_CLOSING;
		br_sink_mqtt_disconnect(b->mqtt, stop_loop, b);
	}
}

static void
tick(void *arg)
{
	struct bridge *b = arg;

	if (got_term && b->phase == PHASE_RUNNING)
		begin_shutdown(b);
	if (got_hup) {
		got_hup = 0;
		bridge_reload(b);
	}
	if (b->phase != PHASE_RUNNING && b->phase != PHASE_DONE)
		shutdown_step(b);
	br_timer_start(&b->tick, 50);
}

void
bridge_event(struct bridge *b, const char *type, const char *source,
    const char *channel, json_t *events, const char *detail)
{
	char when[BR_TIME_LEN];

	br_format_time(when, br_now_ms());
	publish_json(b, "event", json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}",
	    "type", type, "time", when, "source", source, "channel",
	    channel ? json_string(channel) : json_null(), "events",
	    events ? events : json_array(), "detail", detail), false);
}

/* ---- lifecycle ---- */

static void
source_changed(void *ctx)
{
	bridge_subs_changed(ctx);
}

static void
source_event(void *ctx, const char *type, const char *source,
    const char *channel, json_t *events, const char *detail)
{
	bridge_event(ctx, type, source, channel, events, detail);
}

static void
auth_event(void *ctx, const char *type, const char *detail)
{
	bridge_event(ctx, type, "twitch-oauth", NULL, NULL, detail);
}

static void
auth_ready(void *ctx)
{
	struct bridge *b = ctx;
	br_esws_auth_ready(b->esws);
	br_pubsub_auth_ready(b->pubsub);
}

static int
add_webhooks(struct bridge *b, const struct br_source_hooks *sh)
{
	struct br_config *c = b->cfg;
	struct br_whsrc_options wo = { c->webhook.path, c->webhook.public_url,
		c->webhook.secret, c->twitch.api_url,
		c->twitch.client_id[0] != '\0' && c->twitch.client_secret[0] != '\0' };

	if (c->webhook.public_url[0] != '\0' &&
	    strncmp(c->webhook.public_url, "https://", 8) != 0)
		log_warn("bridge: webhook.public_url is not https: Twitch only "
		    "calls https on port 443 (fine behind a proxy or in tests)");
	b->whsrc = br_whsrc_new(b->loop, b->bus, b->helix, b->auth, b->subs,
	    b->metrics, b->http, &wo, sh);
	b->sources[b->n_sources++] = br_whsrc_webhook(b->whsrc);
	b->sources[b->n_sources++] = br_whsrc_websub(b->whsrc);
	return 0;
}

static int
add_pubsub(struct bridge *b, const struct br_source_hooks *sh)
{
	struct br_pubsub_options po = { b->cfg->twitch.pubsub_url,
		b->cfg->twitch.ca_file, b->opts.pubsub_ping_ms,
		b->opts.pubsub_pong_ms, 0 };

	b->pubsub = br_pubsub_new(b->loop, b->bus, b->helix, b->auth, b->subs,
	    b->metrics, &po, sh);
	if (b->pubsub == NULL)
		return -1;
	b->sources[b->n_sources++] = br_pubsub_source(b->pubsub);
	return 0;
}

static int
add_twitch(struct bridge *b)
{
	struct br_config *c = b->cfg;
	struct br_helix_options ho = { c->twitch.api_url, c->twitch.auth_url,
		c->twitch.client_id, c->twitch.ca_file };
	struct br_auth_options ao = { c->twitch.client_id,
		c->twitch.client_secret, c->twitch.access_token,
		c->twitch.refresh_token, c->bridge.state_dir };
	struct br_auth_hooks ah = { b, auth_event, auth_ready };
	struct br_source_hooks sh = { b, source_changed, source_event };
	struct br_esws_options eo = { c->twitch.eventsub_url, c->twitch.ca_file };

	if ((b->helix = br_helix_new(b->loop, &ho)) == NULL)
		return -1;
	if ((b->auth = br_auth_new(b->loop, b->helix, &ao, &ah)) == NULL)
		return -1;
	b->esws = br_esws_new(b->loop, b->bus, b->helix, b->auth, b->subs,
	    b->metrics, &eo, &sh);
	if (b->esws == NULL)
		return -1;
	b->sources[b->n_sources++] = br_esws_source(b->esws);
	if (add_pubsub(b, &sh) < 0)
		return -1;
	return add_webhooks(b, &sh);
}

static int
add_sources(struct bridge *b)
{
	b->demo = br_demo_new(b->loop, b->bus, b->subs,
	    b->opts.demo_rate > 0 ? b->opts.demo_rate : 1, b->opts.demo_count);
	b->sources[b->n_sources++] = br_demo_source(b->demo);
	return add_twitch(b);
}

static bool
demo_mode(struct bridge *b)
{
	return b->opts.demo || (!br_config_has_twitch(b->cfg) &&
	    json_array_size(b->cfg->channels) == 0 &&
	    br_subs_count(b->subs) == 0);
}

static void
hold_channels(struct bridge *b)
{
	size_t i;
	json_t *req;

	br_control_restore(b->control);
	json_array_foreach(b->cfg->channels, i, req)
		br_control_apply(b->control, BR_ACTION_SUBSCRIBE, req);
	if (demo_mode(b)) {
		log_info("bridge: demo mode: sample events for channel 'demo' "
		    "(configure Twitch credentials or channels to leave it)");
		json_t *demo = json_pack("{s:s, s:s}", "channel", "demo",
		    "transport", "demo");
		br_control_apply(b->control, BR_ACTION_SUBSCRIBE, demo);
		json_decref(demo);
		struct br_sub *s = br_subs_find(b->subs, "demo", "demo", NULL);
		if (s != NULL)
			s->ephemeral = true;
	}
}

static int
make_sink(struct bridge *b)
{
	struct br_config *c = b->cfg;
	char *will = br_xasprintf("%s/bridge/state", c->mqtt.base_topic);
	struct br_sink_mqtt_options o = {
		.url = c->mqtt.url, .client_id = c->mqtt.client_id,
		.username = c->mqtt.username, .password = c->mqtt.password,
		.version = c->mqtt.version, .ca_file = c->mqtt.ca_file,
		.cert_file = c->mqtt.cert_file, .key_file = c->mqtt.key_file,
		.tls_insecure = c->mqtt.tls_insecure,
		.buffer_max = (size_t)c->mqtt.buffer_max, .will_topic = will,
	};
	struct br_sink_hooks hooks = { .ctx = b, .connected = on_connected,
		.message = on_message };

	b->mqtt = br_sink_mqtt_new(b->loop, b->metrics, &o, &hooks);
	free(will);
	if (b->mqtt == NULL)
		return -1;
	b->sink = br_sink_mqtt_sink(b->mqtt);
	b->request_prefix = br_xasprintf("%s/bridge/request/",
	    c->mqtt.base_topic);
	char *filter = br_xasprintf("%s+", b->request_prefix);
	br_sink_mqtt_subscribe(b->mqtt, filter);
	free(filter);
	return 0;
}

/* ---- Home Assistant discovery ---- */

/* After Home Assistant came back: the retained state it may have missed
 * while its new entities were being set up. */
static void
disc_announce(void *ctx)
{
	struct bridge *b = ctx;

	if (!b->sink.ops->connected(b->sink.impl))
		return;
	bridge_publish(b, "state", "online", true, false);
	publish_availability(b, true);
	br_bus_announce(b->bus);
}

static void
make_discovery(struct bridge *b)
{
	struct br_config *c = b->cfg;
	struct br_disc_pub_options o = { c->mqtt.base_topic,
		c->homeassistant.prefix, BR_VERSION, c->bridge.state_dir,
		!c->homeassistant.discovery };
	struct br_disc_pub_hooks h = { b, disc_announce };

	b->disc = br_disc_pub_new(b->loop, &b->sink, b->subs, b->helix,
	    b->auth, &o, &h);
	if (o.off)
		return;
	br_sink_mqtt_subscribe(b->mqtt, br_disc_pub_status_topic(b->disc));
	br_bus_observe(b->bus, br_disc_pub_event, b->disc);
}

static void
declare_metrics(struct br_metrics *m)
{
	br_metrics_declare(m, "twitch2mqtt_webhook_rejected_total", BR_COUNTER,
	    "Webhook calls refused, by reason.");
	br_metrics_declare(m, "twitch2mqtt_buffered_events", BR_GAUGE,
	    "Events waiting for the broker.");
	br_metrics_declare(m, "twitch2mqtt_reconnects_total", BR_COUNTER,
	    "Reconnects, by source.");
}

struct bridge *
bridge_new(struct br_config *cfg, const struct bridge_options *opts)
{
	struct bridge *b = br_xcalloc(1, sizeof *b);
	struct br_control_env env;
	struct br_bus_options bo = { cfg->mqtt.base_topic, cfg->mqtt.qos };

	b->cfg = cfg;
	b->opts = *opts;
	b->started_mono_ms = br_mono_ms();
	br_format_time(b->started_at, br_now_ms());
	b->availability = json_object();
	int rc = br_mkdirs(cfg->bridge.state_dir, 0700);
	if (rc < 0) {
		log_error("bridge: cannot create the state dir %s: %s",
		    cfg->bridge.state_dir, strerror(-rc));
		goto fail;
	}
	b->pending_path = br_xasprintf("%s/pending-events.jsonl",
	    cfg->bridge.state_dir);
	if ((b->loop = br_loop_new()) == NULL)
		goto fail;
	b->metrics = br_metrics_new();
	declare_metrics(b->metrics);
	if (make_sink(b) < 0)
		goto fail;
	b->bus = br_bus_new(b->sink, b->metrics, &bo);
	b->subs = br_subs_new(cfg->bridge.state_dir);
	br_subs_load(b->subs);
	if (cfg->http.listen[0] != '\0') {
		b->http = br_http_new(b->loop, cfg->http.listen,
		    cfg->http.cert_file, cfg->http.key_file);
		if (b->http == NULL)
			goto fail;
		bridge_http_routes(b);
	}
	if (add_sources(b) < 0)
		goto fail;
	make_discovery(b);
	bridge_control_env(b, &env);
	b->control = br_control_new(&env);
	br_sink_mqtt_load(b->mqtt, b->pending_path);
	hold_channels(b);
	br_timer_init(&b->tick, b->loop, tick, b);
	return b;
fail:
	bridge_free(b);
	return NULL;
}

int
bridge_run(struct bridge *b)
{
	log_info("bridge: twitch2mqtt %s starting; broker %s, topics under "
	    "%s/", BR_VERSION, b->cfg->mqtt.url, b->cfg->mqtt.base_topic);
	br_timer_start(&b->tick, 50);
	if (br_auth_has_user(b->auth))
		br_auth_start(b->auth);
	br_sink_mqtt_start(b->mqtt);
	br_loop_run(b->loop);
	br_timer_stop(&b->tick);
	if (br_sink_mqtt_save(b->mqtt, b->pending_path) < 0)
		log_error("bridge: could not save unpublished events to %s",
		    b->pending_path);
	log_info("bridge: stopped");
	return 0;
}

void
bridge_free(struct bridge *b)
{
	if (b == NULL)
		return;
	br_control_free(b->control);
	br_http_free(b->http);
	br_helix_free(b->helix);        /* first: no Helix answer after this */
	br_disc_pub_free(b->disc);
	br_esws_free(b->esws);
	br_pubsub_free(b->pubsub);
	br_whsrc_free(b->whsrc);
	br_auth_free(b->auth);
	br_demo_free(b->demo);
	br_sink_mqtt_free(b->mqtt);     /* paho first: no callback after this */
	br_bus_free(b->bus);
	br_subs_free(b->subs);
	br_loop_free(b->loop);
	br_metrics_free(b->metrics);
	json_decref(b->availability);
	free(b->request_prefix);
	free(b->pending_path);
	br_config_free(b->cfg);
	free(b);
}
