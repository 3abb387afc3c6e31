/*
 * The subscriptions the bridge holds: one entry per channel and
 * transport, each event with its status ("enabled", "pending",
 * "failed: <reason>"). Persisted 0600 in the state dir (tokens live
 * here), mirrored without tokens on <base>/bridge/subscriptions.
 *
 * A subscription may carry its own token pair (a subscribe request's
 * "token" and "refresh_token"). A refresh replaces the pair but keeps its
 * origin, the tag of the pair the request gave, so that the same request
 * applied again (a configured channel at the next start) does not bring
 * back the pair Twitch has since rotated away.
 */
#ifndef BR_SUBS_H
#define BR_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct br_sub {
	char *transport;
	char *id, *login, *name;        /* the channel; id may be NULL */
	char *token;                    /* secret, or NULL */
	char *refresh_token;            /* secret, or NULL (only with token) */
	char *token_origin;             /* tag of the pair a request gave */
	unsigned token_gen;             /* bumped by every new pair */
	bool token_refused;             /* Twitch refused it for good */
	char *moderator_id;             /* or NULL */
	json_t *events;                 /* object: event -> status string */
	bool busy;                      /* a request waits on its source */
	bool ephemeral;                 /* demo mode's own: never saved */
};

struct br_subs;

struct br_subs *br_subs_new(const char *state_dir);
void br_subs_free(struct br_subs *subs);

/* Reads <state_dir>/subscriptions.json; a missing file is no error. */
int br_subs_load(struct br_subs *subs);
int br_subs_save(const struct br_subs *subs);

size_t br_subs_count(const struct br_subs *subs);
struct br_sub *br_subs_at(struct br_subs *subs, size_t i);

/* By transport and login (or id when login is NULL). */
struct br_sub *br_subs_find(struct br_subs *subs, const char *transport,
                            const char *login, const char *id);
/* Adds an entry with no events; the strings are copied. */
struct br_sub *br_subs_add(struct br_subs *subs, const char *transport,
                           const char *id, const char *login,
                           const char *name);
/* Removes and frees the entry. */
void br_subs_remove(struct br_subs *subs, struct br_sub *sub);

void br_sub_set_status(struct br_sub *sub, const char *event,
                       const char *status);
const char *br_sub_status(const struct br_sub *sub, const char *event);
/* Replaces the token pair (copies; NULL or "" clears) and its origin;
 * a new pair is not known to be refused. */
void br_sub_set_tokens(struct br_sub *sub, const char *token,
                       const char *refresh_token, const char *origin);
/* A subscribe request brought this pair: it replaces the stored one,
 * unless the stored one descends from exactly this pair. True when it
 * was taken. */
bool br_sub_offer_tokens(struct br_sub *sub, const char *token,
                         const char *refresh_token);

/* {"id","login","name"}; a new reference. */
json_t *br_sub_channel_json(const struct br_sub *sub);

/* True when any event of any transport of this channel is enabled. */
bool br_subs_channel_active(struct br_subs *subs, const char *login);

/* The public mirror (no tokens); a new reference. */
json_t *br_subs_public(const struct br_subs *subs);

#endif
