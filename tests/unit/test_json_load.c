/*
 * br_json_loadb against jansson's json_loadb(buf, len, 0, err): for every
 * input both accept or both refuse, and what they accept is the same
 * value (compared as json_dumps text with JSON_PRESERVE_ORDER, so types,
 * strings and key order all count). The fast path must also really be
 * taken for what Twitch sends: every EventSub fixture and WebSocket
 * sample. Then a few hundred thousand mutations of all of these.
 *
 * Fixtures come from the shared research directory next to the
 * repository ($BR_SOURCE_DIR/../shared/twitch), as in test_eventsub.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event.h"
#include "shared_path.h"
#include "util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *
dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
}

/* The property. Returns 1 when the fast path took the input. */
static int
check(const char *buf, size_t len)
{
	json_error_t e1, e2;
	json_t *want = json_loadb(buf, len, 0, &e1);
	json_t *fast = br_json_loadb_fast(buf, len);
	json_t *got = br_json_loadb(buf, len, &e2);
	int took = fast != NULL;

	if (fast != NULL && want == NULL)
		fail_msg("fast path accepts what jansson refuses (%s): %.*s",
		    e1.text, (int)(len > 300 ? 300 : len), buf);
	if ((got == NULL) != (want == NULL))
		fail_msg("br_json_loadb %s what jansson %s: %.*s",
		    got ? "accepts" : "refuses", want ? "accepts" : "refuses",
		    (int)(len > 300 ? 300 : len), buf);
	if (want != NULL) {
		char *a = dump(want), *b = dump(got);
		if (strcmp(a, b) != 0)
			fail_msg("values differ:\njansson %s\nours    %s", a, b);
		if (fast != NULL) {
			char *c = dump(fast);
			assert_string_equal(a, c);
			free(c);
		}
		free(a);
		free(b);
	} else {
		/* The error is jansson's own. */
		assert_string_equal(e1.text, e2.text);
		assert_int_equal(e1.position, e2.position);
	}
	json_decref(want);
	json_decref(fast);
	json_decref(got);
	return took;
}

static int
check_str(const char *s)
{
	return check(s, strlen(s));
}

static const char *const valid[] = {
	"{}", "[]", " \t\r\n{ } \n", "[1,2,3]", "[[[[]]]]", "{\"a\":{}}",
	"{\"a\":1,\"b\":2,\"a\":3}",            /* later duplicate wins */
	"{\"\":\"\"}", "[\"\"]",
	"[0,-0,1,-1,9223372036854775807,-9223372036854775808]",
	"[0.0,-0.0,1.5,-1.5e3,1e-400,2E+10,0.1e1,123456789.123456789]",
	"[true,false,null]",
	"[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]",
	"[\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\uD83D\\uDE00\\u003c3\"]",
	"[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"]",
	"{\"caf\xc3\xa9\":1}",
	"{\"k\":[1,{\"x\":[null,\"y\"]},true]}",
	"{\"message\":\"Cheer100 bench_us=1795310077966982\",\"bits\":100}",
};

static const char *const invalid[] = {
	"", " ", "1", "\"a\"", "true", "null", "{", "[", "}", "]", "{]",
	"[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}",
	"{\"a\":1,}", "{,}", "[1 2]", "[1]x", "[1] [2]", "{} {}",
	"[01]", "[-01]", "[1.]", "[.5]", "[-]", "[1e]", "[1e+]", "[+1]",
	"[0x10]", "[1.5e999]", "[-1e999]", "[9223372036854775808]",
	"[-9223372036854775809]", "[NaN]", "[Infinity]", "[tru]", "[nul]",
	"[truex]", "[True]", "[\"a]", "[\"a\\\"]", "[\"\\x\"]", "[\"\\u12\"]",
	"[\"\\u12G4\"]", "[\"\\u0000\"]", "{\"\\u0000\":1}",
	"[\"\\ud83d\"]", "[\"\\ud83dx\"]", "[\"\\ud83d\\u0041\"]",
	"[\"\\ude00\"]", "[\"\\ud83d\\ud83d\"]", "[\"a\nb\"]", "[\"a\tb\"]",
	"[\"\x01\"]", "[\"\x1f\"]",
	"[\"\xc3\"]", "[\"\xc3\x28\"]", "[\"\xc0\xaf\"]", "[\"\xc1\xbf\"]",
	"[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf0\x82\x82\xac\"]",
	"[\"\xf4\x90\x80\x80\"]", "[\"\xf5\x80\x80\x80\"]", "[\"\xff\"]",
	"[\"\x80\"]", "[\xc3\xa9]", "{\"a\":1}\xc3",
};

static void
test_valid(void **state)
{
	for (size_t i = 0; i < N(valid); i++)
		assert_int_equal(check_str(valid[i]), 1);
	/* With its length: a NUL byte ends nothing. */
	check("[1]\0", 4);
	check("[\"a\0b\"]", 7);
	check("\0[1]", 4);
	/* Left to jansson, and still the same value: escaped keys, long
	 * numbers. */
	assert_int_equal(check_str("{\"a\\u0062\":1,\"\\n\":2}"), 0);
	assert_int_equal(check_str("[0.00000000000000000000000000000000000000"
	    "000000000000000000000000000000000001]"), 0);
}

static void
test_invalid(void **state)
{
	for (size_t i = 0; i < N(invalid); i++)
		assert_int_equal(check_str(invalid[i]), 0);
}

/* Nesting: the fast path leaves deep documents to jansson, which has a
 * limit of its own (2048). */
