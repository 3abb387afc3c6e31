#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wsframe.h"

/* A server's (unmasked) frame into out; its length. */
static size_t
server_frame(unsigned char *out, int fin, int opcode, const void *p,
    size_t len)
{
	size_t h = 0;

	out[h++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126) {
		out[h++] = (unsigned char)len;
	} else if (len <= 0xffff) {
		out[h++] = 126;
		out[h++] = (unsigned char)(len >> 8);
		out[h++] = (unsigned char)len;
	} else {
		out[h++] = 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (unsigned char)((unsigned long long)len >> (8 * i));
	}
	memcpy(out + h, p, len);
	return h + len;
}

static int
head(const unsigned char *b, size_t n, struct br_wsframe *f)
{
	const char *err = NULL;
	int rc = br_wsframe_head(b, n, f, &err);

	if (rc < 0)
		assert_non_null(err);
	return rc;
}

static void
test_head_lengths(void **state)
{
	static unsigned char big[70000];
	unsigned char *b = malloc(70016);
	struct br_wsframe f;
	size_t n;

	n = server_frame(b, 1, BR_WS_TEXT, "hi", 2);
	assert_int_equal(head(b, 1, &f), 0);
	assert_int_equal(head(b, n, &f), 1);
	assert_true(f.fin);
	assert_int_equal(f.opcode, BR_WS_TEXT);
	assert_int_equal(f.len, 2);
	assert_int_equal(f.head, 2);

	n = server_frame(b, 0, BR_WS_BINARY, big, 300);
	assert_int_equal(head(b, 3, &f), 0);
	assert_int_equal(head(b, n, &f), 1);
	assert_false(f.fin);
	assert_int_equal(f.len, 300);
	assert_int_equal(f.head, 4);

	n = server_frame(b, 1, BR_WS_CONT, big, 70000);
	assert_int_equal(head(b, 9, &f), 0);
	assert_int_equal(head(b, n, &f), 1);
	assert_int_equal(f.len, 70000);
	assert_int_equal(f.head, 10);
	free(b);
}

static void
test_head_refuses(void **state)
{
	struct br_wsframe f;
	unsigned char rsv[] = { 0xc1, 0x00 };
	unsigned char masked[] = { 0x81, 0x80, 1, 2, 3, 4 };
	unsigned char opcode[] = { 0x83, 0x00 };
	unsigned char frag_ping[] = { 0x09, 0x00 };
	unsigned char long_close[] = { 0x88, 126, 0, 126 };
	unsigned char top[] = { 0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1 };

	assert_int_equal(head(rsv, sizeof rsv, &f), -1);
	assert_int_equal(head(masked, sizeof masked, &f), -1);
	assert_int_equal(head(opcode, sizeof opcode, &f), -1);
	assert_int_equal(head(frag_ping, sizeof frag_ping, &f), -1);
	assert_int_equal(head(long_close, sizeof long_close, &f), -1);
	assert_int_equal(head(top, sizeof top, &f), -1);
}

static void
test_encode_masks(void **state)
{
	static const size_t lens[] = { 0, 1, 125, 126, 65535, 65536 };
	unsigned char *in = malloc(65536), *out = malloc(65536 + BR_WS_HEAD_MAX);

	for (size_t i = 0; i < 65536; i++)
		in[i] = (unsigned char)(i * 7);
	for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
		size_t len = lens[k], h;
		size_t n = br_wsframe_encode(out, BR_WS_TEXT, in, len,
		    0xa1b2c3d4);
		assert_int_equal(out[0], 0x81);
		assert_true(out[1] & 0x80);
		h = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
		assert_int_equal(n, h + 4 + len);
		assert_memory_equal(out + h, "\xa1\xb2\xc3\xd4", 4);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(out[h + 4 + i] ^ out[h + (i & 3)], in[i]);
	}
	free(in);
	free(out);
}

/* What a decoder handed on, in order, as text. */
struct seen {
	char log[4096];
	int oversize, errors;
	int halt_after;         /* set halt after this many messages (0: never) */
	int messages;
	struct br_wsdec *d;
};

static void
note(struct seen *s, const char *what, const void *p, size_t len)
{
	size_t n = strlen(s->log);

	snprintf(s->log + n, sizeof s->log - n, "%s:%.*s;", what, (int)len,
	    (const char *)p);
}

static void
on_message(void *ctx, const char *buf, size_t len)
{
	struct seen *s = ctx;

	note(s, "msg", buf, len);
	if (++s->messages == s->halt_after)
		s->d->halt = true;
}

