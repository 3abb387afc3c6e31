#include <stdlib.h>

#include "sink.h"
#include "util.h"

struct br_msg *
br_msg_adopt(const char *topic, char *payload, size_t len, int qos,
    bool retain)
{
	struct br_msg *msg = br_xcalloc(1, sizeof *msg);

	msg->topic = br_xstrdup(topic);
	msg->payload = payload;
	msg->len = len;
	msg->qos = qos;
	msg->retain = retain;
	msg->created_us = br_mono_us();
	return msg;
}

struct br_msg *
br_msg_new(const char *topic, const char *payload, size_t len, int qos,
    bool retain)
{
	return br_msg_adopt(topic, br_xstrndup(payload, len), len, qos, retain);
}

void
br_msg_free(struct br_msg *msg)
{
	if (msg == NULL)
		return;
	free(msg->topic);
	free(msg->payload);
	free(msg->label);
	free(msg->corr);
	free(msg);
}
