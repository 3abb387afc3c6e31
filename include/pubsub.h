/*
 * Legacy Twitch PubSub (shared/twitch/pubsub.md). Two halves:
 *
 * - pure (pubsub_norm.c, pubsub_mod.c): the topic behind an event name,
 *   the outer frame parser and the normalizer that turns a MESSAGE's
 *   inner document into a contract event. No I/O; fuzzed.
 * - the source (pubsub.c, pubsub_conn.c): a pool of connections to
 *   twitch.pubsub_url holding the topics of every channel held on the
 *   "pubsub" transport.
 */
#ifndef BR_PUBSUB_H
#define BR_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "auth.h"
#include "bus.h"
#include "event.h"
#include "helix.h"
#include "loop.h"
#include "metrics.h"
#include "source.h"
#include "subs.h"

#define BR_PS_SOURCE "pubsub"
#define BR_PS_TOPIC_MAX 96

/* ---- pure ---- */

/* The topic string an event name needs ("bits" + 123 ->
 * "channel-bits-events-v2.123"). moderation and whisper need the
 * token user's id. 0, or -EINVAL for an unknown event or missing id. */
int br_ps_topic(const char *event, const char *channel_id,
                const char *user_id, char *buf, size_t size);

/* True when the topic carries event (channel_points and
 * channel_points_update share one topic). */
bool br_ps_topic_carries(const char *topic, const char *event);

enum br_ps_kind {
	BR_PS_RESPONSE, BR_PS_PONG, BR_PS_RECONNECT, BR_PS_MESSAGE,
	BR_PS_UNKNOWN,
};

/* One server frame. Strings are borrowed from root. */
struct br_ps_frame {
	json_t *root;           /* owned; br_ps_frame_release() */
	enum br_ps_kind kind;
	const char *type;
	const char *nonce, *error;      /* RESPONSE; error "" = success */
	const char *topic, *message;    /* MESSAGE; message is JSON text */
	size_t message_len;
};

/* 0, or -EINVAL with a reason in err (not JSON, no type, a MESSAGE
 * without topic or message string...). */
int br_ps_frame_parse(const char *buf, size_t len, struct br_ps_frame *f,
                      char *err, size_t errlen);
void br_ps_frame_release(struct br_ps_frame *f);

/* The channel a topic belongs to, as the source knows it. */
struct br_ps_channel {
	const char *id, *login, *name;
};

/* Normalizes the inner document of a MESSAGE on topic. ch names the
 * channel (NULL or a NULL login: taken from the message where it says).
 * Returns 0 with *out set, 1 when the message is deliberately not
 * published (whisper_sent, reward edits...), or -EINVAL with a reason. */
int br_pubsub_normalize(const char *topic, const char *message, size_t len,
                        const struct br_ps_channel *ch, const char *source,
                        struct br_event **out, char *err, size_t errlen);

/* ---- the source ---- */

struct br_pubsub_options {
	const char *url;        /* twitch.pubsub_url */
	const char *ca_file;    /* twitch.ca_file, or NULL/"" */
	/* Tests and the benchmark: the PING interval (jittered down by up
	 * to a fifth) and the PONG and RESPONSE deadlines; 0 = defaults
	 * (240 s, 10 s, 10 s). */
	long ping_ms, pong_ms, response_ms;
};

struct br_pubsub;

struct br_pubsub *br_pubsub_new(struct br_loop *loop, struct br_bus *bus,
                                struct br_helix *helix, struct br_auth *auth,
                                struct br_subs *subs,
                                struct br_metrics *metrics,
                                const struct br_pubsub_options *opts,
                                const struct br_source_hooks *hooks);
void br_pubsub_free(struct br_pubsub *ps);

struct br_source br_pubsub_source(struct br_pubsub *ps);

/* The user token became usable (validated or refreshed). */
void br_pubsub_auth_ready(struct br_pubsub *ps);

/* Shutdown: close the sockets, stop reconnecting. */
void br_pubsub_stop(struct br_pubsub *ps);

#endif
