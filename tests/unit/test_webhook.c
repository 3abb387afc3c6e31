/* br_wh_judge on generated requests: every rule of webhook.h, each way
 * to get a request wrong, and the edges of the replay window. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ctype.h>
#include <cmocka.h>

#include "wh_check.h"

/* ---- EventSub, generated ---- */

static void
test_doc_vector(void **state)
{
	struct req r;
	struct br_wh_verdict v;

	es_req(&r, "notification", DOC_BODY);
	assert_string_equal(r.sig, DOC_SIG);    /* our signer agrees */
	judge(&r.in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_NOTIFICATION);
	assert_int_equal(v.status, 204);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    v.body, "subscription"), "type")), "stream.offline");
	br_wh_verdict_release(&v);
	req_free(&r);
}

static void
test_tampering(void **state)
{
	struct req r;

	es_req(&r, "notification", DOC_BODY);
	expect(&r.in, "s3cr3tvalue12", BR_WH_REJECT, 403, "bad_signature");
	/* every single flipped body byte */
	for (size_t i = 0; i < r.in.body_len; i++) {
		r.body[i] ^= 0x20;
		expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
		r.body[i] ^= 0x20;
	}
	r.in.body_len--;                        /* truncated */
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.in.body_len++;
	r.in.msg_timestamp = "2024-05-01T12:00:00.123456788Z";
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.in.msg_timestamp = TS;
	r.in.msg_id = "e5a4c7b0-1111-4a2b-9c3d-000000000002";
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.in.msg_id = ID;
	expect(&r.in, SECRET, BR_WH_NOTIFICATION, 204, NULL);
	req_free(&r);
}

static void
test_replay_window(void **state)
{
	struct req r;
	int64_t t = time_of(TS);

	es_req(&r, "notification", DOC_BODY);
	r.in.now_ms = t + 11 * MIN_MS;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	r.in.now_ms = t - 11 * MIN_MS;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	r.in.now_ms = t + 10 * MIN_MS;          /* "older than 10 minutes" */
	expect(&r.in, SECRET, BR_WH_NOTIFICATION, 204, NULL);
	r.in.now_ms = t + 10 * MIN_MS + 1;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	r.in.now_ms = t - 10 * MIN_MS;
	expect(&r.in, SECRET, BR_WH_NOTIFICATION, 204, NULL);
	r.in.now_ms = t - 10 * MIN_MS - 1;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	r.in.now_ms = INT64_MIN;                /* no overflow either way */
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	r.in.now_ms = INT64_MAX;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
	/* a forged signature is refused as such even when also stale */
	r.in.msg_signature = DOC_SIG "0";
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	req_free(&r);
}

/* Any fraction from 0 to 9 digits, and offsets; the string as sent is
 * what is signed. */
static void
test_timestamp_forms(void **state)
{
	static const char *const ok[] = { "2024-05-01T12:00:00Z",
		"2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.1234567Z",
		"2024-05-01T14:00:00.123+02:00" };
	static const char *const bad[] = { "yesterday", "2024-05-01",
		"2024-05-01T12:00:00.1234567890Z", "2024-05-01T12:00:00",
		"2024-13-01T12:00:00Z" };
	struct req r;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		es_req(&r, "notification", DOC_BODY);
		r.in.msg_timestamp = ok[i];
		sign(&r, SECRET);
		r.in.now_ms = time_of(TS) + 1000;
		expect(&r.in, SECRET, BR_WH_NOTIFICATION, 204, NULL);
		req_free(&r);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		es_req(&r, "notification", DOC_BODY);
		r.in.msg_timestamp = bad[i];
		sign(&r, SECRET);
		expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
		req_free(&r);
	}
}

static void
test_missing_headers(void **state)
{
	struct req r;
	const char **fields[] = { &r.in.msg_id, &r.in.msg_timestamp,
		&r.in.msg_signature, &r.in.msg_type };

	es_req(&r, "notification", DOC_BODY);
	for (size_t i = 0; i < 4; i++) {
		const char *keep = *fields[i];
		*fields[i] = NULL;
		expect(&r.in, SECRET, BR_WH_REJECT, 403, "missing_headers");
		*fields[i] = "";
		expect(&r.in, SECRET, BR_WH_REJECT, 403, "missing_headers");
		/* an X-Hub-Signature does not turn it into WebSub */
		r.in.hub_signature = WS_SIG;
		expect(&r.in, SECRET, BR_WH_REJECT, 403, "missing_headers");
		r.in.hub_signature = NULL;
		*fields[i] = keep;
	}
	r.in.msg_id = r.in.msg_timestamp = r.in.msg_signature = NULL;
	r.in.msg_type = NULL;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "missing_headers");
	req_free(&r);
}

