/* Replays every twitch-cli capture (real signed requests, secret
 * s3cr3tvalue123) from ../shared/twitch/twitch-cli-samples next to the
 * repository, then the same bytes tampered with. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <strings.h>
#include <cmocka.h>

#include "wh_check.h"

static const char *
header(json_t *root, const char *name)
{
	const char *k;
	json_t *val;

	json_object_foreach(json_object_get(root, "headers"), k, val) {
		if (strcasecmp(k, name) == 0)
			return json_string_value(val);
	}
	return NULL;
}

static json_t *
capture_load(const char *path, struct req *r)
{
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err), *q, *raw;
	const char *ts;

	if (root == NULL)
		fail_msg("%s: %s", path, err.text);
	memset(r, 0, sizeof *r);
	r->in.method = json_string_value(json_object_get(root, "method"));
	r->in.msg_id = header(root, "Twitch-Eventsub-Message-Id");
	r->in.msg_timestamp = header(root, "Twitch-Eventsub-Message-Timestamp");
	r->in.msg_signature = header(root, "Twitch-Eventsub-Message-Signature");
	r->in.msg_type = header(root, "Twitch-Eventsub-Message-Type");
	r->in.hub_signature = header(root, "X-Hub-Signature");
	q = json_object_get(root, "query");
	r->in.hub_mode = json_string_value(json_object_get(q, "hub.mode"));
	r->in.hub_challenge = json_string_value(json_object_get(q,
	    "hub.challenge"));
	r->in.hub_topic = json_string_value(json_object_get(q, "hub.topic"));
	if ((raw = json_object_get(root, "body_raw")) != NULL)
		req_body(r, json_string_value(raw), json_string_length(raw));
	ts = r->in.msg_timestamp ? r->in.msg_timestamp :
	    header(root, "Twitch-Notification-Timestamp");
	r->in.now_ms = time_of(ts) + 1000;
	return root;
}

/* What the capture must be judged as, from what the CLI sent. */
static void
capture_want(json_t *root, const struct br_wh_input *in,
    enum br_wh_action *action, int *status, const char **challenge)
{
	json_t *body = json_object_get(root, "body");

	*action = BR_WH_REJECT;
	*challenge = NULL;
	if (strcmp(in->method, "GET") == 0) {
		*action = BR_WH_WEBSUB_VERIFY;
		*status = 200;
		*challenge = in->hub_challenge;
		return;
	}
	assert_true(json_is_true(json_object_get(root, "signature_valid")));
	*status = 204;
	if (in->msg_type == NULL)
		*action = BR_WH_WEBSUB_NOTIFICATION;
	else if (strcmp(in->msg_type, "notification") == 0)
		*action = BR_WH_NOTIFICATION;
	else if (strcmp(in->msg_type, "revocation") == 0)
		*action = BR_WH_REVOCATION;
	else if (strcmp(in->msg_type, "webhook_callback_verification") == 0) {
		*action = BR_WH_CHALLENGE;
		*status = 200;
		*challenge = json_string_value(json_object_get(body,
		    "challenge"));
		assert_non_null(*challenge);
	} else
		fail_msg("capture of unexpected type %s", in->msg_type);
}

static void
replay_one(const char *path, const char *name, int seen[])
{
	struct req r;
	struct br_wh_verdict v;
	json_t *root = capture_load(path, &r);
	enum br_wh_action want;
	int status;
	const char *challenge;

	capture_want(root, &r.in, &want, &status, &challenge);
	judge(&r.in, SECRET, &v);
	if (v.action != want || v.status != status)
		fail_msg("%s: want %s %d, got %s %d: %s", name,
		    br_wh_action_name(want), status,
		    br_wh_action_name(v.action), v.status, v.text);
	if (challenge != NULL)
		assert_string_equal(v.challenge, challenge);
	if (v.body != NULL)
		assert_true(json_equal(v.body, json_object_get(root, "body")));
	br_wh_verdict_release(&v);
	seen[want]++;

	/* the same bytes, tampered with */
	if (strcmp(r.in.method, "POST") == 0) {
		expect(&r.in, "s3cr3tvalue124", BR_WH_REJECT, 403,
		    "bad_signature");
		expect(&r.in, "", BR_WH_REJECT, 403, "no_secret");
		r.in.now_ms += 11 * MIN_MS;
		/* WebSub's timestamp is unsigned: no replay window there */
		if (r.in.msg_type != NULL)
			expect(&r.in, SECRET, BR_WH_REJECT, 403, "stale");
		else
			expect(&r.in, SECRET, want, status, NULL);
	}
	req_free(&r);
	json_decref(root);
}

static int
is_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Replays every capture in samples/<sub>; returns how many there were. */
static int
replay_dir(const char *sub, int seen[])
{
	const char *src = getenv("BR_SOURCE_DIR");
	struct dirent **names;
	char *dir;
	int n;

	if (src == NULL)
		fail_msg("BR_SOURCE_DIR is not set: run this through ctest");
	dir = br_xasprintf("%s/../shared/twitch/twitch-cli-samples/%s", src,
	    sub);
	if ((n = scandir(dir, &names, is_json, alphasort)) < 0)
		fail_msg("no twitch-cli captures at %s", dir);
	for (int i = 0; i < n; i++) {
		char *path = br_xasprintf("%s/%s", dir, names[i]->d_name);
		replay_one(path, names[i]->d_name, seen);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	return n;
}

static void
test_replay_eventsub_captures(void **state)
{
	int seen[BR_WH_WEBSUB_NOTIFICATION + 1] = { 0 };

	/* README.txt lists 000 to 032 */
	assert_int_equal(replay_dir("webhook", seen), 33);
	assert_int_equal(seen[BR_WH_CHALLENGE], 1);
	assert_int_equal(seen[BR_WH_REVOCATION], 2);
	assert_int_equal(seen[BR_WH_NOTIFICATION], 30);
}

static void
test_replay_websub_captures(void **state)
{
	int seen[BR_WH_WEBSUB_NOTIFICATION + 1] = { 0 };

	assert_int_equal(replay_dir("websub", seen), 4);
	assert_int_equal(seen[BR_WH_WEBSUB_NOTIFICATION], 3);
	assert_int_equal(seen[BR_WH_WEBSUB_VERIFY], 1);
}
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_eventsub_captures),
		cmocka_unit_test(test_replay_websub_captures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
