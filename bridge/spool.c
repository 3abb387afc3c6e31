/*
 * The spool: events the broker never confirmed, written at exit as one
 * JSON line each ({"topic","payload","qos","label"}, 0600) and read back at
 * the next start ahead of anything new. Generic: topics and payloads only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "outbox.h"
#include "util.h"

#define SPOOL_MAX (512u << 20)

static void
save_line(FILE *f, const struct br_msg *msg)
{
	json_t *o = json_pack("{s:s, s:s%, s:i, s:s?}", "topic", msg->topic,
	    "payload", msg->payload, msg->len, "qos", msg->qos,
	    "label", msg->label);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (line)
		fprintf(f, "%s\n", line);
	free(line);
	json_decref(o);
}

int
spool_write(const char *path, struct br_msg *const *msgs, size_t n)
{
	char *buf = NULL;
	size_t len = 0, saved = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (f == NULL)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->is_event) {
			save_line(f, msgs[i]);
			saved++;
		}
	}
	fclose(f);
	if (saved == 0) {
		free(buf);
		unlink(path);
		return 0;
	}
	rc = br_write_file_atomic(path, buf, len, 0600);
	free(buf);
	if (rc == 0)
		log_info("spool: saved %zu unpublished events to %s", saved, path);
	return rc;
}

static struct br_msg *
load_line(const char *line)
{
	json_error_t err;
	json_t *o = json_loads(line, 0, &err);
	const char *topic = json_string_value(json_object_get(o, "topic"));
	json_t *payload = json_object_get(o, "payload");
	json_t *qos = json_object_get(o, "qos");
	const char *label = json_string_value(json_object_get(o, "label"));
	struct br_msg *msg = NULL;

	if (topic != NULL && json_is_string(payload) && json_is_integer(qos)) {
		msg = br_msg_new(topic, json_string_value(payload),
		    json_string_length(payload), (int)json_integer_value(qos),
		    false);
		msg->is_event = true;
		msg->label = label ? br_xstrdup(label) : NULL;
	}
	json_decref(o);
	return msg;
}

int
spool_read(const char *path, struct outbox *into, size_t *count)
{
	char *buf, *save = NULL;
	size_t loaded = 0;
	int rc = br_read_file(path, SPOOL_MAX, &buf, NULL);

	*count = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	for (char *line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct br_msg *msg = load_line(line);
		if (msg == NULL) {
			log_warn("spool: skipping an unreadable line in %s", path);
			continue;
		}
		outbox_push_back(into, msg);
		loaded++;
	}
	free(buf);
	unlink(path);
	*count = loaded;
	log_info("spool: %zu events from the last run will be published",
	    loaded);
	return 0;
}
