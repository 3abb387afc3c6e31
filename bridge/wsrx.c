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
