/*
 * The webhook sources: the HTTP endpoint on webhook.path that Twitch
 * calls (EventSub webhooks and legacy WebSub), and the two transports
 * whose subscriptions deliver there: "webhook" (EventSub subscriptions
 * made with the app token, webhook.public_url as callback) and "websub"
 * (the legacy hub, with leases renewed before they end).
 */
#ifndef BR_WHSRC_H
#define BR_WHSRC_H

#include "auth.h"
#include "bus.h"
#include "helix.h"
#include "http.h"
#include "loop.h"
#include "metrics.h"
#include "source.h"
#include "subs.h"

struct br_whsrc_options {
	const char *path;               /* webhook.path */
	const char *public_url;         /* webhook.public_url */
	const char *secret;             /* webhook.secret */
	const char *api_url;            /* twitch.api_url: the WebSub hub lives there */
	bool has_app_credentials;       /* client id and secret configured */
};

struct br_whsrc;

/* http may be NULL (no http.listen): the transports then refuse requests
 * with a sentence saying so. */
struct br_whsrc *br_whsrc_new(struct br_loop *loop, struct br_bus *bus,
                              struct br_helix *helix, struct br_auth *auth,
                              struct br_subs *subs, struct br_metrics *metrics,
                              struct br_http *http,
                              const struct br_whsrc_options *opts,
                              const struct br_source_hooks *hooks);
void br_whsrc_free(struct br_whsrc *w);

struct br_source br_whsrc_webhook(struct br_whsrc *w);
struct br_source br_whsrc_websub(struct br_whsrc *w);

#endif
