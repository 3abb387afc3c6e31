/*
 * Control requests (CONTRACT section 5): payload -> struct br_request.
 * This file takes the payload apart: its size, encoding and JSON, a bare
 * channel name, the action; request_fields.c judges each action's keys.
 *
 * Pure: no I/O, no state. Every rejection is one sentence that says what
 * was wrong and what is accepted, because the person reading it is typing
 * mosquitto_pub commands by hand. User input is quoted through br_quote()
 * so an answer never carries control bytes, and the token never appears
 * in an answer at all.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "request_int.h"
#include "util.h"

static const char *const action_names[] = {
	[BR_ACTION_SUBSCRIBE] = "subscribe",
	[BR_ACTION_UNSUBSCRIBE] = "unsubscribe",
	[BR_ACTION_SUBSCRIPTIONS] = "subscriptions",
	[BR_ACTION_HEALTH] = "health",
	[BR_ACTION_SIMULATE] = "simulate",
};
#define N_ACTIONS (sizeof action_names / sizeof action_names[0])

const char *
br_action_name(enum br_action action)
{
	if ((size_t)action >= N_ACTIONS)
		return "unknown";
	return action_names[action];
}

void
br_quote(char *dst, size_t size, const char *s)
{
	size_t o = 0, limit = size < BR_QUOTE_MAX + 4 ? size - 4 : BR_QUOTE_MAX;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = *p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'';
		if (o + (plain ? 1 : 4) > limit) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (plain)
			dst[o++] = (char)*p;
		else
			o += (size_t)snprintf(dst + o, 5, "\\x%02x", *p);
	}
	dst[o] = '\0';
}

void
br_json_error_cut(char *text)
{
	char *near = strstr(text, " near ");

	if (near != NULL)
		*near = '\0';
}

const char *
br_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* The first problem is the one reported: later ones are often its echo. */
int
request_fail(struct br_request *req, const char *fmt, ...)
{
	va_list ap;

	if (req->error[0] != '\0')
		return -1;
	va_start(ap, fmt);
	vsnprintf(req->error, sizeof req->error, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
takes_bare_name(enum br_action a)
{
	return a == BR_ACTION_SUBSCRIBE || a == BR_ACTION_UNSUBSCRIBE;
}

/* A bare login, or a JSON string holding one, stands for {"channel":...}. */
static void
validate_value(struct br_request *req, json_t *v)
{
	json_t *obj;

	if (json_is_object(v)) {
		req->transaction = json_incref(json_object_get(v, "transaction"));
		request_validate(req, v);
		return;
	}
	if (json_is_string(v) && takes_bare_name(req->action) &&
	    br_login_ok(json_string_value(v))) {
		obj = json_pack("{s:s}", "channel", json_string_value(v));
		request_validate(req, obj);
		json_decref(obj);
		return;
	}
	if (takes_bare_name(req->action))
		request_fail(req, "%s needs a JSON object like {\"channel\":"
		    "\"cool_streamer\"} or a bare channel name, got %s",
		    br_action_name(req->action), br_json_kind(v));
	else if (req->action == BR_ACTION_SIMULATE)
		request_fail(req, "simulate needs a JSON object like "
		    "{\"channel\":\"cool_streamer\",\"type\":\"bits\"}, got %s",
		    br_json_kind(v));
	else
		request_fail(req, "%s needs a JSON object such as {} or an "
		    "empty payload, got %s", br_action_name(req->action),
		    br_json_kind(v));
}

struct br_request *
br_request_from_json(enum br_action action, json_t *obj)
{
	struct br_request *req = br_xcalloc(1, sizeof *req);

	req->action = action;
	if ((size_t)action >= N_ACTIONS)
		request_fail(req, "unknown action %d", (int)action);
	else if (obj == NULL)
		request_fail(req, "request is missing; send a JSON object");
	else
		validate_value(req, obj);
	return req;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
trim(const char **p, size_t *len)
{
	if (*len >= 3 && memcmp(*p, "\xef\xbb\xbf", 3) == 0) {
		*p += 3;        /* a byte-order mark from a Windows editor */
		*len -= 3;
	}
	for (; *len > 0 && is_space(**p); (*p)++, (*len)--)
		;
	for (; *len > 0 && is_space((*p)[*len - 1]); (*len)--)
		;
}

/* Parses the trimmed payload; sets req->error for what is not JSON. */
static json_t *
decode(struct br_request *req, const char *p, size_t len)
{
	char bare[32];
	json_error_t jerr;
	json_t *v;

	if (len == 0 && takes_bare_name(req->action))
		request_fail(req, "payload is empty; send a JSON object like "
		    "{\"channel\":\"cool_streamer\"} or a bare channel name");
	else if (len == 0 && req->action == BR_ACTION_SIMULATE)
		request_fail(req, "payload is empty; send a JSON object like "
		    "{\"channel\":\"cool_streamer\",\"type\":\"bits\"}");
	if (len == 0)
		return req->error[0] ? NULL : json_object();
	if (len < sizeof bare && takes_bare_name(req->action)) {
		memcpy(bare, p, len);
		bare[len] = '\0';
		if (br_login_ok(bare))
			return json_string(bare);
	}
	v = json_loadb(p, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (v != NULL)
		return v;
	if (json_error_code(&jerr) == json_error_invalid_utf8) {
		request_fail(req, "payload is not valid UTF-8; send a "
		    "JSON object");
		return NULL;
	}
	br_json_error_cut(jerr.text);
	request_fail(req, "payload is not valid JSON (line %d, column %d: %s); "
	    "send a JSON object%s", jerr.line, jerr.column, jerr.text,
	    takes_bare_name(req->action) ? " or a bare channel name" : "");
	return NULL;
}

/* Still echoes the transaction of a request whose action is a typo. */
static void
unknown_action(struct br_request *req, const char *action, const char *p,
    size_t len)
{
	json_t *v = len ? json_loadb(p, len, 0, NULL) : NULL;
	char q[BR_QUOTE_MAX + 8];

	if (json_is_object(v))
		req->transaction = json_incref(json_object_get(v, "transaction"));
	json_decref(v);
	br_quote(q, sizeof q, action ? action : "");
	request_fail(req, "unknown action '%s'; accepted: subscribe, "
	    "unsubscribe, subscriptions, health, simulate", q);
}

struct br_request *
br_request_parse(const char *action, const char *payload, size_t len)
{
	struct br_request *req = br_xcalloc(1, sizeof *req);
	size_t known = N_ACTIONS;
	json_t *v;

	for (size_t i = 0; action != NULL && i < N_ACTIONS; i++)
		if (strcmp(action, action_names[i]) == 0)
			known = i;
	if (payload == NULL)
		len = 0;
	if (len > BR_REQUEST_MAX_PAYLOAD) {
		request_fail(req, "payload is too large (%zu bytes); at most "
		    "%d bytes are accepted", len, BR_REQUEST_MAX_PAYLOAD);
		return req;
	}
	if (len > 0 && memchr(payload, '\0', len) != NULL) {
		request_fail(req, "payload contains a NUL byte; send a "
		    "JSON object");
		return req;
	}
	trim(&payload, &len);
	if (known == N_ACTIONS) {
		unknown_action(req, action, payload, len);
		return req;
	}
	req->action = (enum br_action)known;
	v = decode(req, payload, len);
	if (v != NULL)
		validate_value(req, v);
	json_decref(v);
	return req;
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

void
br_request_free(struct br_request *req)
{
	if (req == NULL)
		return;
	json_decref(req->transaction);
	free(req->channel);
	free(req->channel_id);
	free(req->transport);
	for (size_t i = 0; i < req->n_events; i++)
		free(req->events[i]);
	free(req->events);
	free(req->type);
	wipe_free(req->token);
	wipe_free(req->refresh_token);
	free(req->moderator_id);
	free(req);
}