/* Decision: hex digits of either case are the same 256 bits and are
 * accepted; the "sha256=" prefix is lowercase as Twitch sends it. */
static void
test_signature_forms(void **state)
{
	struct req r;
	char sig[BR_HMAC_HEX_LEN + 8];

	es_req(&r, "notification", DOC_BODY);
	memcpy(sig, r.sig, sizeof sig);
	r.in.msg_signature = sig;
	for (char *p = sig + 7; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	expect(&r.in, SECRET, BR_WH_NOTIFICATION, 204, NULL);
	r.in.msg_signature = r.sig + 7;         /* no prefix */
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	memcpy(sig, "SHA256=", 7);
	memcpy(sig + 7, r.sig + 7, BR_HMAC_HEX_LEN);
	r.in.msg_signature = sig;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	memcpy(sig, "sha1=", 5);
	memcpy(sig + 5, r.sig + 7, BR_HMAC_HEX_LEN);
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	memcpy(sig, r.sig, sizeof sig);
	sig[strlen(sig) - 1] = '\0';            /* 63 digits */
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	memcpy(sig, r.sig, sizeof sig);
	sig[7] = 'g';
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.in.msg_signature = "sha256=";
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	req_free(&r);
}

static void
test_bodies(void **state)
{
	static const char garbage[] = "\x00\xff\xfe{\"challenge\":\x01";
	static const char *const not_objects[] = { "[1,2]", "null", "\"x\"",
		"{\"a\":1} trailing", "{\"a\":\"\\u0000\"}",
		"{\"\xc3\xa9\r\n\x01\": tru\x01}" };
	struct req r;

	es_req(&r, "notification", DOC_BODY);
	req_body(&r, garbage, sizeof garbage - 1);
	sign(&r, SECRET);
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	req_body(&r, "", 0);                    /* empty, signed */
	sign(&r, SECRET);
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	r.in.body = NULL;                       /* no body at all */
	r.in.body_len = 12345;                  /* must not be trusted */
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	r.in.msg_signature = DOC_SIG;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0];
	    i++) {
		req_body(&r, not_objects[i], strlen(not_objects[i]));
		sign(&r, SECRET);
		expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	}
	req_free(&r);
}

static void
test_large_bodies(void **state)
{
	struct req r;
	size_t big = 2 * 1024 * 1024;
	char *blob = malloc(big);

	assert_non_null(blob);
	memset(blob, 'a', big);
	es_req(&r, "notification", DOC_BODY);
	req_body(&r, blob, big);
	sign(&r, SECRET);
	expect(&r.in, SECRET, BR_WH_REJECT, 413, "too_large");
	/* exactly the limit is judged on: signed, but not JSON */
	r.in.body_len = BR_WH_BODY_MAX;
	sign(&r, SECRET);
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	r.in.hub_signature = r.in.msg_signature;
	r.in.msg_id = r.in.msg_timestamp = r.in.msg_signature = NULL;
	r.in.msg_type = NULL;
	r.in.body_len = big;
	expect(&r.in, SECRET, BR_WH_REJECT, 413, "too_large");
	req_free(&r);
	free(blob);
}

static void
test_message_types(void **state)
{
	struct req r;
	struct br_wh_verdict v;

	es_req(&r, "webhook_callback_verification",
	    "{\"challenge\":\"pogchamp-kappa-360noscope-vohiyo\","
	    "\"subscription\":{\"type\":\"channel.cheer\"}}");
	judge(&r.in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_CHALLENGE);
	assert_int_equal(v.status, 200);
	assert_string_equal(v.challenge, "pogchamp-kappa-360noscope-vohiyo");
	br_wh_verdict_release(&v);
	req_free(&r);

	es_req(&r, "webhook_callback_verification", "{\"challenge\":42}");
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_challenge");
	req_free(&r);
	es_req(&r, "webhook_callback_verification", "{\"challenge\":\"\"}");
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_challenge");
	req_free(&r);
	es_req(&r, "webhook_callback_verification", "{}");
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_challenge");
	req_free(&r);

	es_req(&r, "revocation", "{\"subscription\":{\"type\":\"channel.raid\","
	    "\"status\":\"authorization_revoked\"}}");
	judge(&r.in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_REVOCATION);
	assert_int_equal(v.status, 204);
	assert_non_null(strstr(v.text, "status=authorization_revoked"));
	br_wh_verdict_release(&v);
	req_free(&r);

	es_req(&r, "sparkle", DOC_BODY);
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "unknown_type");
	req_free(&r);
	/* peer bytes cannot forge log lines (judge() checks printable) */
	es_req(&r, "notification\r\nlevel=fatal \x01\xff", DOC_BODY);
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "unknown_type");
	req_free(&r);
}

