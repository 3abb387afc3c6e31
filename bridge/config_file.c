/*
 * The configuration file (CONTRACT sections 1 and 2): which one is read
 * (-c, $TWITCH2MQTT_CONFIG, ./twitch2mqtt.json) and its JSON, section by
 * section, into config.c's loader. Problems name the file and the key as
 * the operator wrote them; jansson's quote of the input is cut, since the
 * file holds secrets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "request.h"
#include "util.h"

#define FILE_MAX (1024 * 1024)

static void
load_section(struct config_loader *l, const char *path, const char *sect,
    json_t *obj)
{
	char name[128], q[BR_QUOTE_MAX + 8], list[512];
	const char *key;
	json_t *j;
	int i;

	if (!json_is_object(obj)) {
		br_problems_add(l->pr, "%s: must be an object of keys, got %s",
		    sect, br_json_kind(obj));
		return;
	}
	json_object_foreach(obj, key, j) {
		snprintf(name, sizeof name, "%s.%s", sect, key);
		if ((i = config_find_key(name)) >= 0) {
			config_set_json(l, (size_t)i, j, name);
			continue;
		}
		br_quote(q, sizeof q, name);
		br_config_section_keys(list, sizeof list, l->names, sect);
		br_problems_add(l->pr, "unknown key '%s' in %s; %s accepts: %s",
		    q, path, sect, list);
	}
}

static bool
is_section(const char *s)
{
	static const char *const sections[] = {
		"mqtt", "twitch", "http", "webhook", "homeassistant", "bridge"
	};

	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		if (strcmp(sections[i], s) == 0)
			return true;
	return false;
}

void
config_load_file(struct config_loader *l, const char *path)
{
	char *buf, q[BR_QUOTE_MAX + 8];
	const char *sect;
	json_error_t err;
	json_t *root, *j;
	size_t len;
	int rc;

	if ((rc = br_read_file(path, FILE_MAX, &buf, &len)) < 0) {
		br_problems_add(l->pr, "%s: cannot read: %s", path,
		    rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		return;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (root == NULL) {
		br_json_error_cut(err.text);
		br_problems_add(l->pr, "%s: line %d, column %d: %s", path,
		    err.line, err.column, err.text);
		return;
	}
	if (!json_is_object(root))
		br_problems_add(l->pr, "%s: must hold a JSON object like "
		    "{\"mqtt\":{\"url\":...}}, got %s", path, br_json_kind(root));
	json_object_foreach(root, sect, j) {
		if (strcmp(sect, "channels") == 0) {
			config_set_channels(l, j, "channels");
		} else if (is_section(sect)) {
			load_section(l, path, sect, j);
		} else {
			br_quote(q, sizeof q, sect);
			br_problems_add(l->pr, "unknown key '%s' in %s; accepted: "
			    "mqtt, twitch, http, webhook, homeassistant, bridge, "
			    "channels", q, path);
		}
	}
	json_decref(root);
}

/* CONTRACT 1: -c, else $TWITCH2MQTT_CONFIG, else ./twitch2mqtt.json if it
 * is there, else no file at all. */
const char *
config_resolve_path(const char *path, char *const *envp)
{
	const char *env = br_env_get(envp, BR_ENV_PREFIX "CONFIG");

	if (path != NULL)
		return path;
	if (env != NULL && *env != '\0')
		return env;
	return access("twitch2mqtt.json", F_OK) == 0 ? "twitch2mqtt.json" : NULL;
}
