/*
 * The Twitch WebSocket client (wsrx.h). A connection goes CONNECTING (TCP,
 * TLS) -> UPGRADING (request sent, answer awaited) -> OPEN, and GONE once
 * lws closed the descriptor. Whatever ends it goes through lws (an async
 * kill), so the gone hook always comes from the loop, once, last.
 *
 * Frames are handled where they were read; only a frame cut by the end of
 * a read, a fragmented message, or what is left when reading pauses is
 * copied, into buffers freed again when they empty, so an idle connection
 * holds little.
 */
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "log.h"
#include "netconn.h"
#include "util.h"
#include "wsframe.h"
#include "wsrx.h"

#define READ_CHUNK 65536
#define ANSWER_MAX 16384
#define OPEN_TIMEOUT_S 20
#define RESUME_POLL_MS 1

enum { WS_IDLE, WS_CONNECTING, WS_UPGRADING, WS_OPEN, WS_GONE };

struct br_wsrx_out {
	struct br_wsrx_out *next;
	size_t len, off;
	bool request;           /* the upgrade: goes before the socket is open */
	bool close_after;       /* our echo of a close frame */
	unsigned char data[];
};

struct br_wsrx_net {
	struct lws_vhost *vhost;
	char *ca_file;
	struct br_tls *tls;     /* made at the first wss:// */
	unsigned char rbuf[READ_CHUNK];
};

static void consume(struct br_wsrx *r, unsigned char *buf, size_t n);
static void flush(struct br_wsrx *r);

/* ---- ending ---- */

static void
kill_conn(struct br_wsrx *r, const char *why)
{
	if (r->closing || r->wsi == NULL)
		return;
	r->closing = true;
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "%s", why);
	br_timer_stop(&r->resume);
	lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void
protocol_error(struct br_wsrx *r, const char *what)
{
	log_warn("%s: the server broke the WebSocket protocol (%s); "
	    "dropping the connection", r->name, what);
	br_metrics_add(r->metrics, "twitch2mqtt_events_dropped_total", 1,
	    "reason", "malformed", NULL);
	kill_conn(r, what);
}

static void
out_free(struct br_wsrx_out *o)
{
	explicit_bzero(o->data, o->len);
	free(o);
}

static void
out_free_all(struct br_wsrx *r)
{
	while (r->out != NULL) {
		struct br_wsrx_out *o = r->out;
		r->out = o->next;
		out_free(o);
	}
	r->out_tail = &r->out;
}

static void
on_closed(struct br_wsrx *r)
{
	if (r->why[0] == '\0' && r->state == WS_OPEN)
		snprintf(r->why, sizeof r->why, "closed");
	else if (r->why[0] == '\0')
		snprintf(r->why, sizeof r->why, "no WebSocket within %d s",
		    OPEN_TIMEOUT_S);

	/* lws calls back once more as it frees the wsi (WSI_DESTROY),
	 * after the owner may have freed us. */
	lws_set_opaque_user_data(r->wsi, NULL);
	r->state = WS_GONE;
	r->wsi = NULL;
	r->closing = true;
	br_timer_stop(&r->resume);
	br_netconn_free(r->conn);
	r->conn = NULL;
	out_free_all(r);
	r->hooks.gone(r->ctx, r->why);
}

/* ---- sending ---- */

/* A new last item of cap bytes, for the caller to fill. */
static struct br_wsrx_out *
enqueue(struct br_wsrx *r, size_t cap, bool request, bool close_after)
{
	struct br_wsrx_out *o = br_xmalloc(sizeof *o + cap);

	*o = (struct br_wsrx_out){ .len = cap, .request = request,
		.close_after = close_after };
	*r->out_tail = o;
	r->out_tail = &o->next;
	return o;
}

static void
send_frame(struct br_wsrx *r, int opcode, const void *payload, size_t len,
    bool close_after)
{
	struct br_wsrx_out *o = enqueue(r, len + BR_WS_HEAD_MAX, false,
	    close_after);

	o->len = br_wsframe_encode(o->data, opcode, payload, len,
	    (uint32_t)br_random64());
	flush(r);
}

