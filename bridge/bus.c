#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "dedupe.h"
#include "log.h"
#include "topic.h"
#include "util.h"

#define DEDUPE_WINDOW_MS (10 * 60 * 1000)
#define DEDUPE_CAP (1u << 20)
#define TOPIC_MAX 512

struct br_bus {
	struct br_sink sink;
	struct br_metrics *metrics;
	char *base;
	int qos;
	struct br_dedupe *dedupe;
	json_t *states;         /* login -> {"live",...} */
	br_bus_observer observer;
	void *observer_ctx;
};

struct br_bus *
br_bus_new(struct br_sink sink, struct br_metrics *metrics,
    const struct br_bus_options *opts)
{
	struct br_bus *bus = br_xcalloc(1, sizeof *bus);

	bus->sink = sink;
	bus->metrics = metrics;
	bus->base = br_xstrdup(opts->base_topic);
	bus->qos = opts->qos;
	bus->dedupe = br_dedupe_new(DEDUPE_CAP, DEDUPE_WINDOW_MS);
	bus->states = json_object();
	br_metrics_declare(metrics, "twitch2mqtt_events_received_total",
	    BR_COUNTER, "Events taken from Twitch sources.");
	br_metrics_declare(metrics, "twitch2mqtt_events_published_total",
	    BR_COUNTER, "Events the broker acknowledged.");
	br_metrics_declare(metrics, "twitch2mqtt_events_dropped_total",
	    BR_COUNTER, "Events not published, by reason.");
	return bus;
}

void
br_bus_free(struct br_bus *bus)
{
	if (bus == NULL)
		return;
	br_dedupe_free(bus->dedupe);
	json_decref(bus->states);
	free(bus->base);
	free(bus);
}

static void
drop(struct br_bus *bus, const char *reason)
{
	br_metrics_add(bus->metrics, "twitch2mqtt_events_dropped_total", 1,
	    "reason", reason, NULL);
}

void
br_bus_observe(struct br_bus *bus, br_bus_observer fn, void *ctx)
{
	bus->observer = fn;
	bus->observer_ctx = ctx;
}

bool
br_bus_full(struct br_bus *bus)
{
	return bus->sink.ops->buffered(bus->sink.impl) >=
	    bus->sink.ops->capacity(bus->sink.impl);
}

/* The backlog at which a source that can wait stops taking input while
 * the broker is connected: BR_BUS_HIGH_WATER, or the sink's capacity
 * when smaller. */
static size_t
high_water(struct br_bus *bus)
{
	size_t cap = bus->sink.ops->capacity(bus->sink.impl);
	return cap < BR_BUS_HIGH_WATER ? cap : BR_BUS_HIGH_WATER;
}

bool
br_bus_backlogged(struct br_bus *bus)
{
	return bus->sink.ops->connected(bus->sink.impl) &&
	    bus->sink.ops->buffered(bus->sink.impl) >= high_water(bus);
}

bool
br_bus_drained(struct br_bus *bus)
{
	return !bus->sink.ops->connected(bus->sink.impl) ||
	    bus->sink.ops->buffered(bus->sink.impl) < (high_water(bus) + 1) / 2;
}

static void
publish_state(struct br_bus *bus, const char *login, json_t *state)
{
	char topic[TOPIC_MAX];
	char *payload;

	if (br_topic_channel(topic, sizeof topic, bus->base, login, "state") < 0)
		return;
	size_t len;
	payload = br_json_compact(state, &len);
	if (payload == NULL)
		return;
	bus->sink.ops->publish(bus->sink.impl,
	    br_msg_adopt(topic, payload, len, 1, true));
}

static json_t *
state_of(struct br_bus *bus, const char *login)
{
	json_t *st = json_object_get(bus->states, login);

	if (st == NULL) {
		st = json_pack("{s:b, s:s, s:s, s:n}", "live", 0, "title", "",
		    "category", "", "started_at");
		json_object_set_new(bus->states, login, st);
	}
	return st;
}

/* stream and channel_update events move the channel's retained state. */
static void
track_state(struct br_bus *bus, struct br_event *ev, const char *login)
{
	const char *type = br_event_type(ev);
	json_t *obj = br_event_json(ev), *st;

	if (strcmp(type, "stream") == 0) {
		const char *what = json_string_value(json_object_get(obj,
		    "event_type"));
		bool live = what != NULL && strcmp(what, "online") == 0;
		st = state_of(bus, login);
		json_object_set_new(st, "live", json_boolean(live));
		json_t *started = json_object_get(obj, "started_at");
		json_object_set(st, "started_at",
		    live && json_is_string(started) ? started : json_null());
	} else if (strcmp(type, "channel_update") == 0) {
		st = state_of(bus, login);
		json_t *title = json_object_get(obj, "title");
		json_t *cat = json_object_get(json_object_get(obj, "category"),
		    "name");
		if (json_is_string(title))
			json_object_set(st, "title", title);
		if (json_is_string(cat))
			json_object_set(st, "category", cat);
	} else {
		return;
	}
	publish_state(bus, login, st);
}

int
br_bus_submit(struct br_bus *bus, struct br_event *ev)
{
	const char *id = br_event_id(ev), *login = br_event_channel_login(ev);
	const char *type = br_event_type(ev);
	char topic[TOPIC_MAX];
	int rc = 0;

	br_metrics_add(bus->metrics, "twitch2mqtt_events_received_total", 1,
	    "source", br_event_source(ev), "type", type, NULL);
	if (id == NULL || *id == '\0' || login == NULL ||
	    br_topic_channel(topic, sizeof topic, bus->base, login,
	    br_event_topic_leaf(ev)) < 0) {
		log_warn("bus: dropping a %s event without a usable id or "
		    "channel", type);
		drop(bus, "invalid");
		rc = -EINVAL;
		goto out;
	}
	if (br_dedupe_check(bus->dedupe, id, br_now_ms())) {
		log_debug("bus: duplicate %s event id=%s dropped", type, id);
		drop(bus, "duplicate");
		rc = -EEXIST;
		goto out;
	}
	if (br_bus_full(bus)) {
		br_dedupe_forget(bus->dedupe, id);
		log_warn("bus: buffer full, refusing %s event id=%s", type, id);
		drop(bus, "buffer_full");
		rc = -ENOBUFS;
		goto out;
	}
	if (bus->observer != NULL)
		bus->observer(bus->observer_ctx, ev);
	size_t len;
	/* The rendered event becomes the message's payload: no copy. */
	char *payload = br_event_dump(ev, &len);
	struct br_msg *msg = br_msg_adopt(topic, payload, len, bus->qos, false);
	msg->is_event = true;
	msg->label = br_xstrdup(type);
	bus->sink.ops->publish(bus->sink.impl, msg);
	track_state(bus, ev, login);
out:
	br_event_free(ev);
	return rc;
}

void
br_bus_announce(struct br_bus *bus)
{
	const char *login;
	json_t *st;

	json_object_foreach(bus->states, login, st)
		publish_state(bus, login, st);
}

void
br_bus_forget_channel(struct br_bus *bus, const char *login)
{
	char topic[TOPIC_MAX];

	json_object_del(bus->states, login);
	if (br_topic_channel(topic, sizeof topic, bus->base, login, "state") == 0)
		bus->sink.ops->publish(bus->sink.impl,
		    br_msg_new(topic, "", 0, 1, true));
}

json_t *
br_bus_channel_state(struct br_bus *bus, const char *login)
{
	return json_object_get(bus->states, login);
}
