#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define MAX_ROUTES 8
#define HEADER_ROOM 1024

struct route {
	char method[8];
	char *path;
	br_http_handler fn;
	void *ctx;
};

struct br_http {
	struct br_loop *loop;
	struct lws_vhost *vhost;
	struct route routes[MAX_ROUTES];
	size_t n_routes;
	char *iface;
};

/* Per connection, allocated and zeroed by lws. */
struct conn {
	struct lws *wsi;
	const struct route *route;
	char method[8];
	char path[256];
	char *in;
	size_t in_len;
	bool too_big;
	bool answered;          /* this request's answer is out */
	struct br_http_response res;
	size_t out_off;
};

static struct br_http *
http_of(struct lws *wsi)
{
	return lws_get_vhost_user(lws_get_vhost(wsi));
}

static const struct route *
find_route(struct br_http *h, const char *method, const char *path,
    bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < h->n_routes; i++) {
		if (strcmp(h->routes[i].path, path) != 0)
			continue;
		*path_known = true;
		if (strcmp(h->routes[i].method, method) == 0)
			return &h->routes[i];
	}
	return NULL;
}

/*
 * The answer is written whole from the writable callback, head and body
 * together, and the transaction completed there at once. Writing the head
 * at dispatch and the body later let a keep-alive client that had its
 * whole answer (a 204 has no body) send its next request while lws still
 * stood in the old one's body state with nothing left to read: lws then
 * announced the old body's completion again, the old request was handled
 * again (a duplicate) and its answer taken for the new one's, over and
 * over, spinning the loop.
 */
static int
start_reply(struct conn *c)
{
	c->out_off = 0;
	lws_callback_on_writable(c->wsi);
	return 0;
}

static int
write_head(struct conn *c)
{
	unsigned char buf[LWS_PRE + HEADER_ROOM];
	unsigned char *start = &buf[LWS_PRE], *p = start, *end = &buf[sizeof buf - 1];

	if (lws_add_http_common_headers(c->wsi, (unsigned)c->res.status,
	    c->res.content_type ? c->res.content_type : "text/plain",
	    c->res.len, &p, end))
		return -1;
	if (lws_add_http_header_by_name(c->wsi,
	    (const unsigned char *)"cache-control:",
	    (const unsigned char *)"no-store", 8, &p, end))
		return -1;
	if (lws_finalize_write_http_header(c->wsi, start, &p, end))
		return -1;
	return 0;
}