static void
flush(struct br_wsrx *r)
{
	char err[200];

	while (r->out != NULL && r->conn != NULL && !r->closing) {
		struct br_wsrx_out *o = r->out;
		/* The upgrade once connected, the rest once it is done. */
		if (r->state != (o->request ? WS_UPGRADING : WS_OPEN))
			return;
		ssize_t n = br_netconn_write(r->conn, o->data + o->off,
		    o->len - o->off, err, sizeof err);
		if (n < 0) {
			kill_conn(r, err);
			return;
		}
		o->off += (size_t)n;
		if (o->off < o->len) {
			lws_callback_on_writable(r->wsi);
			return;
		}
		if ((r->out = o->next) == NULL)
			r->out_tail = &r->out;
		bool close_after = o->close_after;
		out_free(o);
		if (close_after)
			kill_conn(r, "closed by the server");
	}
}

void
br_wsrx_send_text(struct br_wsrx *r, const char *text, size_t len)
{
	if (r->state == WS_GONE || r->closing)
		return;
	send_frame(r, BR_WS_TEXT, text, len, false);
}

/* ---- backpressure ---- */

static void
read_more(struct br_wsrx *r)
{
	char err[200];

	while (!r->paused && !r->closing && !r->peer_closed) {
		unsigned char *dst = r->net->rbuf;
		if (r->in_len > 0) {
			if (r->in_cap - r->in_len < READ_CHUNK) {
				r->in_cap = r->in_len + READ_CHUNK;
				r->in = br_xrealloc(r->in, r->in_cap);
			}
			dst = r->in + r->in_len;
		}
		ssize_t n = br_netconn_read(r->conn, dst, READ_CHUNK, err,
		    sizeof err);
		r->read_full = n == READ_CHUNK;
		if (n < 0) {
			kill_conn(r, err);
			return;
		}
		if (n == 0) {
			if (br_netconn_read_wants_write(r->conn))
				lws_callback_on_writable(r->wsi);
			return;
		}
		if (dst == r->net->rbuf) {
			consume(r, dst, (size_t)n);
		} else {
			r->in_len += (size_t)n;
			consume(r, r->in, r->in_len);
		}
		/* Plain TCP: the next poll says when there is more. TLS may
		 * hold bytes already read, which no poll will announce. */
		if (!br_netconn_pending(r->conn))
			return;
	}
}

static void
resume_poll(void *arg)
{
	struct br_wsrx *r = arg;

	if (!r->paused || r->closing)
		return;
	if (!br_bus_drained(r->bus)) {
		br_timer_start(&r->resume, RESUME_POLL_MS);
		return;
	}
	r->paused = false;
	if (r->hooks.resumed != NULL)
		r->hooks.resumed(r->ctx);
	if (r->in_len > 0)
		consume(r, r->in, r->in_len);
	if (r->paused || r->closing)
		return;
	lws_rx_flow_control(r->wsi, 1);
	read_more(r);
}

static void
check_backlog(struct br_wsrx *r)
{
	if (r->paused || r->closing || !br_bus_backlogged(r->bus))
		return;
	r->paused = true;
	if (r->hooks.paused != NULL)
		r->hooks.paused(r->ctx);
	lws_rx_flow_control(r->wsi, 0);
	br_timer_start(&r->resume, RESUME_POLL_MS);
}

/* ---- receiving ---- */

static void
dec_message(void *arg, const char *buf, size_t len)
{
	struct br_wsrx *r = arg;

	if (r->closing || r->peer_closed)
		return;
	r->hooks.message(r->ctx, buf, len);
	check_backlog(r);
	r->dec.halt = r->paused || r->closing;
}

static void
dec_control(void *arg, int opcode, const unsigned char *p, size_t len)
{
	struct br_wsrx *r = arg;
	int code = len >= 2 ? p[0] << 8 | p[1] : 0;

	if (opcode == BR_WS_PING) {
		send_frame(r, BR_WS_PONG, p, len, false);
	} else if (opcode == BR_WS_CLOSE && !r->peer_closed) {
		if (r->hooks.peer_close != NULL)
			r->hooks.peer_close(r->ctx, code, (const char *)p +
			    (len >= 2 ? 2 : 0), len >= 2 ? len - 2 : 0);
		/* Nothing more is read; the code is echoed and the socket
		 * goes once it is written (or in 2 s if it cannot be). */
		r->peer_closed = true;
		r->dec.halt = true;
		snprintf(r->why, sizeof r->why, "closed by the server");
		lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, 2);
		send_frame(r, BR_WS_CLOSE, p, len >= 2 ? 2 : 0, true);
	}
	r->dec.halt = r->dec.halt || r->closing;
}

