/* Webhook requests come from anyone who can reach webhook.path: every
 * header and body must be judged without a crash or a read past the
 * body. Input: a flags byte, then up to nine '\n'-separated fields
 *   msg_id msg_timestamp msg_signature msg_type hub_signature
 *   hub_mode hub_challenge hub_topic hub_reason
 * and the rest is the body. Flags may re-sign the body with the secret
 * (so the JSON and type paths are reached, not only bad_signature) and
 * set the clock to the message's own timestamp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "util.h"
#include "webhook.h"

#define SECRET  "s3cr3tvalue123"
#define NFIELDS 9

enum {
	F_GET = 1 << 0,         /* method GET, else POST */
	F_SIGN = 1 << 1,        /* replace the signature by a correct one */
	F_CLOCK = 1 << 2,       /* now = the message's timestamp + 1 s */
	F_WEBSUB = 1 << 3,      /* F_SIGN signs as WebSub (body only) */
	F_NOSECRET = 1 << 4,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sign(struct br_wh_input *in, char sig[BR_HMAC_HEX_LEN + 7], bool websub)
{
	unsigned char mac[BR_HMAC_LEN];
	struct br_hmac_part parts[] = {
		{ in->msg_id, in->msg_id ? strlen(in->msg_id) : 0 },
		{ in->msg_timestamp,
		  in->msg_timestamp ? strlen(in->msg_timestamp) : 0 },
		{ in->body, in->body_len },
	};
	size_t first = websub ? 2 : 0;

	if (br_hmac_sha256(SECRET, strlen(SECRET), parts + first, 3 - first,
	    mac) != 0)
		abort();
	memcpy(sig, "sha256=", 7);
	br_hmac_hex(mac, sizeof mac, sig + 7);
	if (websub)
		in->hub_signature = sig;
	else
		in->msg_signature = sig;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[NFIELDS] = { NULL }, *body;
	char sig[BR_HMAC_HEX_LEN + 7];
	const char *p, *end = (const char *)data + size, *nl;
	struct br_wh_input in = { 0 };
	struct br_wh_verdict v;
	int64_t t;
	uint8_t flags;

	if (size == 0)
		return 0;
	flags = data[0];
	p = (const char *)data + 1;
	for (int i = 0; i < NFIELDS && p < end; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		field[i] = br_xstrndup(p, (size_t)(nl - p));
		p = nl + 1;
	}
	/* exactly the body's bytes, so ASan sees any read past body_len */
	body = br_xmalloc(end > p ? (size_t)(end - p) : 1);
	memcpy(body, p, (size_t)(end - p));

	in.method = flags & F_GET ? "GET" : "POST";
	in.msg_id = field[0];
	in.msg_timestamp = field[1];
	in.msg_signature = field[2];
	in.msg_type = field[3];
	in.hub_signature = field[4];
	in.hub_mode = field[5];
	in.hub_challenge = field[6];
	in.hub_topic = field[7];
	in.hub_reason = field[8];
	in.body = body;
	in.body_len = (size_t)(end - p);
	in.now_ms = 1714564800000LL;            /* 2024-05-01T12:00:00Z */
	if ((flags & F_CLOCK) && br_parse_time(in.msg_timestamp, &t) == 0)
		in.now_ms = t + 1000;
	if (flags & F_SIGN)
		sign(&in, sig, (flags & F_WEBSUB) != 0);

	br_wh_judge(&in, flags & F_NOSECRET ? NULL : SECRET, &v);
	if ((v.action == BR_WH_REJECT) != (v.reason != NULL))
		abort();
	if (v.challenge != NULL && strlen(v.challenge) == 0)
		abort();
	for (const char *c = v.text; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f)
			abort();
	br_wh_verdict_release(&v);

	for (int i = 0; i < NFIELDS; i++)
		free(field[i]);
	free(body);
	return 0;
}
