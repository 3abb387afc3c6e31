/*
 * A subscription's own token (CONTRACT 5 "token", with the extension
 * "refresh_token") for the sources that call Twitch with it: what follows
 * when Twitch refuses it. With a refresh token it is refreshed once
 * (br_auth_refresh_pair); the new pair replaces the old one in every held
 * subscription that had it and is saved (hooks.changed), and
 * token_refreshed names the channel. Without one, when Twitch refuses the
 * refresh token too, or when it refuses a token just refreshed,
 * auth_failed names the channel, once: nothing is tried again with that
 * token until a subscribe request brings a new one. Tokens never reach a
 * hook, a status or the log.
 */
#ifndef BR_SUBAUTH_H
#define BR_SUBAUTH_H

#include <stdbool.h>

#include "auth.h"
#include "source.h"
#include "subs.h"

/* Why a request failed; and the status of an event that failed so. */
#define BR_SUBAUTH_REFUSED "Twitch refused the subscription's token and " \
	"it could not be refreshed; subscribe again with a new token"
#define BR_SUBAUTH_FAILED "failed: bad auth (" BR_SUBAUTH_REFUSED ")"

struct br_subauth;

/* source: as in events' "source", for the bridge events. */
struct br_subauth *br_subauth_new(struct br_auth *auth, struct br_subs *subs,
                                  const char *source,
                                  const struct br_source_hooks *hooks);
/* Refreshes under way are dropped; their done is not called. */
void br_subauth_free(struct br_subauth *sa);

/* Twitch refused sub's own token, of generation gen (sub->token_gen when
 * the call was made), for why ("401 from Helix"). first: false when the
 * call was already made again after a refresh, which then is not
 * repeated. done(arg, true): a newer token is in place, make the call
 * once more; done(arg, false): give up. done may run before this
 * returns. */
void br_subauth_refused(struct br_subauth *sa, struct br_sub *sub,
                        unsigned gen, bool first, const char *why,
                        br_auth_done done, void *arg);

#endif