static int
write_body(struct conn *c)
{
	/* The head goes with the first chunk, which is never empty unless
	 * it is the whole (empty) answer. */
	if (c->out_off == 0 && write_head(c))
		return -1;
	size_t left = c->res.len - c->out_off, chunk = left > 16384 ? 16384 : left;
	unsigned char *buf = br_xmalloc(LWS_PRE + chunk + 1);
	int final = chunk == left;

	memcpy(buf + LWS_PRE, c->res.body ? c->res.body + c->out_off : "", chunk);
	int n = lws_write(c->wsi, buf + LWS_PRE, chunk,
	    final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
	free(buf);
	if (n < (int)chunk)
		return -1;
	c->out_off += chunk;
	if (!final) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	/* Answered: a late writable callback finds nothing to send. */
	free(c->res.body);
	memset(&c->res, 0, sizeof c->res);
	c->answered = true;
	return lws_http_transaction_completed(c->wsi) ? -1 : 0;
}

static void
conn_reset(struct conn *c)
{
	free(c->in);
	free(c->res.body);
	c->in = NULL;
	c->res.body = NULL;
	c->in_len = c->out_off = 0;
	c->too_big = false;
	c->answered = false;
	c->route = NULL;
}

static int
dispatch(struct conn *c)
{
	struct br_http_request req = { c->method, c->path,
		c->in && !c->too_big ? c->in : "", c->too_big ? 0 : c->in_len,
		c->too_big, c };

	memset(&c->res, 0, sizeof c->res);
	c->route->fn(c->route->ctx, &req, &c->res);
	if (c->res.status == 0 && c->too_big)
		br_http_reply(&c->res, 413, "text/plain",
		    "body too large (1 MiB at most)\n");
	else if (c->res.status == 0)
		br_http_reply(&c->res, 500, "text/plain", "no answer\n");
	return start_reply(c);
}

/* Over BR_HTTP_BODY_MAX: what came is dropped and the rest will be
 * discarded as it arrives; the route is told, so that it can count the
 * refusal, and answers at once. */
static int
refuse_too_large(struct conn *c)
{
	c->too_big = true;
	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	return dispatch(c);
}

static int
fail_status(struct conn *c, int status, const char *text)
{
	br_http_reply(&c->res, status, "text/plain", text);
	return start_reply(c);
}

static int
on_request(struct conn *c, struct lws *wsi, const char *uri)
{
	struct br_http *h = http_of(wsi);
	bool known;

	conn_reset(c);
	c->wsi = wsi;
	snprintf(c->method, sizeof c->method, "%s",
	    lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? "POST" :
	    lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0 ? "GET" : "OTHER");
	snprintf(c->path, sizeof c->path, "%s", uri ? uri : "/");
	c->route = find_route(h, c->method, c->path, &known);
	if (c->route == NULL)
		return fail_status(c, known ? 405 : 404,
		    known ? "method not allowed\n" : "not found\n");
	if (strcmp(c->method, "POST") != 0)
		return dispatch(c);
	char len[32];
	if (lws_hdr_copy(wsi, len, sizeof len, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    strtoull(len, NULL, 10) > BR_HTTP_BODY_MAX)
		return refuse_too_large(c);
	return 0;       /* the body follows */
}

static int
on_body(struct conn *c, const void *in, size_t len)
{
	if (c->too_big)
		return 0;
	if (c->in_len + len > BR_HTTP_BODY_MAX)
		return refuse_too_large(c);
	c->in = br_xrealloc(c->in, c->in_len + len + 1);
	memcpy(c->in + c->in_len, in, len);
	c->in_len += len;
	c->in[c->in_len] = '\0';
	return 0;
}

static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_request(c, wsi, in) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		return on_body(c, in, len) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* Once per request: lws may announce it again while the
		 * answer is on its way (a client sending ahead). */
		if (c->too_big || c->route == NULL || c->res.status != 0 ||
		    c->answered)
			return 0;
		return dispatch(c) ? -1 : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (c == NULL || c->res.status == 0)
			return 0;
		return write_body(c) ? -1 : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c != NULL)
			conn_reset(c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols http_protocols[] = {
	{ "http", http_callback, sizeof(struct conn), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int
split_listen(const char *listen, char **iface, int *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;

	if (colon == NULL)
		return -1;
	long p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	const char *host = listen;
	size_t n = (size_t)(colon - listen);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	*iface = n > 0 ? br_xstrndup(host, n) : NULL;
	return 0;
}

struct br_http *
br_http_new(struct br_loop *loop, const char *listen, const char *cert_file,
    const char *key_file)
{
	struct br_http *h = br_xcalloc(1, sizeof *h);
	struct lws_context_creation_info info;
	int port;

	h->loop = loop;
	if (split_listen(listen, &h->iface, &port) < 0) {
		log_error("http: cannot use listen address '%s'", listen);
		goto fail;
	}
	memset(&info, 0, sizeof info);
	info.vhost_name = "http";
	info.port = port;
	info.iface = h->iface;
	info.protocols = http_protocols;
	info.user = h;
	info.keepalive_timeout = 5;
	info.timeout_secs = 10;
	if (cert_file && *cert_file && key_file && *key_file) {
		info.ssl_cert_filepath = cert_file;
		info.ssl_private_key_filepath = key_file;
		info.alpn = "http/1.1";
		/* lws reads this from the vhost's own options: without it
		 * the vhost silently serves plain HTTP despite the cert. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	}
	h->vhost = lws_create_vhost(br_loop_lws(loop), &info);
	if (h->vhost == NULL) {
		log_error("http: cannot listen on %s", listen);
		goto fail;
	}
	log_info("http: listening on %s%s", listen, info.ssl_cert_filepath ?
	    " (TLS)" : "");
	return h;
fail:
	br_http_free(h);
	return NULL;
}

void
br_http_free(struct br_http *h)
{
	if (h == NULL)
		return;
	if (h->vhost != NULL)
		lws_vhost_destroy(h->vhost);
	for (size_t i = 0; i < h->n_routes; i++)
		free(h->routes[i].path);
	free(h->iface);
	free(h);
}

void
br_http_route(struct br_http *h, const char *method, const char *path,
    br_http_handler fn, void *ctx)
{
	if (h->n_routes == MAX_ROUTES)
		return;
	struct route *r = &h->routes[h->n_routes++];
	snprintf(r->method, sizeof r->method, "%s", method);
	r->path = br_xstrdup(path);
	r->fn = fn;
	r->ctx = ctx;
}

int
br_http_header(const struct br_http_request *req, const char *name,
    char *buf, size_t size)
{
	struct conn *c = req->conn;
	char key[128];
	int n = snprintf(key, sizeof key, "%s:", name);

	if (n < 0 || (size_t)n >= sizeof key)
		return -1;
	int len = lws_hdr_custom_length(c->wsi, key, n);
	if (len < 0 || (size_t)len >= size)
		return -1;
	return lws_hdr_custom_copy(c->wsi, buf, (int)size, key, n) < 0 ? -1 : len;
}

int
br_http_query(const struct br_http_request *req, const char *name, char *buf,
    size_t size)
{
	struct conn *c = req->conn;
	char key[128];

	/* lws matches the "name=" prefix of each decoded argument, copying
	 * each into the buffer in turn, and stops at the first one that does
	 * not fit: so it gets room for the longest (all of them), and only
	 * the value found must fit the caller's buffer. Otherwise a long
	 * argument (a hub.topic URL, a challenge) before the one asked for
	 * hides it. */
	if (snprintf(key, sizeof key, "%s=", name) >= (int)sizeof key)
		return -1;
	int all = lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_URI_ARGS);
	if (all <= 0)
		return -1;
	char *tmp = br_xmalloc((size_t)all + 1);
	const char *v = lws_get_urlarg_by_name(c->wsi, key, tmp, all + 1);
	size_t n = v ? strlen(v) : 0;
	int rc = -1;
	if (v != NULL && n < size) {
		memcpy(buf, v, n + 1);
		rc = (int)n;
	}
	free(tmp);
	return rc;
}

void
br_http_reply(struct br_http_response *res, int status,
    const char *content_type, const char *text)
{
	free(res->body);
	res->status = status;
	res->content_type = content_type;
	res->body = br_xstrdup(text);
	res->len = strlen(text);
}
