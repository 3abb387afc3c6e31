/*
 * The WebSocket client's input is bytes from the network: first the
 * upgrade's answer, then frames. Every byte sequence, cut anywhere,
 * must decode or be refused, never crash, leak or hand on more than it
 * may: a message over the limit, a control payload over 125 bytes. The
 * first byte picks where the input is cut (as reads cut it) and the
 * limit; the rest is tried as an answer and as a frame stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t limit;

static void
on_message(void *ctx, const char *buf, size_t len)
{
	if (len > limit || (len > 0 && buf == NULL))
		abort();
	volatile char c = len ? buf[len - 1] : 0;
	(void)c;
}

static void
on_control(void *ctx, int opcode, const unsigned char *p, size_t len)
{
	if (len > 125 || (opcode != BR_WS_PING && opcode != BR_WS_PONG &&
	    opcode != BR_WS_CLOSE))
		abort();
}

static void on_oversize(void *ctx) { (void)ctx; }
static void on_error(void *ctx, const char *what) { (void)ctx; (void)what; }

static const struct br_wsdec_hooks hooks = {
	on_message, on_control, on_oversize, on_error,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct br_wsdec d;
	unsigned char *pend;
	size_t step, plen = 0;
	char err[200];

	if (size < 1)
		return 0;
	step = (data[0] & 0x1f) + 1;
	limit = (size_t)(data[0] >> 5) * 64;
	data++;
	size--;

	size_t end = br_ws_head_end((const char *)data, size);
	if (end > 0)
		br_ws_check_answer((const char *)data, end,
		    "dGhlIHNhbXBsZSBub25jZQ==", err, sizeof err);

	pend = malloc(size + 1);
	br_wsdec_init(&d, limit, &hooks, NULL);
	for (size_t off = 0; off < size; off += step) {
		size_t take = size - off < step ? size - off : step;
		memcpy(pend + plen, data + off, take);
		plen += take;
		size_t used = br_wsdec_feed(&d, pend, plen);
		if (used > plen)
			abort();
		memmove(pend, pend + used, plen - used);
		plen -= used;
	}
	br_wsdec_free(&d);
	free(pend);
	return 0;
}