static void
dec_oversize(void *arg)
{
	struct br_wsrx *r = arg;

	log_warn("%s: a message over %zu bytes; skipping it", r->name,
	    r->dec.max);
	br_metrics_add(r->metrics, "twitch2mqtt_events_dropped_total", 1,
	    "reason", "oversize", NULL);
}

static void
dec_error(void *arg, const char *what)
{
	protocol_error(arg, what);
}

static const struct br_wsdec_hooks dec_hooks = {
	dec_message, dec_control, dec_oversize, dec_error,
};

/* The upgrade's answer; how many bytes it took (0: incomplete). */
static size_t
on_answer(struct br_wsrx *r, const unsigned char *buf, size_t n)
{
	size_t end = br_ws_head_end((const char *)buf, n);
	char err[160];

	if (end == 0) {
		if (n > ANSWER_MAX)
			protocol_error(r, "an upgrade answer over 16 KiB");
		return 0;
	}
	if (br_ws_check_answer((const char *)buf, end, r->key, err,
	    sizeof err) != 0) {
		log_warn("%s: the upgrade failed: %s", r->name, err);
		kill_conn(r, err);
		return end;
	}
	r->state = WS_OPEN;
	lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0);
	r->hooks.open(r->ctx);
	flush(r);
	return end;
}

/* Keeps buf[pos..n) for later in r->in (buf may be r->in itself). */
static void
keep(struct br_wsrx *r, unsigned char *buf, size_t pos, size_t n)
{
	size_t left = n - pos;

	if (buf == r->in) {
		memmove(r->in, r->in + pos, left);
	} else if (left > 0) {
		if (r->in_cap < left + READ_CHUNK) {
			r->in_cap = left + READ_CHUNK;
			r->in = br_xrealloc(r->in, r->in_cap);
		}
		memcpy(r->in, buf + pos, left);
	}
	r->in_len = left;
	/* Emptied by a read that did not fill it: the connection is not
	 * busy, and an idle one should hold nothing. A busy one keeps its
	 * buffer rather than allocating it again read after read. */
	if (left == 0 && !r->read_full) {
		free(r->in);
		r->in = NULL;
		r->in_cap = 0;
	}
}

static void
consume(struct br_wsrx *r, unsigned char *buf, size_t n)
{
	size_t pos = 0;

	if (r->state == WS_UPGRADING && (pos = on_answer(r, buf, n)) == 0)
		goto out;
	if (!r->paused && !r->closing && !r->peer_closed)
		pos += br_wsdec_feed(&r->dec, buf + pos, n - pos);
out:
	if (r->state != WS_GONE)
		keep(r, buf, pos, n);
}

/* ---- connecting ---- */

static void
step_connect(struct br_wsrx *r)
{
	char err[200];
	bool want_write;
	int rc = br_netconn_handshake(r->conn, &want_write, err, sizeof err);

	if (rc < 0) {
		log_warn("%s: %s", r->name, err);
		kill_conn(r, err);
		return;
	}
	if (rc == 0) {
		if (want_write)
			lws_callback_on_writable(r->wsi);
		return;
	}
	r->state = WS_UPGRADING;
	flush(r);
}

