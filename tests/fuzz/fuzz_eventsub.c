/*
 * EventSub input is bytes from the network: WebSocket frames from Twitch
 * and webhook bodies from anyone who can reach the port (the HMAC check
 * comes first, but the parser must not depend on it). Every byte
 * sequence must parse or be refused, never crash or leak, and every
 * event that comes out must keep the contract's invariants.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventsub.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A key anywhere in j. */
static bool
has_key(json_t *j, const char *name)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(j, key, v)
		if (strcmp(key, name) == 0 || has_key(v, name))
			return true;
	json_array_foreach(j, i, v)
		if (has_key(v, name))
			return true;
	return false;
}

/* What no input may produce: an event without a type or a channel
 * login, an email, the key "event_types". */
static void
check(struct br_event *ev)
{
	json_t *obj = br_event_json(ev);
	size_t len;
	char *s;

	if (br_event_type(ev) == NULL || br_event_channel_login(ev) == NULL ||
	    has_key(obj, "email") || has_key(obj, "event_types"))
		abort();
	s = br_event_dump(ev, &len);
	if (len == 0)
		abort();
	free(s);
	br_event_free(ev);
}

static void
normalize(json_t *body, const char *id, const char *time, const char *source)
{
	struct br_event *ev = NULL;
	char err[256];
	int rc = br_eventsub_normalize(body, id, time, source, &ev, err,
	    sizeof err);

	if (rc == 0)
		check(ev);
	else if (ev != NULL || (rc != 1 && rc != -EINVAL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct br_es_frame f;
	char err[256];

	br_log_set_level(BR_LOG_ERROR);
	if (br_es_frame_parse(buf, size, &f, err, sizeof err) == 0) {
		if (f.kind == BR_ES_NOTIFICATION)
			normalize(f.payload, f.message_id, f.timestamp,
			    "eventsub-websocket");
		br_es_frame_release(&f);
	}

	/* the same bytes as a webhook body */
	json_t *body = json_loadb(buf, size, 0, NULL);
	if (body != NULL) {
		normalize(body, "fuzz-id", "2025-03-14T18:22:05.123456789Z",
		    "eventsub-webhook");
		json_decref(body);
	}
	return 0;
}
