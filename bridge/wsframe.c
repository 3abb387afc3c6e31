#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "util.h"
#include "wsframe.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int
fail(const char **err, const char *why)
{
	*err = why;
	return -1;
}

int
br_wsframe_head(const unsigned char *buf, size_t n, struct br_wsframe *f,
    const char **err)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return 0;
	if (buf[0] & 0x70)
		return fail(err, "reserved bits set (no extension was agreed)");
	if (buf[1] & 0x80)
		return fail(err, "a masked frame from the server");
	f->fin = (buf[0] & 0x80) != 0;
	f->opcode = buf[0] & 0x0f;
	len = buf[1] & 0x7f;
	if (len == 126)
		need = 4;
	else if (len == 127)
		need = 10;
	if (n < need)
		return 0;
	if (len == 126) {
		len = (uint64_t)buf[2] << 8 | buf[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | buf[i];
		if (len >> 63)
			return fail(err, "a frame length with its top bit set");
	}
	switch (f->opcode) {
	case BR_WS_CONT: case BR_WS_TEXT: case BR_WS_BINARY:
		break;
	case BR_WS_CLOSE: case BR_WS_PING: case BR_WS_PONG:
		if (!f->fin || len > 125)
			return fail(err, "a control frame fragmented or over "
			    "125 bytes");
		break;
	default:
		return fail(err, "an unknown opcode");
	}
	f->len = len;
	f->head = need;
	return 1;
}

