/*
 * The held subscriptions: a subscription's own token pair is persisted
 * 0600 with it and restored, never mirrored, and a refreshed pair is not
 * undone by the same request applied again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "subs.h"
#include "util.h"

#define TOKEN "acc_s3cr3t_one"
#define REFRESH "ref_s3cr3t_one"

static char *
temp_dir(void)
{
	char tmpl[] = "/tmp/t2m-subs-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return br_xstrdup(tmpl);
}

static void
remove_dir(char *dir)
{
	char *path = br_xasprintf("%s/subscriptions.json", dir);

	unlink(path);
	free(path);
	rmdir(dir);
	free(dir);
}

static char *
read_text(const char *dir)
{
	char *path = br_xasprintf("%s/subscriptions.json", dir), *text;

	assert_int_equal(br_read_file(path, 1 << 20, &text, NULL), 0);
	free(path);
	return text;
}

static void
test_pair_persisted_not_mirrored(void **state)
{
	char *dir = temp_dir(), *text, *path, *pub;
	struct br_subs *subs = br_subs_new(dir);
	struct br_sub *sub = br_subs_add(subs, "websocket", "1337",
	    "cool_streamer", "Cool_Streamer");
	struct stat st;

	br_sub_set_status(sub, "bits", "enabled");
	assert_true(br_sub_offer_tokens(sub, TOKEN, REFRESH));
	assert_string_equal(sub->token, TOKEN);
	assert_string_equal(sub->refresh_token, REFRESH);
	assert_non_null(sub->token_origin);
	assert_null(strstr(sub->token_origin, "s3cr3t"));
	assert_int_equal(br_subs_save(subs), 0);

	path = br_xasprintf("%s/subscriptions.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	text = read_text(dir);
	assert_non_null(strstr(text, TOKEN));
	assert_non_null(strstr(text, REFRESH));
	free(text);

	/* The mirror has neither secret, nor a key that names one. */
	json_t *mirror = br_subs_public(subs);
	pub = json_dumps(mirror, JSON_COMPACT);
	assert_null(strstr(pub, "s3cr3t"));
	assert_null(strstr(pub, "token"));
	free(pub);
	json_decref(mirror);
	br_subs_free(subs);

	/* Restored as it was. */
	subs = br_subs_new(dir);
	assert_int_equal(br_subs_load(subs), 0);
	sub = br_subs_find(subs, "websocket", "cool_streamer", NULL);
	assert_non_null(sub);
	assert_string_equal(sub->token, TOKEN);
	assert_string_equal(sub->refresh_token, REFRESH);
	assert_false(sub->token_refused);
	br_subs_free(subs);
	remove_dir(dir);
}

static void
test_refreshed_pair_survives_the_same_request(void **state)
{
	char *dir = temp_dir(), *text;
	struct br_subs *subs = br_subs_new(dir);
	struct br_sub *sub = br_subs_add(subs, "pubsub", "1337",
	    "cool_streamer", NULL);
	unsigned gen;

	assert_true(br_sub_offer_tokens(sub, TOKEN, REFRESH));
	/* Twitch rotated the pair; it keeps the origin of the request's. */
	br_sub_set_tokens(sub, "acc_s3cr3t_two", "ref_s3cr3t_two",
	    sub->token_origin);
	sub->token_refused = true;
	assert_int_equal(br_subs_save(subs), 0);
	br_subs_free(subs);

	subs = br_subs_new(dir);
	assert_int_equal(br_subs_load(subs), 0);
	sub = br_subs_find(subs, "pubsub", "cool_streamer", NULL);
	assert_non_null(sub);
	assert_string_equal(sub->refresh_token, "ref_s3cr3t_two");
	/* The configured channel, applied again at start: kept. */
	assert_false(br_sub_offer_tokens(sub, TOKEN, REFRESH));
	assert_string_equal(sub->token, "acc_s3cr3t_two");
	assert_string_equal(sub->refresh_token, "ref_s3cr3t_two");

	/* A new pair replaces it, and is not known to be refused. */
	sub->token_refused = true;
	gen = sub->token_gen;
	assert_true(br_sub_offer_tokens(sub, "acc_s3cr3t_new",
	    "ref_s3cr3t_new"));
	assert_string_equal(sub->token, "acc_s3cr3t_new");
	assert_false(sub->token_refused);
	assert_true(sub->token_gen != gen);

	/* A token alone drops the refresh token of the pair before. */
	assert_true(br_sub_offer_tokens(sub, "acc_s3cr3t_alone", NULL));
	assert_null(sub->refresh_token);
	assert_int_equal(br_subs_save(subs), 0);
	text = read_text(dir);
	assert_null(strstr(text, "ref_s3cr3t"));
	assert_null(strstr(text, "\"refresh_token\""));
	free(text);

	/* Clearing drops everything. */
	br_sub_set_tokens(sub, NULL, "ignored", "ignored");
	assert_null(sub->token);
	assert_null(sub->refresh_token);
	assert_null(sub->token_origin);
	br_subs_free(subs);
	remove_dir(dir);
}

static void
test_no_token_no_secrets(void **state)
{
	char *dir = temp_dir(), *text;
	struct br_subs *subs = br_subs_new(dir);
	struct br_sub *sub = br_subs_add(subs, "websocket", NULL, "x", NULL);

	assert_false(br_sub_offer_tokens(sub, NULL, NULL));
	assert_false(br_sub_offer_tokens(sub, "", REFRESH));
	assert_null(sub->token);
	assert_int_equal(br_subs_save(subs), 0);
	text = read_text(dir);
	assert_null(strstr(text, "token"));
	free(text);
	br_subs_free(subs);
	remove_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_persisted_not_mirrored),
		cmocka_unit_test(test_refreshed_pair_survives_the_same_request),
		cmocka_unit_test(test_no_token_no_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