static void
on_control(void *ctx, int opcode, const unsigned char *p, size_t len)
{
	note(ctx, opcode == BR_WS_PING ? "ping" : opcode == BR_WS_PONG ?
	    "pong" : "close", p, len);
}

static void on_oversize(void *ctx) { ((struct seen *)ctx)->oversize++; }

static void
on_error(void *ctx, const char *what)
{
	((struct seen *)ctx)->errors++;
	note(ctx, "error", what, strlen(what));
}

static const struct br_wsdec_hooks hooks = {
	on_message, on_control, on_oversize, on_error,
};

/* Feeds stream[0..n) in pieces of step bytes, keeping what the decoder
 * did not use as a caller does. */
static void
feed(struct br_wsdec *d, const unsigned char *stream, size_t n, size_t step)
{
	unsigned char *pend = malloc(n + 1);
	size_t plen = 0;

	for (size_t off = 0; off < n; off += step) {
		size_t take = n - off < step ? n - off : step;
		memcpy(pend + plen, stream + off, take);
		plen += take;
		size_t used = br_wsdec_feed(d, pend, plen);
		memmove(pend, pend + used, plen - used);
		plen -= used;
	}
	free(pend);
}

static size_t
mixed_stream(unsigned char *b)
{
	size_t n = 0;

	n += server_frame(b + n, 1, BR_WS_TEXT, "a", 1);
	n += server_frame(b + n, 1, BR_WS_PING, "p", 1);
	n += server_frame(b + n, 0, BR_WS_TEXT, "he", 2);
	n += server_frame(b + n, 1, BR_WS_PING, "x", 1);
	n += server_frame(b + n, 0, BR_WS_CONT, "l", 1);
	n += server_frame(b + n, 1, BR_WS_CONT, "lo", 2);
	n += server_frame(b + n, 1, BR_WS_BINARY, "", 0);
	n += server_frame(b + n, 1, BR_WS_CLOSE, "\x0f\xa0" "bye", 5);
	return n;
}

static void
test_decoder_messages(void **state)
{
	static const char want[] = "msg:a;ping:p;ping:x;msg:hello;msg:;"
	    "close:\x0f\xa0" "bye;";
	unsigned char b[256];
	size_t n = mixed_stream(b);

	for (size_t step = 1; step <= n; step++) {
		struct seen s = { .log = "" };
		struct br_wsdec d;

		br_wsdec_init(&d, 100, &hooks, &s);
		s.d = &d;
		feed(&d, b, n, step);
		assert_string_equal(s.log, want);
		assert_int_equal(s.errors, 0);
		br_wsdec_free(&d);
	}
}

static void
test_decoder_oversize(void **state)
{
	char big[40];
	unsigned char b[256];
	size_t n = 0;

	memset(big, 'x', sizeof big);
	n += server_frame(b + n, 1, BR_WS_TEXT, big, 20);       /* one frame */
	n += server_frame(b + n, 1, BR_WS_TEXT, "ok1", 3);
	n += server_frame(b + n, 0, BR_WS_TEXT, big, 6);        /* 6 + 6 */
	n += server_frame(b + n, 1, BR_WS_PING, "p", 1);
	n += server_frame(b + n, 1, BR_WS_CONT, big, 6);
	n += server_frame(b + n, 1, BR_WS_TEXT, "ok2", 3);
	n += server_frame(b + n, 0, BR_WS_TEXT, "ab", 2);       /* 2 + 30 */
	n += server_frame(b + n, 1, BR_WS_CONT, big, 30);
	n += server_frame(b + n, 1, BR_WS_TEXT, "ok3", 3);
	for (size_t step = 1; step <= n; step++) {
		struct seen s = { .log = "" };
		struct br_wsdec d;

		br_wsdec_init(&d, 10, &hooks, &s);
		s.d = &d;
		feed(&d, b, n, step);
		assert_string_equal(s.log, "msg:ok1;ping:p;msg:ok2;msg:ok3;");
		assert_int_equal(s.oversize, 3);
		br_wsdec_free(&d);
	}
}

/* A frame's payload too large to hold is used as it comes, not kept
 * until whole. */