size_t
br_wsframe_encode(unsigned char *out, int opcode, const void *payload,
    size_t len, uint32_t mask)
{
	const unsigned char *in = payload;
	unsigned char m[4] = { mask >> 24, mask >> 16, mask >> 8, mask };
	size_t h = 0;

	out[h++] = 0x80 | (unsigned char)opcode;
	if (len < 126) {
		out[h++] = 0x80 | (unsigned char)len;
	} else if (len <= 0xffff) {
		out[h++] = 0x80 | 126;
		out[h++] = (unsigned char)(len >> 8);
		out[h++] = (unsigned char)len;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(out + h, m, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		out[h + i] = in[i] ^ m[i & 3];
	return h + len;
}

/* ---- frames into messages ---- */

void
br_wsdec_init(struct br_wsdec *d, size_t max,
    const struct br_wsdec_hooks *hooks, void *ctx)
{
	memset(d, 0, sizeof *d);
	d->max = max;
	d->hooks = hooks;
	d->ctx = ctx;
}

void
br_wsdec_free(struct br_wsdec *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = 0;
}

static void
dec_error(struct br_wsdec *d, const char *what)
{
	d->failed = true;
	d->hooks->error(d->ctx, what);
}

static void
oversize(struct br_wsdec *d)
{
	if (d->oversize)
		return;
	d->oversize = true;
	d->hooks->oversize(d->ctx);
}

static void
append(struct br_wsdec *d, const unsigned char *in, size_t len)
{
	if (!d->oversize && d->len + len > d->max)
		oversize(d);
	if (d->oversize || len == 0)
		return;
	d->buf = br_xrealloc(d->buf, d->len + len);
	memcpy(d->buf + d->len, in, len);
	d->len += len;
}

static void
end_message(struct br_wsdec *d)
{
	bool deliver = !d->oversize;

	d->in_msg = d->oversize = false;
	if (deliver)
		d->hooks->message(d->ctx, d->buf, d->len);
	free(d->buf);
	d->buf = NULL;
	d->len = 0;
}

/* Whether a data frame fits where it comes: a continuation only inside
 * a message, a new message only outside one. */
static bool
in_order(struct br_wsdec *d, const struct br_wsframe *f)
{
	if ((f->opcode == BR_WS_CONT) == d->in_msg)
		return true;
	dec_error(d, d->in_msg ? "a new message inside a fragmented one" :
	    "a continuation of no message");
	return false;
}

static void
on_frame(struct br_wsdec *d, const struct br_wsframe *f,
    const unsigned char *p)
{
	if (f->opcode >= BR_WS_CLOSE) {
		d->hooks->control(d->ctx, f->opcode, p, (size_t)f->len);
		return;
	}
	if (!in_order(d, f))
		return;
	if (f->opcode != BR_WS_CONT && f->fin) {
		d->hooks->message(d->ctx, (const char *)p, (size_t)f->len);
		return;
	}
	d->in_msg = true;
	append(d, p, (size_t)f->len);
	if (f->fin)
		end_message(d);
}

size_t
br_wsdec_feed(struct br_wsdec *d, const unsigned char *buf, size_t n)
{
	size_t pos = 0;

	d->halt = false;
	while (pos < n && !d->halt && !d->failed) {
		struct br_wsframe f;
		const char *err = NULL;
		int rc;

		if (d->skip > 0) {
			size_t take = n - pos < d->skip ? n - pos : (size_t)d->skip;
			d->skip -= take;
			pos += take;
			if (d->skip == 0 && d->skip_ends_msg)
				end_message(d);
			continue;
		}
		if ((rc = br_wsframe_head(buf + pos, n - pos, &f, &err)) < 0) {
			dec_error(d, err);
			break;
		}
		if (rc == 0)
			break;
		if (f.opcode < BR_WS_CLOSE && f.len > d->max) {
			/* Too large to hold: skipped as it streams by. */
			if (!in_order(d, &f))
				break;
			pos += f.head;
			d->in_msg = true;
			oversize(d);
			d->skip = f.len;
			d->skip_ends_msg = f.fin;
			continue;
		}
		if (n - pos - f.head < f.len)
			break;
		on_frame(d, &f, buf + pos + f.head);
		pos += f.head + (size_t)f.len;
	}
	return pos;
}

void
br_ws_new_key(char key[BR_WS_KEY_LEN])
{
	uint64_t r[2] = { br_random64(), br_random64() };

	EVP_EncodeBlock((unsigned char *)key, (const unsigned char *)r, 16);
}

size_t
br_ws_request(char *out, size_t size, const char *host, const char *path,
    const char *key)
{
	int n = snprintf(out, size,
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "User-Agent: twitch2mqtt\r\n"
	    "\r\n", *path ? path : "/", host, key);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t
br_ws_head_end(const char *buf, size_t n)
{
	for (size_t i = 3; i < n; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' &&
		    buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

static void
expected_accept(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char in[BR_WS_KEY_LEN + sizeof WS_GUID];

	snprintf(in, sizeof in, "%s%s", key, WS_GUID);
	EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* Whether the comma-separated list val[0..n) holds token, any case. */
static bool
has_token(const char *val, size_t n, const char *token)
{
	size_t tl = strlen(token), i = 0;

	while (i < n) {
		while (i < n && (val[i] == ' ' || val[i] == '\t' || val[i] == ','))
			i++;
		size_t s = i;
		while (i < n && val[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (val[e - 1] == ' ' || val[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(val + s, token, tl) == 0)
			return true;
	}
	return false;
}

static int
refuse(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

int
br_ws_check_answer(const char *head, size_t len, const char *key, char *err,
    size_t errlen)
{
	const char *end = head + len, *line = head, *nl;
	bool upgrade = false, connection = false, accept = false;
	char want[29];

	expected_accept(key, want);
	nl = memchr(line, '\n', len);
	if (nl == NULL || len < 12 || strncmp(head, "HTTP/1.1 101", 12) != 0) {
		size_t l = nl ? (size_t)(nl - head) : len;
		while (l > 0 && (head[l - 1] == '\r' || head[l - 1] == '\n'))
			l--;
		snprintf(err, errlen, "the server answered \"%.*s\", not 101",
		    (int)(l > 80 ? 80 : l), head);
		return -1;
	}
	for (line = nl + 1; line < end && (nl = memchr(line, '\n',
	    (size_t)(end - line))) != NULL; line = nl + 1) {
		const char *colon = memchr(line, ':', (size_t)(nl - line));
		const char *v, *ve = nl;
		size_t nlen;

		if (colon == NULL)
			continue;
		nlen = (size_t)(colon - line);
		for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
			;
		while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
			ve--;
		if (nlen == 7 && strncasecmp(line, "upgrade", 7) == 0)
			upgrade = has_token(v, (size_t)(ve - v), "websocket");
		else if (nlen == 10 && strncasecmp(line, "connection", 10) == 0)
			connection = has_token(v, (size_t)(ve - v), "upgrade");
		else if (nlen == 20 &&
		    strncasecmp(line, "sec-websocket-accept", 20) == 0)
			accept = (size_t)(ve - v) == strlen(want) &&
			    memcmp(v, want, strlen(want)) == 0;
	}
	if (!upgrade || !connection)
		return refuse(err, errlen, "the 101 answer lacks Upgrade: "
		    "websocket or Connection: Upgrade");
	if (!accept)
		return refuse(err, errlen, "the 101 answer has a wrong or no "
		    "Sec-WebSocket-Accept");
	return 0;
}