static int
wsrx_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct br_wsrx *r = lws_get_opaque_user_data(wsi);

	if (r == NULL || r->wsi != wsi)
		return 0;
	if (r->stopped && reason != LWS_CALLBACK_RAW_CLOSE_FILE)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (r->state == WS_CONNECTING)
			step_connect(r);
		else if (!r->paused)
			read_more(r);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (r->state == WS_CONNECTING) {
			step_connect(r);
			break;
		}
		flush(r);
		if (r->conn != NULL && br_netconn_read_wants_write(r->conn) &&
		    !r->paused)
			read_more(r);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		on_closed(r);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols wsrx_protocols[] = {
	{ "br-wsrx", wsrx_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

struct br_wsrx_net *
br_wsrx_net_new(struct br_loop *loop, const char *name, const char *ca_file)
{
	struct br_wsrx_net *net = br_xcalloc(1, sizeof *net);
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof info);
	info.vhost_name = name;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = wsrx_protocols;
	if ((net->vhost = lws_create_vhost(br_loop_lws(loop), &info)) == NULL) {
		log_error("%s: cannot create the libwebsockets vhost", name);
		free(net);
		return NULL;
	}
	net->ca_file = ca_file != NULL && *ca_file != '\0' ?
	    br_xstrdup(ca_file) : NULL;
	return net;
}

/* The vhost goes with the lws context. */
void
br_wsrx_net_free(struct br_wsrx_net *net)
{
	if (net == NULL)
		return;
	br_tls_free(net->tls);
	free(net->ca_file);
	free(net);
}

void
br_wsrx_init(struct br_wsrx *r, struct br_wsrx_net *net, struct br_loop *loop,
    struct br_bus *bus, struct br_metrics *metrics, const char *name,
    size_t max, const struct br_wsrx_hooks *hooks, void *ctx)
{
	memset(r, 0, sizeof *r);
	r->net = net;
	r->bus = bus;
	r->metrics = metrics;
	r->name = name;
	r->hooks = *hooks;
	r->ctx = ctx;
	r->out_tail = &r->out;
	br_wsdec_init(&r->dec, max, &dec_hooks, r);
	br_timer_init(&r->resume, loop, resume_poll, r);
}

static int
adopt(struct br_wsrx *r)
{
	lws_adopt_desc_t d;

	memset(&d, 0, sizeof d);
	d.vh = r->net->vhost;
	d.type = LWS_ADOPT_RAW_FILE_DESC;
	d.fd.filefd = br_netconn_fd(r->conn);
	d.vh_prot_name = "br-wsrx";
	d.opaque = r;
	/* Adopted or not, the descriptor is lws's to close now. */
	br_netconn_disown_fd(r->conn);
	r->wsi = lws_adopt_descriptor_vhost_via_info(&d);
	return r->wsi != NULL ? 0 : -1;
}

int
br_wsrx_open(struct br_wsrx *r, const char *url, const char *who,
    const char *note)
{
	char *copy = br_xstrdup(url), err[200], host[300], path[1024];
	char req[2048];
	const char *prot, *ads, *p;
	size_t n;
	int port, rc = -1;
	bool tls;

	if (lws_parse_uri(copy, &prot, &ads, &port, &p) != 0) {
		log_error("%s: cannot parse the URL", who);
		goto out;
	}
	tls = strcmp(prot, "wss") == 0 || strcmp(prot, "https") == 0;
	if (tls && r->net->tls == NULL &&
	    (r->net->tls = br_tls_new(r->net->ca_file)) == NULL)
		goto out;
	log_info("%s connecting to %s://%s:%d%s", who, prot, ads, port, note);
	r->conn = br_netconn_open(ads, port, tls ? r->net->tls : NULL, err,
	    sizeof err);
	if (r->conn == NULL) {
		log_warn("%s: %s", who, err);
		goto out;
	}
	if (port == (tls ? 443 : 80))
		snprintf(host, sizeof host, "%s", ads);
	else
		snprintf(host, sizeof host, "%s:%d", ads, port);
	snprintf(path, sizeof path, "/%s", p);
	br_ws_new_key(r->key);
	if ((n = br_ws_request(req, sizeof req, host, path, r->key)) == 0) {
		log_error("%s: the URL is too long", who);
		goto out;
	}
	/* The upgrade is the first thing sent: nothing is queued yet. */
	memcpy(enqueue(r, n, true, false)->data, req, n);
	if (adopt(r) != 0) {
		log_warn("%s: libwebsockets did not take the socket", who);
		goto out;
	}
	r->state = WS_CONNECTING;
	lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, OPEN_TIMEOUT_S);
	lws_callback_on_writable(r->wsi);
	rc = 0;
out:
	if (rc != 0) {
		br_netconn_free(r->conn);
		r->conn = NULL;
		out_free_all(r);
	}
	free(copy);
	return rc;
}

bool br_wsrx_paused(const struct br_wsrx *r) { return r->paused; }

bool
br_wsrx_live(const struct br_wsrx *r)
{
	return r->wsi != NULL && !r->closing;
}

void
br_wsrx_stop(struct br_wsrx *r)
{
	r->stopped = true;
	r->paused = false;
	br_timer_stop(&r->resume);
	if (r->wsi != NULL)
		lws_rx_flow_control(r->wsi, 0);
}

void
br_wsrx_close(struct br_wsrx *r)
{
	r->paused = false;
	kill_conn(r, "dropped");
}

void
br_wsrx_free(struct br_wsrx *r)
{
	br_timer_stop(&r->resume);
	br_netconn_free(r->conn);
	r->conn = NULL;
	out_free_all(r);
	br_wsdec_free(&r->dec);
	free(r->in);
	r->in = NULL;
}