static void
test_long_id_is_cut_in_text(void **state)
{
	struct req r;
	struct br_wh_verdict v;
	char *id = malloc(10000);

	assert_non_null(id);
	memset(id, 'x', 9999);
	id[9999] = '\0';
	es_req(&r, "notification", DOC_BODY);
	r.in.msg_id = id;
	sign(&r, SECRET);
	judge(&r.in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_NOTIFICATION);
	assert_true(strlen(v.text) < 200);
	br_wh_verdict_release(&v);
	req_free(&r);
	free(id);
}

static void
test_no_secret_no_method(void **state)
{
	struct req r;

	es_req(&r, "notification", DOC_BODY);
	expect(&r.in, NULL, BR_WH_REJECT, 403, "no_secret");
	expect(&r.in, "", BR_WH_REJECT, 403, "no_secret");
	r.in.method = "PUT";
	expect(&r.in, SECRET, BR_WH_REJECT, 405, "bad_method");
	r.in.method = NULL;
	expect(&r.in, SECRET, BR_WH_REJECT, 405, "bad_method");
	req_free(&r);
}

/* ---- WebSub, generated ---- */

static void
test_websub_get(void **state)
{
	struct br_wh_input in = { .method = "GET", .hub_mode = "subscribe",
		.hub_challenge = "c-123", .hub_topic = "https://api.twitch.tv/"
		"helix/users/follows?first=1&to_id=1337" };
	struct br_wh_verdict v;

	judge(&in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_WEBSUB_VERIFY);
	assert_int_equal(v.status, 200);
	assert_ptr_equal(v.challenge, in.hub_challenge);
	br_wh_verdict_release(&v);
	in.hub_mode = "unsubscribe";
	expect(&in, SECRET, BR_WH_WEBSUB_VERIFY, 200, NULL);
	expect(&in, NULL, BR_WH_REJECT, 403, "no_secret");
	in.hub_challenge = "";
	expect(&in, SECRET, BR_WH_REJECT, 400, "bad_request");
	in.hub_challenge = NULL;
	expect(&in, SECRET, BR_WH_REJECT, 400, "bad_request");

	in.hub_mode = "denied";
	in.hub_reason = "unauthorized";
	judge(&in, SECRET, &v);
	assert_int_equal(v.action, BR_WH_WEBSUB_DENIED);
	assert_int_equal(v.status, 200);
	assert_non_null(strstr(v.text, "reason=unauthorized"));
	br_wh_verdict_release(&v);

	in.hub_mode = "\x7f\x01garbage";
	in.hub_challenge = "c-123";
	expect(&in, SECRET, BR_WH_REJECT, 400, "bad_request");
	in.hub_mode = NULL;
	expect(&in, SECRET, BR_WH_REJECT, 400, "bad_request");
}

static void
test_websub_post(void **state)
{
	struct req r;

	ws_req(&r, "{\"data\":[]}");
	assert_string_equal(r.sig, WS_SIG);     /* eventsub.md 7 vector */
	expect(&r.in, SECRET, BR_WH_WEBSUB_NOTIFICATION, 204, NULL);
	r.in.now_ms = 0;                        /* no window: unsigned time */
	expect(&r.in, SECRET, BR_WH_WEBSUB_NOTIFICATION, 204, NULL);
	expect(&r.in, "wrong-secret", BR_WH_REJECT, 403, "bad_signature");
	r.body[2] = 'D';
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.body[2] = 'd';
	r.in.hub_signature = r.sig + 7;       /* no prefix */
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "bad_signature");
	r.in.hub_signature = NULL;
	expect(&r.in, SECRET, BR_WH_REJECT, 403, "missing_headers");
	req_free(&r);

	ws_req(&r, "{\"data\":{}}");
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	req_free(&r);
	ws_req(&r, "[]");
	expect(&r.in, SECRET, BR_WH_REJECT, 400, "bad_json");
	req_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_vector),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_timestamp_forms),
		cmocka_unit_test(test_missing_headers),
		cmocka_unit_test(test_signature_forms),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_large_bodies),
		cmocka_unit_test(test_message_types),
		cmocka_unit_test(test_long_id_is_cut_in_text),
		cmocka_unit_test(test_no_secret_no_method),
		cmocka_unit_test(test_websub_get),
		cmocka_unit_test(test_websub_post),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