static void
test_depth(void **state)
{
	static const size_t depths[] = { 1, 100, 255, 256, 257, 2047, 2048,
		2049, 5000 };

	for (size_t i = 0; i < N(depths); i++) {
		size_t d = depths[i];
		char *s = malloc(2 * d + 2), *t = s;
		for (size_t k = 0; k < d; k++)
			*t++ = '[';
		for (size_t k = 0; k < d; k++)
			*t++ = ']';
		*t = '\0';
		check_str(s);
		/* and with a scalar inside, one level deeper */
		memmove(s + d + 1, s + d, d + 1);
		s[d] = '1';
		check_str(s);
		free(s);
	}
}

/* ---- Twitch's messages ---- */

static char **seeds;
static size_t n_seeds;

static void
add_seed(const char *s, size_t len)
{
	seeds = realloc(seeds, (n_seeds + 1) * sizeof *seeds);
	seeds[n_seeds] = malloc(len + 1);
	memcpy(seeds[n_seeds], s, len);
	seeds[n_seeds][len] = '\0';
	n_seeds++;
}

static char *
read_all(const char *path, size_t *len)
{
	char *buf = NULL;

	if (br_read_file(path, 1 << 22, &buf, len) < 0)
		fail_msg("cannot read %s", path);
	return buf;
}

/* Every EventSub fixture as a WebSocket notification, in the shape and
 * field order Twitch sends. */
static void
test_fixtures(void **state)
{
	char *path = shared_path("twitch/eventsub-fixtures.json");
	size_t len;
	char *text = read_all(path, &len);
	json_t *all = json_loadb(text, len, 0, NULL);
	const char *type;
	json_t *body;

	assert_non_null(all);
	assert_int_equal(check(text, len), 1);
	add_seed(text, len);
	json_object_foreach(all, type, body) {
		json_t *msg = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}, s:O}",
		    "metadata", "message_id", "befa7b53-d79d-478f-86b9-120f112b044e",
		    "message_type", "notification", "message_timestamp",
		    "2023-07-19T10:11:12.634234626Z", "subscription_type", type,
		    "subscription_version", "1", "payload", body);
		char *s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
		assert_int_equal(check_str(s), 1);
		add_seed(s, strlen(s));
		/* and pretty-printed, with escapes where jansson writes them */
		free(s);
		s = json_dumps(msg, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH);
		assert_int_equal(check_str(s), 1);
		free(s);
		json_decref(msg);
	}
	json_decref(all);
	free(text);
	free(path);
}

/* twitch-cli's captures of its WebSocket server, byte for byte. */
static void
test_cli_samples(void **state)
{
	char *dir = shared_path("twitch/twitch-cli-samples/websocket");
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), len;
		if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		char *path = br_xasprintf("%s/%s", dir, e->d_name);
		char *text = read_all(path, &len);
		check(text, len);
		add_seed(text, len);
		free(text);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n > 0);
}

/* ---- mutations ---- */

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const char *const dict[] = {
	"\\u", "\\ud83d", "\\ude00", "\\u0000", "\\", "\"", "\\\"", "\xc3",
	"\xc3\xa9", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98\x80",
	"1e999", "-", "0", "01", ".", "e", "[", "]", "{", "}", ",", ":",
	"true", "nul", "\n", "\t", "\x01", "\x7f", "9223372036854775808",
	"\"a\":", "[[[[[[[[", "]]]]]]]]", " ",
};

static size_t
mutate(char *buf, size_t len, size_t cap, const char *seed, size_t slen)
{
	size_t n = slen < cap ? slen : cap;

	memcpy(buf, seed, n);
	len = n;
	for (int k = 0, m = 1 + (int)(next() % 4); k < m; k++) {
		size_t at = len ? next() % (len + 1) : 0;
		switch (next() % 6) {
		case 0:         /* flip a byte */
			if (at < len)
				buf[at] = (char)next();
			break;
		case 1:         /* delete a few bytes */
			if (at < len) {
				size_t del = 1 + next() % 8;
				if (del > len - at)
					del = len - at;
				memmove(buf + at, buf + at + del, len - at - del);
				len -= del;
			}
			break;
		case 2:         /* truncate */
			len = at;
			break;
		default: {      /* insert a token */
			const char *t = dict[next() % N(dict)];
			size_t tl = strlen(t);
			if (len + tl > cap)
				break;
			memmove(buf + at + tl, buf + at, len - at);
			memcpy(buf + at, t, tl);
			len += tl;
			break;
		}
		}
	}
	return len;
}

static void
test_mutations(void **state)
{
	size_t cap = 40000;
	char *buf = malloc(cap);
	long took = 0, runs = 0;

	for (size_t i = 0; i < N(valid); i++)
		add_seed(valid[i], strlen(valid[i]));
	assert_true(n_seeds > N(valid));
	for (int round = 0; round < 20000; round++) {
		for (size_t i = 0; i < n_seeds && runs < 300000; i++) {
			/* the big fixture file is slow under ASan: rarely */
			size_t slen = strlen(seeds[i]);
			if (slen > 4000 && next() % 64 != 0)
				continue;
			size_t len = mutate(buf, 0, cap, seeds[i], slen);
			took += check(buf, len);
			runs++;
		}
		if (runs >= 300000)
			break;
	}
	print_message("%ld mutations, fast path took %ld\n", runs, took);
	assert_true(took > 0);
	free(buf);
	for (size_t i = 0; i < n_seeds; i++)
		free(seeds[i]);
	free(seeds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_cli_samples),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
