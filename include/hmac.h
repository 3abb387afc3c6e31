/*
 * HMAC-SHA256 for webhook signatures, with OpenSSL. Pure: no state, no
 * I/O.
 */
#ifndef BR_HMAC_H
#define BR_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define BR_HMAC_LEN     32                      /* SHA-256 digest bytes */
#define BR_HMAC_HEX_LEN (2 * BR_HMAC_LEN + 1)   /* lowercase hex + NUL */

/* One byte range of the signed message; the message is the ranges in
 * order, so EventSub's id + timestamp + body need no concatenated copy. */
struct br_hmac_part {
	const void *data;       /* may be NULL when len is 0 */
	size_t len;
};

/* out = HMAC-SHA256(key, parts[0] || ... || parts[n-1]). A key of any
 * length, including 0. 0, or -1 when OpenSSL fails (out is zeroed). */
int br_hmac_sha256(const void *key, size_t key_len,
                   const struct br_hmac_part *parts, size_t n,
                   unsigned char out[BR_HMAC_LEN]);

/* Lowercase hex of len bytes; out must hold 2 * len + 1 bytes. */
void br_hmac_hex(const unsigned char *in, size_t len, char *out);

/* Decodes exactly 2 * len hex digits of either case from hex into out.
 * 0, or -1 on any other length or a non-hex byte. Not constant time:
 * it only ever sees what the peer sent, never the secret. */
int br_hmac_unhex(const char *hex, size_t hex_len, unsigned char *out,
                  size_t len);

/* Constant-time equality (CRYPTO_memcmp), for comparing a digest we
 * computed with one the peer sent. */
bool br_hmac_equal(const void *a, const void *b, size_t len);

#endif
