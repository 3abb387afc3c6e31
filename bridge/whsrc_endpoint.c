/*
 * The webhook endpoint: every call on webhook.path, from Twitch's
 * EventSub or from a WebSub hub, is read here, judged by br_wh_judge()
 * (webhook.c), handed to its transport (whsrc.c, websub.c) and answered.
 * A notification is answered 2xx only once its event is queued for MQTT
 * (503 when the buffer is full, so that Twitch delivers it again).
 */
#include <errno.h>
#include <string.h>

#include "eventsub.h"
#include "log.h"
#include "util.h"
#include "whsrc_int.h"

void
whsrc_reject(struct br_whsrc *w, const char *reason)
{
	br_metrics_add(w->metrics, "twitch2mqtt_webhook_rejected_total", 1,
	    "reason", reason, NULL);
}

/* Header and query values copied out of lws, for the judge. */
struct wh_fields {
	char id[128], ts[64], sig[128], type[64];
	char hub_sig[128], notif_id[128], notif_ts[64];
	char mode[32], challenge[512], topic[512], reason[256];
	char channel[32], which[16], lease[24];
};

static const char *
hdr(const struct br_http_request *req, const char *name, char *buf,
    size_t size)
{
	return br_http_header(req, name, buf, size) > 0 ? buf : NULL;
}

static const char *
arg(const struct br_http_request *req, const char *name, char *buf,
    size_t size)
{
	return br_http_query(req, name, buf, size) > 0 ? buf : NULL;
}

static void
read_input(const struct br_http_request *req, struct wh_fields *f,
    struct br_wh_input *in)
{
	memset(in, 0, sizeof *in);
	in->method = req->method;
	in->msg_id = hdr(req, "twitch-eventsub-message-id", f->id, sizeof f->id);
	in->msg_timestamp = hdr(req, "twitch-eventsub-message-timestamp",
	    f->ts, sizeof f->ts);
	in->msg_signature = hdr(req, "twitch-eventsub-message-signature",
	    f->sig, sizeof f->sig);
	in->msg_type = hdr(req, "twitch-eventsub-message-type", f->type,
	    sizeof f->type);
	in->hub_signature = hdr(req, "x-hub-signature", f->hub_sig,
	    sizeof f->hub_sig);
	in->hub_mode = arg(req, "hub.mode", f->mode, sizeof f->mode);
	in->hub_challenge = arg(req, "hub.challenge", f->challenge,
	    sizeof f->challenge);
	in->hub_topic = arg(req, "hub.topic", f->topic, sizeof f->topic);
	in->hub_reason = arg(req, "hub.reason", f->reason, sizeof f->reason);
	in->body = req->body;
	in->body_len = req->body_len;
	in->now_ms = br_now_ms();
	if (!hdr(req, "twitch-notification-id", f->notif_id, sizeof f->notif_id))
		f->notif_id[0] = '\0';
	if (!hdr(req, "twitch-notification-timestamp", f->notif_ts,
	    sizeof f->notif_ts))
		f->notif_ts[0] = '\0';
	if (!arg(req, "channel", f->channel, sizeof f->channel))
		f->channel[0] = '\0';
	if (!arg(req, "topic", f->which, sizeof f->which))
		f->which[0] = '\0';
	if (!arg(req, "hub.lease_seconds", f->lease, sizeof f->lease))
		f->lease[0] = '\0';
}

static int
on_notification(struct br_whsrc *w, json_t *body, const char *id,
    const char *ts)
{
	struct br_event *ev = NULL;
	char err[256];
	int rc = br_eventsub_normalize(body, id, ts, WH_SOURCE, &ev, err,
	    sizeof err);

	if (rc == 1)
		return 0;       /* deliberately not published */
	if (rc < 0) {
		log_warn("webhook: a signed notification we cannot use: %s", err);
		return -EINVAL;
	}
	rc = br_bus_submit(w->bus, ev);
	return rc == -EEXIST ? 0 : rc;
}

static void
answer(struct br_http_response *res, int status, const char *text)
{
	br_http_reply(res, status, "text/plain; charset=utf-8", text);
}

static void
deliver(struct br_whsrc *w, const struct br_wh_verdict *v, int rc,
    struct br_http_response *res)
{
	if (rc == -ENOBUFS) {
		whsrc_reject(w, "buffer_full");
		answer(res, 503, "the event buffer is full; deliver it again "
		    "later\n");
	} else if (rc == -EINVAL) {
		whsrc_reject(w, "unprocessable");
		answer(res, 400, "the notification does not hold a usable "
		    "event\n");
	} else {
		answer(res, v->status, "");
	}
}

void
whsrc_on_request(void *ctx, const struct br_http_request *req,
    struct br_http_response *res)
{
	struct br_whsrc *w = ctx;
	struct wh_fields f;
	struct br_wh_input in;
	struct br_wh_verdict v;

	if (req->too_large) {
		/* The HTTP layer kept none of it; judged here only so the
		 * refusal is counted like every other. */
		log_warn("webhook: refused a %s call (413 too_large): body over "
		    "%d bytes", req->method, BR_WH_BODY_MAX);
		whsrc_reject(w, "too_large");
		answer(res, 413, "body too large (1 MiB at most)\n");
		return;
	}
	read_input(req, &f, &in);
	br_wh_judge(&in, w->secret, &v);
	switch (v.action) {
	case BR_WH_REJECT:
		log_warn("webhook: refused a %s call (%d %s): %s", req->method,
		    v.status, v.reason, v.text);
		whsrc_reject(w, v.reason);
		answer(res, v.status, v.text);
		break;
	case BR_WH_CHALLENGE:
		whsrc_on_challenge(w, v.body);
		answer(res, 200, v.challenge);
		break;
	case BR_WH_NOTIFICATION:
		deliver(w, &v, on_notification(w, v.body, in.msg_id,
		    in.msg_timestamp), res);
		break;
	case BR_WH_REVOCATION:
		whsrc_on_revocation(w, v.body);
		answer(res, v.status, "");
		break;
	case BR_WH_WEBSUB_VERIFY:
		websub_on_verify(w, in.hub_mode, in.hub_topic, f.channel, f.which,
		    f.lease[0] ? f.lease : NULL);
		answer(res, 200, v.challenge);
		break;
	case BR_WH_WEBSUB_DENIED:
		websub_on_denied(w, in.hub_topic, in.hub_reason);
		answer(res, 200, "");
		break;
	case BR_WH_WEBSUB_NOTIFICATION:
		deliver(w, &v, websub_on_notification(w, v.body, f.channel,
		    f.which, f.notif_id, f.notif_ts), res);
		break;
	}
	br_wh_verdict_release(&v);
}
