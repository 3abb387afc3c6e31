/*
 * The HTTP server on http.listen: a tiny router over a libwebsockets
 * vhost. Handlers run on the loop thread and answer at once.
 */
#ifndef BR_HTTP_H
#define BR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

#define BR_HTTP_BODY_MAX (1024 * 1024)

struct br_http;

struct br_http_request {
	const char *method;     /* "GET", "POST" */
	const char *path;       /* without the query */
	const char *body;       /* POST only; NUL-terminated */
	size_t body_len;
	/* POST whose body is over BR_HTTP_BODY_MAX: body is empty (what came
	 * is not kept); the handler counts it and answers (413 if it does
	 * not). */
	bool too_large;
	void *conn;             /* for br_http_header / br_http_query */
};

struct br_http_response {
	int status;
	const char *content_type;
	char *body;             /* malloc'd; the server frees it */
	size_t len;
};

typedef void (*br_http_handler)(void *ctx, const struct br_http_request *req,
                                struct br_http_response *res);

/* listen: "host:port" (host may be empty: every address). With cert_file
 * and key_file (PEM) the listener speaks TLS; NULL or "" for plain HTTP
 * behind a reverse proxy. */
struct br_http *br_http_new(struct br_loop *loop, const char *listen,
                            const char *cert_file, const char *key_file);
void br_http_free(struct br_http *h);

/* Exact path; method "GET" or "POST". */
void br_http_route(struct br_http *h, const char *method, const char *path,
                   br_http_handler fn, void *ctx);

/* Header by its lower-case name without the colon; its length, or -1 when
 * absent or longer than size - 1. */
int br_http_header(const struct br_http_request *req, const char *name,
                   char *buf, size_t size);
/* Query argument; its length, or -1. */
int br_http_query(const struct br_http_request *req, const char *name,
                  char *buf, size_t size);

/* Sets res to status with a copy of text. */
void br_http_reply(struct br_http_response *res, int status,
                   const char *content_type, const char *text);

#endif
