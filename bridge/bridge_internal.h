/*
 * struct bridge, shared by bridge.c (lifecycle and wiring) and
 * bridge_ops.c (what control, HTTP and SIGHUP ask of it). Private to
 * those two files.
 */
#ifndef BR_BRIDGE_INTERNAL_H
#define BR_BRIDGE_INTERNAL_H

#include <jansson.h>

#include "auth.h"
#include "bridge.h"
#include "bus.h"
#include "control.h"
#include "demo.h"
#include "discovery.h"
#include "esws.h"
#include "helix.h"
#include "http.h"
#include "loop.h"
#include "metrics.h"
#include "pubsub.h"
#include "sink_mqtt.h"
#include "subs.h"
#include "whsrc.h"
#include "util.h"

#define BR_MAX_SOURCES 8

enum bridge_phase {
	PHASE_RUNNING,
	PHASE_DRAINING,         /* publishing what is queued */
	PHASE_OFFLINE,          /* "offline" sent, waiting for its ack */
	PHASE_CLOSING,          /* MQTT disconnect under way */
	PHASE_DONE,
};

struct bridge {
	struct br_config *cfg;
	struct bridge_options opts;
	struct br_loop *loop;
	struct br_metrics *metrics;
	struct br_sink_mqtt *mqtt;
	struct br_sink sink;
	struct br_bus *bus;
	struct br_subs *subs;
	struct br_control *control;
	struct br_demo *demo;
	struct br_helix *helix;
	struct br_auth *auth;
	struct br_esws *esws;
	struct br_pubsub *pubsub;
	struct br_whsrc *whsrc;
	struct br_source sources[BR_MAX_SOURCES];
	size_t n_sources;
	struct br_http *http;
	struct br_disc_pub *disc;       /* off: only clears earlier configs */
	struct br_timer tick;
	json_t *availability;   /* login -> last published availability */
	char *request_prefix;   /* "<base>/bridge/request/" */
	char *pending_path;     /* events kept across a restart */
	int64_t started_mono_ms;
	char started_at[BR_TIME_LEN];
	enum bridge_phase phase;
	int64_t deadline_ms, hard_deadline_ms;
};

void bridge_publish(struct bridge *b, const char *leaf, const char *payload,
                    bool retain, bool first);
void bridge_subs_changed(struct bridge *b);
json_t *bridge_sources_json(struct bridge *b);
/* Publishes a lifecycle event on <base>/bridge/event; events is stolen. */
void bridge_event(struct bridge *b, const char *type, const char *source,
                  const char *channel, json_t *events, const char *detail);

/* bridge_ops.c */
void bridge_control_env(struct bridge *b, struct br_control_env *env);
void bridge_http_routes(struct bridge *b);
void bridge_reload(struct bridge *b);

#endif
