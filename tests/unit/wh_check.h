/*
 * Shared by the webhook unit tests: building signed requests, and
 * br_wh_judge wrapped with the promises of webhook.h that hold for any
 * input (judge() checks them on every call). Include after cmocka.h.
 */
#ifndef BR_TEST_WH_CHECK_H
#define BR_TEST_WH_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "util.h"
#include "webhook.h"

/* The secret every twitch-cli capture was signed with, and the test
 * vectors of eventsub.md 3.3 and 7 (made with an independent HMAC). */
#define SECRET   "s3cr3tvalue123"
#define ID       "e5a4c7b0-1111-4a2b-9c3d-000000000001"
#define TS       "2024-05-01T12:00:00.123456789Z"
#define DOC_BODY "{\"subscription\":{\"type\":\"stream.offline\"}," \
                 "\"event\":{\"broadcaster_user_id\":\"1337\"}}"
#define DOC_SIG  "sha256=a37dd456edf313aa408e6ba5a0ca97af" \
                 "c0103792bccbc37a500e3e57918c2ba5"
#define WS_SIG   "sha256=08e82296b2f021120cdad86a04f9e97b" \
                 "97e67ee00698266465a76e1c7853abbe"
#define MIN_MS   (60 * 1000LL)

/* A request under construction. The body is heap memory of exactly
 * body_len bytes with no NUL after it, so ASan sees any read past it. */
struct req {
	struct br_wh_input in;
	char *body;
	char sig[BR_HMAC_HEX_LEN + 8];
};

static inline int64_t
time_of(const char *ts)
{
	int64_t t = 0;

	if (br_parse_time(ts, &t) != 0)
		fail_msg("unparseable test timestamp %s", ts);
	return t;
}

static inline void
req_body(struct req *r, const void *body, size_t len)
{
	free(r->body);
	r->body = malloc(len ? len : 1);
	assert_non_null(r->body);
	memcpy(r->body, body, len);
	r->in.body = r->body;
	r->in.body_len = len;
}

static inline void
sign(struct req *r, const char *secret)
{
	const struct br_wh_input *in = &r->in;
	unsigned char mac[BR_HMAC_LEN];
	struct br_hmac_part parts[] = {
		{ in->msg_id, in->msg_id ? strlen(in->msg_id) : 0 },
		{ in->msg_timestamp,
		  in->msg_timestamp ? strlen(in->msg_timestamp) : 0 },
		{ in->body, in->body_len },
	};
	/* WebSub signs the body alone */
	size_t first = in->hub_signature != NULL ? 2 : 0;

	assert_int_equal(br_hmac_sha256(secret, strlen(secret), parts + first,
	    3 - first, mac), 0);
	memcpy(r->sig, "sha256=", 7);
	br_hmac_hex(mac, sizeof mac, r->sig + 7);
	if (in->hub_signature != NULL)
		r->in.hub_signature = r->sig;
	else
		r->in.msg_signature = r->sig;
}

/* An EventSub POST of type with body, signed with SECRET, judged one
 * second after it was sent. */
static inline void
es_req(struct req *r, const char *type, const char *body)
{
	memset(r, 0, sizeof *r);
	r->in.method = "POST";
	r->in.msg_id = ID;
	r->in.msg_timestamp = TS;
	r->in.msg_type = type;
	req_body(r, body, strlen(body));
	sign(r, SECRET);
	r->in.now_ms = time_of(TS) + 1000;
}

static inline void
ws_req(struct req *r, const char *body)
{
	memset(r, 0, sizeof *r);
	r->in.method = "POST";
	r->in.hub_signature = "";
	req_body(r, body, strlen(body));
	sign(r, SECRET);
	r->in.now_ms = time_of(TS);
}

static inline void
req_free(struct req *r)
{
	free(r->body);
	r->body = NULL;
}

/* True when text holds 16 or more consecutive digits of sig. */
static inline bool
leaks(const char *text, const char *sig)
{
	char chunk[17];
	size_t n = sig ? strlen(sig) : 0;

	for (size_t i = 0; i + 16 <= n; i++) {
		memcpy(chunk, sig + i, 16);
		chunk[16] = '\0';
		if (strstr(text, chunk) != NULL)
			return true;
	}
	return false;
}

/* br_wh_judge plus the promises of webhook.h that hold for any input. */
static inline void
judge(const struct br_wh_input *in, const char *secret,
    struct br_wh_verdict *v)
{
	bool echo;

	br_wh_judge(in, secret, v);
	echo = v->action == BR_WH_CHALLENGE || v->action == BR_WH_WEBSUB_VERIFY;
	assert_int_equal(v->reason != NULL, v->action == BR_WH_REJECT);
	assert_int_equal(v->challenge != NULL, echo);
	if (v->action == BR_WH_REJECT || v->action == BR_WH_WEBSUB_VERIFY ||
	    v->action == BR_WH_WEBSUB_DENIED)
		assert_null(v->body);
	else
		assert_true(json_is_object(v->body));
	assert_non_null(memchr(v->text, '\0', sizeof v->text));
	for (const char *p = v->text; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	if (secret != NULL && *secret != '\0')
		assert_null(strstr(v->text, secret));
	assert_false(leaks(v->text, in->msg_signature));
	assert_false(leaks(v->text, in->hub_signature));
}

static inline void
expect(const struct br_wh_input *in, const char *secret,
    enum br_wh_action action, int status, const char *reason)
{
	struct br_wh_verdict v;

	judge(in, secret, &v);
	if (v.action != action || v.status != status ||
	    (reason && (!v.reason || strcmp(v.reason, reason) != 0)))
		fail_msg("want %s %d %s, got %s %d %s: %s",
		    br_wh_action_name(action), status, reason ? reason : "-",
		    br_wh_action_name(v.action), v.status,
		    v.reason ? v.reason : "-", v.text);
	br_wh_verdict_release(&v);
	br_wh_verdict_release(&v);      /* twice is harmless */
}

#endif
