/*
 * PubSub input is bytes from the network: the outer frame, then the
 * JSON document inside its data.message string (and, for whispers, a
 * third layer inside that). Every byte sequence must parse or be
 * refused, never crash or leak, and every event that comes out must
 * keep the contract's invariants. The input is tried as a whole frame
 * and, so that the fuzzer reaches the mappers without first learning
 * the escaping, as an inner document on each topic.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pubsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct br_ps_channel chan = { "123456789", "riverbend",
	"Riverbend" };

static const char *const topics[] = {
	"channel-bits-events-v2.123456789",
	"channel-bits-badge-unlocks.123456789",
	"channel-points-channel-v1.123456789",
	"channel-subscribe-events-v1.123456789",
	"chat_moderator_actions.88112077.123456789",
	"whispers.88112077",
};

/* What no input may produce: an event without an id, a type or a
 * channel login, or one that does not serialize. */
static void
check(struct br_event *ev)
{
	size_t len;
	char *s;

	if (br_event_type(ev) == NULL || br_event_channel_login(ev) == NULL ||
	    br_event_id(ev) == NULL || *br_event_id(ev) == '\0')
		abort();
	s = br_event_dump(ev, &len);
	if (len == 0)
		abort();
	free(s);
	br_event_free(ev);
}

static void
normalize(const char *topic, const char *msg, size_t len,
    const struct br_ps_channel *ch)
{
	struct br_event *ev = NULL;
	char err[256];
	int rc = br_pubsub_normalize(topic, msg, len, ch, "pubsub", &ev, err,
	    sizeof err);

	if (rc == 0)
		check(ev);
	else if (ev != NULL || (rc != 1 && rc != -EINVAL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct br_ps_frame f;
	char err[256];

	br_log_set_level(BR_LOG_ERROR);
	if (br_ps_frame_parse(buf, size, &f, err, sizeof err) == 0) {
		if (f.kind == BR_PS_MESSAGE) {
			normalize(f.topic, f.message, f.message_len, &chan);
			normalize(f.topic, f.message, f.message_len, NULL);
		}
		br_ps_frame_release(&f);
	}
	for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
		normalize(topics[i], buf, size, &chan);
	return 0;
}
