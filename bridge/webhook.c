#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hmac.h"
#include "util.h"
#include "webhook.h"

/* Room for a peer string quoted in a log sentence. */
#define PEER_MAX 64

static bool
present(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Cuts a string the peer chose to PEER_MAX bytes for a log sentence;
 * set() then makes the whole sentence printable. */
static const char *
peer(char buf[PEER_MAX + 4], const char *s)
{
	size_t i = 0;

	if (s == NULL)
		s = "";
	for (; s[i] != '\0' && i < PEER_MAX; i++)
		buf[i] = s[i];
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

static void set(struct br_wh_verdict *, enum br_wh_action, int,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));

static void
set(struct br_wh_verdict *out, enum br_wh_action action, int status,
    const char *reason, const char *fmt, ...)
{
	va_list ap;

	out->action = action;
	out->status = status;
	out->reason = reason;
	va_start(ap, fmt);
	vsnprintf(out->text, sizeof out->text, fmt, ap);
	va_end(ap);
	/* Headers, query and jansson's error (it quotes the body) are the
	 * peer's bytes: printable ASCII only, so no forged log lines. */
	for (char *p = out->text; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	if (action == BR_WH_REJECT) {
		json_decref(out->body);
		out->body = NULL;
		out->challenge = NULL;
	}
}

/*
 * header is "sha256=" and 64 hex digits. The digests are compared as
 * bytes, so the hex case does not matter, and in constant time, so the
 * timing does not tell a forger how many leading bytes were right.
 * 1 on a match, 0 on a mismatch or a malformed header, -1 when OpenSSL
 * failed.
 */
static int
signature_ok(const char *secret, const struct br_hmac_part *parts, size_t n,
    const char *header)
{
	static const char prefix[] = "sha256=";
	const size_t plen = sizeof prefix - 1;
	unsigned char want[BR_HMAC_LEN], got[BR_HMAC_LEN];

	if (strncmp(header, prefix, plen) != 0 ||
	    br_hmac_unhex(header + plen, strlen(header + plen), got,
	    sizeof got) != 0)
		return 0;
	if (br_hmac_sha256(secret, strlen(secret), parts, n, want) != 0)
		return -1;
	return br_hmac_equal(want, got, sizeof want) ? 1 : 0;
}

/* Answers a failed or refused signature check; false when it passed. */
static bool
refuse_signature(struct br_wh_verdict *out, int ok, const char *what)
{
	if (ok == 1)
		return false;
	if (ok < 0)
		set(out, BR_WH_REJECT, 500, "hmac_error",
		    "could not compute the HMAC of %s", what);
	else
		set(out, BR_WH_REJECT, 403, "bad_signature",
		    "signature of %s does not match", what);
	return true;
}

/* The body as a JSON object into out->body; false (400 set) when not. */
static bool
load_object(const char *body, size_t len, struct br_wh_verdict *out)
{
	json_error_t err;

	/* json_loadb reads exactly len bytes, so the body needs no NUL;
	 * without JSON_ALLOW_NUL it refuses \u0000, so strings taken from
	 * it are whole C strings. */
	out->body = json_loadb(body, len, 0, &err);
	if (json_is_object(out->body))
		return true;
	if (out->body == NULL)
		set(out, BR_WH_REJECT, 400, "bad_json",
		    "body is not JSON: %s at byte %d", err.text, err.position);
	else
		set(out, BR_WH_REJECT, 400, "bad_json",
		    "body is not a JSON object");
	return false;
}

/* Twitch: a timestamp beyond the window, either way, is a replay or a
 * badly wrong clock. Unsigned differences cannot overflow. */
static bool
refuse_stale(const char *ts, int64_t now_ms, struct br_wh_verdict *out)
{
	char b[PEER_MAX + 4];
	int64_t t;
	uint64_t d;

	if (br_parse_time(ts, &t) != 0) {
		set(out, BR_WH_REJECT, 403, "stale",
		    "timestamp \"%s\" is not RFC 3339", peer(b, ts));
		return true;
	}
	d = t > now_ms ? (uint64_t)t - (uint64_t)now_ms :
	    (uint64_t)now_ms - (uint64_t)t;
	if (d <= BR_WH_WINDOW_MS)
		return false;
	set(out, BR_WH_REJECT, 403, "stale",
	    "timestamp %s is %llu s %s, more than %d s", peer(b, ts),
	    (unsigned long long)(d / 1000), t > now_ms ? "ahead" : "old",
	    BR_WH_WINDOW_MS / 1000);
	return true;
}

static const char *
missing_eventsub_header(const struct br_wh_input *in)
{
	if (!present(in->msg_id))
		return "Twitch-Eventsub-Message-Id";
	if (!present(in->msg_timestamp))
		return "Twitch-Eventsub-Message-Timestamp";
	if (!present(in->msg_signature))
		return "Twitch-Eventsub-Message-Signature";
	if (!present(in->msg_type))
		return "Twitch-Eventsub-Message-Type";
	return NULL;
}

static void
eventsub_type(const struct br_wh_input *in, struct br_wh_verdict *out)
{
	char b[PEER_MAX + 4], s[PEER_MAX + 4];
	json_t *sub = json_object_get(out->body, "subscription");
	const char *stype = json_string_value(json_object_get(sub, "type"));

	if (strcmp(in->msg_type, "webhook_callback_verification") == 0) {
		json_t *c = json_object_get(out->body, "challenge");
		if (!json_is_string(c) || json_string_length(c) == 0) {
			set(out, BR_WH_REJECT, 400, "bad_challenge",
			    "verification id=%s without a challenge string",
			    peer(b, in->msg_id));
			return;
		}
		out->challenge = json_string_value(c);
		set(out, BR_WH_CHALLENGE, 200, NULL,
		    "eventsub verification id=%s type=%s", peer(b, in->msg_id),
		    peer(s, stype));
	} else if (strcmp(in->msg_type, "notification") == 0) {
		set(out, BR_WH_NOTIFICATION, 204, NULL,
		    "eventsub notification id=%s type=%s", peer(b, in->msg_id),
		    peer(s, stype));
	} else if (strcmp(in->msg_type, "revocation") == 0) {
		char st[PEER_MAX + 4];
		set(out, BR_WH_REVOCATION, 204, NULL,
		    "eventsub revocation id=%s type=%s status=%s",
		    peer(b, in->msg_id), peer(s, stype), peer(st,
		    json_string_value(json_object_get(sub, "status"))));
	} else {
		set(out, BR_WH_REJECT, 400, "unknown_type",
		    "unknown message type \"%s\"", peer(b, in->msg_type));
	}
}

/* Order: headers, size, signature, then the replay window (only a signed
 * timestamp means anything), then the body. */
static void
judge_eventsub(const struct br_wh_input *in, const char *secret,
    const char *body, size_t len, struct br_wh_verdict *out)
{
	const char *missing = missing_eventsub_header(in);

	if (missing != NULL) {
		set(out, BR_WH_REJECT, 403, "missing_headers",
		    "EventSub request without %s", missing);
		return;
	}
	if (len > BR_WH_BODY_MAX) {
		set(out, BR_WH_REJECT, 413, "too_large",
		    "body of %zu bytes is over %d", len, BR_WH_BODY_MAX);
		return;
	}
	struct br_hmac_part parts[] = {
		{ in->msg_id, strlen(in->msg_id) },
		{ in->msg_timestamp, strlen(in->msg_timestamp) },
		{ body, len },
	};
	if (refuse_signature(out, signature_ok(secret, parts, 3,
	    in->msg_signature), "the EventSub message"))
		return;
	if (refuse_stale(in->msg_timestamp, in->now_ms, out))
		return;
	if (!load_object(body, len, out))
		return;
	eventsub_type(in, out);
}

/* The legacy hub signs the body alone; its Twitch-Notification-Timestamp
 * is not signed, so a replay window on it would stop nobody. */
static void
judge_websub_post(const struct br_wh_input *in, const char *secret,
    const char *body, size_t len, struct br_wh_verdict *out)
{
	struct br_hmac_part part = { body, len };
	json_t *data;

	if (len > BR_WH_BODY_MAX) {
		set(out, BR_WH_REJECT, 413, "too_large",
		    "body of %zu bytes is over %d", len, BR_WH_BODY_MAX);
		return;
	}
	if (refuse_signature(out, signature_ok(secret, &part, 1,
	    in->hub_signature), "the WebSub body"))
		return;
	if (!load_object(body, len, out))
		return;
	data = json_object_get(out->body, "data");
	if (!json_is_array(data)) {
		set(out, BR_WH_REJECT, 400, "bad_json",
		    "WebSub body without a \"data\" array");
		return;
	}
	set(out, BR_WH_WEBSUB_NOTIFICATION, 204, NULL,
	    "websub notification with %zu item(s)", json_array_size(data));
}

static void
judge_post(const struct br_wh_input *in, const char *secret,
    struct br_wh_verdict *out)
{
	/* A NULL body is an empty one; body_len alone is never trusted to
	 * point at memory. */
	const char *body = in->body != NULL ? in->body : "";
	size_t len = in->body != NULL ? in->body_len : 0;

	/* Any EventSub header makes it EventSub, so a request cannot dodge
	 * the replay window by adding an X-Hub-Signature. */
	if (present(in->msg_id) || present(in->msg_timestamp) ||
	    present(in->msg_signature) || present(in->msg_type))
		judge_eventsub(in, secret, body, len, out);
	else if (present(in->hub_signature))
		judge_websub_post(in, secret, body, len, out);
	else
		set(out, BR_WH_REJECT, 403, "missing_headers",
		    "POST without Twitch-Eventsub-* or X-Hub-Signature headers");
}

/* WebSub intent verification. The GET is unsigned by design: echoing a
 * challenge only confirms a subscription, it accepts no data. */
static void
judge_get(const struct br_wh_input *in, struct br_wh_verdict *out)
{
	char m[PEER_MAX + 4], t[PEER_MAX + 4], r[PEER_MAX + 4];
	const char *mode = in->hub_mode != NULL ? in->hub_mode : "";

	if (strcmp(mode, "subscribe") == 0 ||
	    strcmp(mode, "unsubscribe") == 0) {
		if (!present(in->hub_challenge)) {
			set(out, BR_WH_REJECT, 400, "bad_request",
			    "hub.mode=%s without hub.challenge", mode);
			return;
		}
		out->challenge = in->hub_challenge;
		set(out, BR_WH_WEBSUB_VERIFY, 200, NULL,
		    "websub %s verified topic=%s", mode,
		    peer(t, in->hub_topic));
	} else if (strcmp(mode, "denied") == 0) {
		set(out, BR_WH_WEBSUB_DENIED, 200, NULL,
		    "websub subscription denied topic=%s reason=%s",
		    peer(t, in->hub_topic), peer(r, in->hub_reason));
	} else {
		set(out, BR_WH_REJECT, 400, "bad_request",
		    "GET needs hub.mode=subscribe|unsubscribe|denied, got \"%s\"",
		    peer(m, mode));
	}
}

void
br_wh_judge(const struct br_wh_input *in, const char *secret,
    struct br_wh_verdict *out)
{
	const char *method = in->method != NULL ? in->method : "";

	memset(out, 0, sizeof *out);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		set(out, BR_WH_REJECT, 405, "bad_method",
		    "only GET and POST are served here");
	else if (!present(secret))
		set(out, BR_WH_REJECT, 403, "no_secret",
		    "no webhook.secret configured");
	else if (method[0] == 'G')
		judge_get(in, out);
	else
		judge_post(in, secret, out);
}

void
br_wh_verdict_release(struct br_wh_verdict *v)
{
	json_decref(v->body);
	v->body = NULL;
	v->challenge = NULL;
}

const char *
br_wh_action_name(enum br_wh_action a)
{
	switch (a) {
	case BR_WH_REJECT:              return "reject";
	case BR_WH_CHALLENGE:           return "challenge";
	case BR_WH_NOTIFICATION:        return "notification";
	case BR_WH_REVOCATION:          return "revocation";
	case BR_WH_WEBSUB_VERIFY:       return "websub_verify";
	case BR_WH_WEBSUB_DENIED:       return "websub_denied";
	case BR_WH_WEBSUB_NOTIFICATION: return "websub_notification";
	}
	return "unknown";
}
