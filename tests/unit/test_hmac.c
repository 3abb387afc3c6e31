#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "hmac.h"

/* HMAC of one range, as lowercase hex. */
static void
hmac_hex(const void *key, size_t key_len, const void *data, size_t len,
    char hex[BR_HMAC_HEX_LEN])
{
	struct br_hmac_part part = { data, len };
	unsigned char mac[BR_HMAC_LEN];

	assert_int_equal(br_hmac_sha256(key, key_len, &part, 1, mac), 0);
	br_hmac_hex(mac, sizeof mac, hex);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void
test_rfc4231(void **state)
{
	unsigned char k1[20], k6[131];
	char hex[BR_HMAC_HEX_LEN];
	static const char d6[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(k1, 0x0b, sizeof k1);
	hmac_hex(k1, sizeof k1, "Hi There", 8, hex);
	assert_string_equal(hex,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k6, 0xaa, sizeof k6);
	hmac_hex(k6, sizeof k6, d6, sizeof d6 - 1, hex);
	assert_string_equal(hex,
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* OpenSSL reads a NULL key as "keep the old one": an empty key and an
 * empty message must still work (value from Python's hmac module). */
static void
test_empty_key_and_message(void **state)
{
	char hex[BR_HMAC_HEX_LEN];

	hmac_hex(NULL, 0, NULL, 0, hex);
	assert_string_equal(hex,
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* Ranges are one message: every split gives the same digest. */
static void
test_parts_concatenate(void **state)
{
	static const char msg[] = "what do ya want for nothing?";
	unsigned char whole[BR_HMAC_LEN], split[BR_HMAC_LEN];
	struct br_hmac_part one = { msg, sizeof msg - 1 };

	assert_int_equal(br_hmac_sha256("Jefe", 4, &one, 1, whole), 0);
	for (size_t cut = 0; cut <= sizeof msg - 1; cut++) {
		struct br_hmac_part three[] = {
			{ msg, cut }, { NULL, 0 },
			{ msg + cut, sizeof msg - 1 - cut },
		};
		assert_int_equal(br_hmac_sha256("Jefe", 4, three, 3, split), 0);
		assert_memory_equal(whole, split, sizeof whole);
	}
}

static void
test_hex_round_trip(void **state)
{
	unsigned char in[4] = { 0x00, 0x9f, 0xa0, 0xff }, out[4];
	char hex[9];

	br_hmac_hex(in, sizeof in, hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(br_hmac_unhex(hex, 8, out, sizeof out), 0);
	assert_memory_equal(in, out, sizeof in);
	assert_int_equal(br_hmac_unhex("009FA0FF", 8, out, sizeof out), 0);
	assert_memory_equal(in, out, sizeof in);
}

static void
test_unhex_refuses(void **state)
{
	unsigned char out[4];

	assert_int_equal(br_hmac_unhex("009fa0f", 7, out, sizeof out), -1);
	assert_int_equal(br_hmac_unhex("009fa0fff", 9, out, sizeof out), -1);
	assert_int_equal(br_hmac_unhex("009fa0fg", 8, out, sizeof out), -1);
	assert_int_equal(br_hmac_unhex("009f a0f", 8, out, sizeof out), -1);
	assert_int_equal(br_hmac_unhex("0x9fa0ff", 8, out, sizeof out), -1);
	assert_int_equal(br_hmac_unhex("", 0, out, 0), 0);
}

static void
test_equal(void **state)
{
	assert_true(br_hmac_equal("abcd", "abcd", 4));
	assert_false(br_hmac_equal("abcd", "abce", 4));
	assert_false(br_hmac_equal("abcd", "bbcd", 4));
	assert_true(br_hmac_equal("", "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_empty_key_and_message),
		cmocka_unit_test(test_parts_concatenate),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_unhex_refuses),
		cmocka_unit_test(test_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
