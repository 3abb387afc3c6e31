/*
 * Private to the webhook sources: whsrc_endpoint.c (the HTTP endpoint),
 * whsrc.c (EventSub webhook subscriptions) and websub.c (the legacy hub).
 */
#ifndef BR_WHSRC_INT_H
#define BR_WHSRC_INT_H

#include "webhook.h"
#include "whsrc.h"
#include "wants.h"

#define WH_SOURCE "eventsub-webhook"
/* A subscribe request waits this long for Twitch's (or the hub's)
 * verification before it is answered "..._pending". */
#define VERIFY_WAIT_MS 10000
#define WS_SOURCE "websub"

struct br_whsrc {
	struct br_loop *loop;
	struct br_bus *bus;
	struct br_helix *helix;
	struct br_auth *auth;
	struct br_subs *subs;
	struct br_metrics *metrics;
	struct br_http *http;
	struct br_source_hooks hooks;
	char *path, *public_url, *secret, *api_url;
	bool has_app;
	struct br_wants *eventsub;      /* transport "webhook" */
	struct br_wants *websub;        /* transport "websub" */
	json_t *verified;               /* ids challenged before their 202 */
	bool listed, listing;           /* Twitch's list read at start */
	struct br_timer deadline;       /* answers requests still verifying */
	struct br_timer renew;          /* WebSub leases */
};

/* whsrc_endpoint.c */
void whsrc_reject(struct br_whsrc *w, const char *reason);
/* The http route for webhook.path (POST and GET); ctx is the whsrc. */
void whsrc_on_request(void *ctx, const struct br_http_request *req,
                      struct br_http_response *res);

/* whsrc.c */
const char *whsrc_missing(struct br_whsrc *w, bool websub);
/* A verified EventSub challenge or revocation on the endpoint. */
void whsrc_on_challenge(struct br_whsrc *w, json_t *body);
void whsrc_on_revocation(struct br_whsrc *w, json_t *body);
/* Both transports: resolve the channel with the app token, make the
 * wants, then next(w) to create them. */
const char *whsrc_begin(struct br_whsrc *w, struct br_wants *ws, bool websub,
                        void (*next)(void *w), struct br_sub *sub,
                        char *const *events, size_t n, br_source_done done,
                        void *arg);

/* websub.c */
void websub_init(struct br_whsrc *w);
void websub_release(struct br_whsrc *w);
struct br_source websub_source(struct br_whsrc *w);
/* A verified WebSub call on the endpoint; fills the answer. */
void websub_on_verify(struct br_whsrc *w, const char *mode, const char *topic,
                      const char *channel, const char *which,
                      const char *lease_seconds);
void websub_on_denied(struct br_whsrc *w, const char *topic,
                      const char *reason);
/* 0 accepted (or a duplicate), -ENOBUFS buffer full, -EINVAL unusable. */
int websub_on_notification(struct br_whsrc *w, json_t *body,
                           const char *channel, const char *which,
                           const char *notification_id,
                           const char *timestamp);

#endif