static void
test_decoder_skips_streaming(void **state)
{
	unsigned char hdr[10] = { 0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	unsigned char junk[4096];
	struct seen s = { .log = "" };
	struct br_wsdec d;

	memset(junk, 'j', sizeof junk);
	br_wsdec_init(&d, 1024, &hooks, &s);
	assert_int_equal(br_wsdec_feed(&d, hdr, sizeof hdr), sizeof hdr);
	assert_int_equal(s.oversize, 1);
	assert_int_equal(br_wsdec_feed(&d, junk, sizeof junk), sizeof junk);
	assert_string_equal(s.log, "");
	br_wsdec_free(&d);
}

static void
test_decoder_errors_and_halt(void **state)
{
	unsigned char b[64];
	size_t n;
	struct seen s = { .log = "" };
	struct br_wsdec d;

	n = server_frame(b, 1, BR_WS_CONT, "zz", 2);
	br_wsdec_init(&d, 100, &hooks, &s);
	br_wsdec_feed(&d, b, n);
	assert_int_equal(s.errors, 1);
	assert_int_equal(br_wsdec_feed(&d, b, n), 0);   /* failed for good */
	assert_int_equal(s.errors, 1);
	br_wsdec_free(&d);

	memset(&s, 0, sizeof s);
	n = server_frame(b, 0, BR_WS_TEXT, "a", 1);
	n += server_frame(b + n, 1, BR_WS_TEXT, "b", 1);
	br_wsdec_init(&d, 100, &hooks, &s);
	br_wsdec_feed(&d, b, n);
	assert_int_equal(s.errors, 1);
	assert_string_equal(s.log, "error:a new message inside a fragmented "
	    "one;");
	br_wsdec_free(&d);

	memset(&s, 0, sizeof s);
	n = server_frame(b, 1, BR_WS_TEXT, "a", 1);
	size_t first = n;
	n += server_frame(b + n, 1, BR_WS_TEXT, "b", 1);
	br_wsdec_init(&d, 100, &hooks, &s);
	s.d = &d;
	s.halt_after = 1;
	assert_int_equal(br_wsdec_feed(&d, b, n), first);
	assert_string_equal(s.log, "msg:a;");
	assert_int_equal(br_wsdec_feed(&d, b + first, n - first), n - first);
	assert_string_equal(s.log, "msg:a;msg:b;");
	br_wsdec_free(&d);
}

/* RFC 6455 section 1.3's example key and answer. */
static void
test_upgrade_answer(void **state)
{
	static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
	static const char good[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\n"
	    "Connection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	static const char wrong[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
	static const char no_upgrade[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	static const char refused[] = "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Length: 0\r\n\r\n";
	char err[200];

	assert_int_equal(br_ws_head_end(good, sizeof good - 3), 0);
	assert_int_equal(br_ws_head_end(good, sizeof good - 1),
	    sizeof good - 1);
	assert_int_equal(br_ws_check_answer(good, sizeof good - 1, key, err,
	    sizeof err), 0);
	assert_int_equal(br_ws_check_answer(wrong, sizeof wrong - 1, key, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "Sec-WebSocket-Accept"));
	assert_int_equal(br_ws_check_answer(no_upgrade, sizeof no_upgrade - 1,
	    key, err, sizeof err), -1);
	assert_int_equal(br_ws_check_answer(refused, sizeof refused - 1, key,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "403 Forbidden"));
}

static void
test_request_and_key(void **state)
{
	char key[BR_WS_KEY_LEN], key2[BR_WS_KEY_LEN], req[512];
	size_t n;

	br_ws_new_key(key);
	br_ws_new_key(key2);
	assert_int_equal(strlen(key), 24);
	assert_string_not_equal(key, key2);
	n = br_ws_request(req, sizeof req, "example.com:8080", "/ws?a=1", key);
	assert_true(n > 0);
	assert_int_equal(strlen(req), n);
	assert_memory_equal(req, "GET /ws?a=1 HTTP/1.1\r\n", 22);
	assert_non_null(strstr(req, "\r\nHost: example.com:8080\r\n"));
	assert_non_null(strstr(req, key));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_int_equal(br_ws_request(req, 40, "h", "/", key), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_lengths),
		cmocka_unit_test(test_head_refuses),
		cmocka_unit_test(test_encode_masks),
		cmocka_unit_test(test_decoder_messages),
		cmocka_unit_test(test_decoder_oversize),
		cmocka_unit_test(test_decoder_skips_streaming),
		cmocka_unit_test(test_decoder_errors_and_halt),
		cmocka_unit_test(test_upgrade_answer),
		cmocka_unit_test(test_request_and_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
