/*
 * Whole WebSocket messages and backpressure for the Twitch connections
 * (wsrx.h). Twitch's messages are small and lws hands up to the
 * protocol's rx_buffer_size at once, so nearly every message arrives in
 * one piece and is parsed where lws holds it; only the rare larger one
 * is put together in a buffer, freed again afterwards to keep idle
 * memory small.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "wsrx.h"

#define RESUME_POLL_MS 1

/* Validity checks so far out that the protocols' own liveness always
 * acts first (a client ping is even closed with 4001 on EventSub). */
static const lws_retry_bo_t no_validity = {
	.secs_since_valid_ping = 65000,
	.secs_since_valid_hangup = 65535,
};

struct lws_vhost *
br_wsrx_vhost(struct br_loop *loop, const char *name,
    const struct lws_protocols *protocols, const char *ca_file)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof info);
	info.vhost_name = name;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (ca_file != NULL && *ca_file != '\0')
		info.client_ssl_ca_filepath = ca_file;
	return lws_create_vhost(br_loop_lws(loop), &info);
}

struct lws *
br_wsrx_connect(struct br_loop *loop, struct lws_vhost *vhost,
    const char *url, const char *protocol, void *userdata, const char *who,
    const char *note)
{
	struct lws_client_connect_info i;
	char *copy = br_xstrdup(url), path[2048];
	const char *prot, *ads, *p;
	struct lws *wsi = NULL;
	int port;

	if (lws_parse_uri(copy, &prot, &ads, &port, &p) != 0) {
		log_error("%s: cannot parse the URL", who);
		goto out;
	}
	snprintf(path, sizeof path, "/%s", p);
	memset(&i, 0, sizeof i);
	i.context = br_loop_lws(loop);
	i.vhost = vhost;
	i.address = ads;
	i.host = ads;
	i.origin = ads;
	i.port = port;
	i.path = path;
	i.ssl_connection = strcmp(prot, "wss") == 0 || strcmp(prot, "https") == 0
	    ? LCCSCF_USE_SSL : 0;
	i.alpn = "http/1.1";
	i.local_protocol_name = protocol;
	i.retry_and_idle_policy = &no_validity;
	i.userdata = userdata;
	log_info("%s connecting to %s://%s:%d%s", who, prot, ads, port, note);
	wsi = lws_client_connect_via_info(&i);
out:
	free(copy);
	return wsi;
}

static void
resume_poll(void *arg)
{
	struct br_wsrx *r = arg;

	if (!r->paused || r->stopped)
		return;
	if (!br_bus_drained(r->bus)) {
		br_timer_start(&r->resume, RESUME_POLL_MS);
		return;
	}
	r->paused = false;
	if (r->hooks.resumed != NULL)
		r->hooks.resumed(r->ctx);
	lws_rx_flow_control(r->wsi, 1);
}

static void
check_backlog(struct br_wsrx *r)
{
	if (r->paused || r->stopped || !br_bus_backlogged(r->bus))
		return;
	r->paused = true;
	if (r->hooks.paused != NULL)
		r->hooks.paused(r->ctx);
	lws_rx_flow_control(r->wsi, 0);
	br_timer_start(&r->resume, RESUME_POLL_MS);
}

void
br_wsrx_init(struct br_wsrx *r, struct br_loop *loop, struct br_bus *bus,
    struct br_metrics *metrics, const char *name, size_t max,
    const struct br_wsrx_hooks *hooks, void *ctx)
{
	memset(r, 0, sizeof *r);
	r->bus = bus;
	r->metrics = metrics;
	r->name = name;
	r->max = max;
	r->hooks = *hooks;
	r->ctx = ctx;
	br_timer_init(&r->resume, loop, resume_poll, r);
}

static void
append(struct br_wsrx *r, const void *in, size_t len)
{
	if (!r->oversize && r->len + len > r->max) {
		log_warn("%s: a message over %zu bytes; skipping it", r->name,
		    r->max);
		br_metrics_add(r->metrics, "twitch2mqtt_events_dropped_total",
		    1, "reason", "oversize", NULL);
		r->oversize = true;
	}
	if (r->oversize)
		return;
	r->buf = br_xrealloc(r->buf, r->len + len + 1);
	memcpy(r->buf + r->len, in, len);
	r->len += len;
	r->buf[r->len] = '\0';
}

void
br_wsrx_receive(struct br_wsrx *r, struct lws *wsi, const void *in,
    size_t len)
{
	bool first = lws_is_first_fragment(wsi);
	bool last = lws_is_final_fragment(wsi) &&
	    !lws_remaining_packet_payload(wsi);

	if (r->stopped)
		return;
	r->wsi = wsi;
	if (first) {
		r->len = 0;
		r->oversize = false;
	}
	if (first && last && len <= r->max) {
		r->hooks.message(r->ctx, in, len);
	} else {
		append(r, in, len);
		if (!last)
			return;
		if (!r->oversize)
			r->hooks.message(r->ctx, r->buf, r->len);
		free(r->buf);
		r->buf = NULL;
		r->len = 0;
	}
	check_backlog(r);
}

bool
br_wsrx_paused(const struct br_wsrx *r)
{
	return r->paused;
}

/* Keeps the buffer: a hook may stop us while the message in it is
 * still being read. */
void
br_wsrx_stop(struct br_wsrx *r)
{
	r->stopped = true;
	r->paused = false;
	br_timer_stop(&r->resume);
}

void
br_wsrx_free(struct br_wsrx *r)
{
	br_wsrx_stop(r);
	free(r->buf);
	r->buf = NULL;
}
