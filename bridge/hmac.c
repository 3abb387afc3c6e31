#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "hmac.h"

/*
 * EVP_MAC rather than HMAC_CTX: the latter is deprecated in OpenSSL 3 and
 * the one-shot HMAC() cannot take the message in several ranges.
 */
int
br_hmac_sha256(const void *key, size_t key_len,
    const struct br_hmac_part *parts, size_t n,
    unsigned char out[BR_HMAC_LEN])
{
	static char digest[] = "SHA256";
	/* OpenSSL takes a NULL key as "keep the previous key", so an empty
	 * key must still be a real pointer. */
	static const unsigned char empty_key[1];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	int rc = -1;

	memset(out, 0, BR_HMAC_LEN);
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	if (!EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].len == 0)
			continue;
		if (!EVP_MAC_update(ctx, parts[i].data, parts[i].len))
			goto out;
	}
	if (!EVP_MAC_final(ctx, out, &out_len, BR_HMAC_LEN) ||
	    out_len != BR_HMAC_LEN)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, BR_HMAC_LEN);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

void
br_hmac_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
br_hmac_unhex(const char *hex, size_t hex_len, unsigned char *out,
    size_t len)
{
	if (hex_len != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

bool
br_hmac_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
