/*
 * Webhook verdicts, pure: given what the HTTP layer read from one request
 * on webhook.path, decide what it is and what to answer. EventSub webhooks
 * (POST, Twitch-Eventsub-* headers, HMAC over id + timestamp + body, a
 * 10-minute replay window) and legacy WebSub (GET intent verification,
 * POST with X-Hub-Signature over the body). No I/O, no clock, no state:
 * duplicates, the event buffer and publishing are the caller's. Fuzzed.
 */
#ifndef BR_WEBHOOK_H
#define BR_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Twitch: reject a message whose timestamp is further than this from now,
 * either way. */
#define BR_WH_WINDOW_MS   (10 * 60 * 1000)
/* Same as BR_HTTP_BODY_MAX; judged again so no caller can forget it. */
#define BR_WH_BODY_MAX    (1024 * 1024)

/* Everything the HTTP layer read, borrowed. A header or query argument
 * that was absent is NULL; an empty one counts as absent. Strings are
 * NUL-terminated; body is not, and only body_len bytes are read. */
struct br_wh_input {
	const char *method;             /* "GET" or "POST" */
	/* EventSub: Twitch-Eventsub-Message-{Id,Timestamp,Signature,Type} */
	const char *msg_id, *msg_timestamp, *msg_signature, *msg_type;
	/* WebSub: X-Hub-Signature "sha256=<hex>" and the hub.* query */
	const char *hub_signature;
	const char *hub_mode, *hub_challenge, *hub_topic, *hub_reason;
	const char *body;               /* raw bytes as received; may be NULL */
	size_t body_len;
	int64_t now_ms;                 /* wall clock, unix milliseconds */
};

enum br_wh_action {
	BR_WH_REJECT,                   /* answer status with text; count reason */
	BR_WH_CHALLENGE,                /* EventSub verification: echo challenge */
	BR_WH_NOTIFICATION,             /* EventSub event: dedupe, publish */
	BR_WH_REVOCATION,               /* EventSub: drop the subscription */
	BR_WH_WEBSUB_VERIFY,            /* WebSub GET subscribe/unsubscribe: echo */
	BR_WH_WEBSUB_DENIED,            /* WebSub GET hub.mode=denied: log text */
	BR_WH_WEBSUB_NOTIFICATION,      /* WebSub {"data":[...]}: publish */
};

struct br_wh_verdict {
	enum br_wh_action action;
	/* What to answer: 200 for the echoes and denied, 204 for accepted
	 * deliveries (the caller answers 503 instead when it cannot queue
	 * the event, so that Twitch retries), 4xx for rejections (500 only
	 * for hmac_error). */
	int status;
	/* Rejections only, else NULL: a static metric label (no_secret,
	 * missing_headers, too_large, bad_signature, hmac_error (500),
	 * stale, bad_json, bad_challenge, unknown_type, bad_request,
	 * bad_method). */
	const char *reason;
	/* One sentence for the log, and the text/plain body of a rejection.
	 * Peer strings in it are cut short and made printable; it never holds
	 * the secret or a signature. */
	char text[256];
	/* The parsed body, a new reference: set for every action but REJECT
	 * and the WebSub GETs. */
	json_t *body;
	/* CHALLENGE and WEBSUB_VERIFY: the exact text/plain answer body,
	 * borrowed from body or from in->hub_challenge. Else NULL. */
	const char *challenge;
};

/* Judges one request. secret is webhook.secret; without one (NULL or "")
 * every request is refused 403, as unsigned data is never accepted. The
 * signature hex may be of either case; its "sha256=" prefix must be
 * lowercase. out is always fully set; release it. */
void br_wh_judge(const struct br_wh_input *in, const char *secret,
                 struct br_wh_verdict *out);

/* Drops the body reference; safe on a zeroed or released verdict. */
void br_wh_verdict_release(struct br_wh_verdict *v);

/* Printable name of an action ("notification", ...), for logs. */
const char *br_wh_action_name(enum br_wh_action a);

#endif
