/*
 * The WebSocket protocol as a client speaks it (RFC 6455), as pure
 * functions: the upgrade request and the check of its answer, frame
 * headers from the server, masked frames to it. No state, no I/O; wsrx.c
 * does those.
 */
#ifndef BR_WSFRAME_H
#define BR_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	BR_WS_CONT = 0x0,
	BR_WS_TEXT = 0x1,
	BR_WS_BINARY = 0x2,
	BR_WS_CLOSE = 0x8,
	BR_WS_PING = 0x9,
	BR_WS_PONG = 0xa,
};

/* A client frame's header is at most this long (2 + 8 + mask 4). */
#define BR_WS_HEAD_MAX 14
/* Sec-WebSocket-Key: base64 of 16 bytes, and its NUL. */
#define BR_WS_KEY_LEN 25

struct br_wsframe {
	bool fin;
	int opcode;
	uint64_t len;           /* payload bytes */
	size_t head;            /* header bytes before the payload */
};

/* The header of a frame from the server at buf[0..n): 1 with *f filled,
 * 0 when more bytes are needed, -1 with *err when it breaks the
 * protocol (reserved bits, a mask, an unknown opcode, a control frame
 * fragmented or over 125 bytes, a length with its top bit set). */
int br_wsframe_head(const unsigned char *buf, size_t n,
                    struct br_wsframe *f, const char **err);

/* A masked client frame of one piece into out, which holds len +
 * BR_WS_HEAD_MAX bytes; returns its length. */
size_t br_wsframe_encode(unsigned char *out, int opcode, const void *payload,
                         size_t len, uint32_t mask);

/*
 * Frames into messages: a fragmented message is put together, control
 * frames are passed on as they come (between fragments too), and a
 * message over max bytes is skipped as it streams by, never held.
 */
struct br_wsdec_hooks {
	void (*message)(void *ctx, const char *buf, size_t len);
	/* A PING, PONG or CLOSE with its payload (at most 125 bytes). */
	void (*control)(void *ctx, int opcode, const unsigned char *p,
	                size_t len);
	/* Once per message over max, as its skipping starts. */
	void (*oversize)(void *ctx);
	/* The server broke the protocol; nothing more is decoded. */
	void (*error)(void *ctx, const char *what);
};

struct br_wsdec {
	size_t max;
	const struct br_wsdec_hooks *hooks;
	void *ctx;
	bool halt;              /* a hook's wish: stop after this frame */
	bool failed;
	unsigned long long skip;/* payload of an oversize frame still to come */
	bool skip_ends_msg;
	char *buf;              /* a fragmented message so far */
	size_t len;
	bool in_msg, oversize;
};

void br_wsdec_init(struct br_wsdec *d, size_t max,
                   const struct br_wsdec_hooks *hooks, void *ctx);
/* Decodes what it can of buf[0..n) and returns how many bytes it used:
 * it stops before a frame not yet whole, after one whose hook set halt,
 * and for good at an error. The rest is the caller's to give again,
 * with what follows it. */
size_t br_wsdec_feed(struct br_wsdec *d, const unsigned char *buf, size_t n);
void br_wsdec_free(struct br_wsdec *d);

/* A fresh random key for the upgrade. */
void br_ws_new_key(char key[BR_WS_KEY_LEN]);

/* The upgrade request for host (with ":port" when not the scheme's) and
 * path into out; its length, or 0 when it does not fit. */
size_t br_ws_request(char *out, size_t size, const char *host,
                     const char *path, const char *key);

/* The length of an HTTP answer's head (through the blank line) at
 * buf[0..n), or 0 while it is not complete. */
size_t br_ws_head_end(const char *buf, size_t n);

/* Whether head (br_ws_head_end's bytes) accepts the upgrade asked with
 * key: status 101, Upgrade: websocket, Connection: upgrade and the
 * Sec-WebSocket-Accept the key calls for. 0, or -1 with a reason in
 * err (the status line when it is not 101). */
int br_ws_check_answer(const char *head, size_t len, const char *key,
                       char *err, size_t errlen);

#endif
