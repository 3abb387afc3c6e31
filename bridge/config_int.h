/*
 * Private to the configuration module: config.c merges and owns the
 * result, config_file.c reads the file, config_env.c reads the
 * environment, config_check.c judges single values. Split so that each
 * stays a readable size.
 */
#ifndef BR_CONFIG_INT_H
#define BR_CONFIG_INT_H

#include <stddef.h>
#include "config.h"

#define BR_ENV_PREFIX "TWITCH2MQTT_"

/* One value found in the environment. */
struct br_env_value {
	const char *key;        /* borrowed: "mqtt.qos", or "channels" */
	char *value;            /* the text, a _FILE's content without its
	                         * trailing newline */
	char *var;              /* where it came from: TWITCH2MQTT_MQTT_QOS
	                         * or TWITCH2MQTT_MQTT_QOS_FILE */
};

/* Reads TWITCH2MQTT_<KEY> or <...>_FILE for each of names ("mqtt.qos",
 * "channels", ...) from envp. Sets *out to a new array (free with
 * br_env_values_free) and returns its length. Appends a problem for
 * every variable set twice, every unreadable file and every unknown
 * TWITCH2MQTT_ variable (TWITCH2MQTT_CONFIG is known). */
size_t br_env_read(char *const *envp, const char *const *names,
                   struct br_env_value **out, struct br_problems *pr);
void br_env_values_free(struct br_env_value *v, size_t n);

/* The value of variable name in envp (borrowed), or NULL. */
const char *br_env_get(char *const *envp, const char *name);

/* "url, client_id, ..." for the names in section ("mqtt"). */
void br_config_section_keys(char *buf, size_t size, const char *const *names,
                            const char *section);

/* Judges the value of key: text for strings, *num for numbers (may be
 * normalised: mqtt.version 4 becomes 3). Returns NULL, or a new sentence
 * without the key ("must be 0, 1 or 2 (got 7)"). Never quotes a secret. */
char *br_config_check(const char *key, const char *text, long long *num);

/* url without any user:password@ part, as a new string. */
char *br_url_redact(const char *url);

/* ---- loading: config.c and config_file.c ---- */

/* The entries of config.c's key table, which checks it at compile time. */
#define CONFIG_N_KEYS 31

/* A value while loading: text for K_STR and K_LEVEL, else a number, and
 * the key or variable it came from (NULL: the default). */
struct config_val {
	char *s;
	long long n;
	char *origin;
};

struct config_loader {
	struct config_val v[CONFIG_N_KEYS];
	/* the key names, "channels", NULL */
	const char *names[CONFIG_N_KEYS + 2];
	json_t *channels;
	char *channels_origin;
	struct br_problems *pr;
};

/* config.c: the index of key name ("mqtt.qos") in the table, or -1. */
int config_find_key(const char *name);
/* Value i from JSON, or the channels from an array; origin is what a
 * problem names (the key, or the variable). */
void config_set_json(struct config_loader *l, size_t i, json_t *j,
                     const char *origin);
void config_set_channels(struct config_loader *l, json_t *j,
                         const char *origin);

/* config_file.c */
/* The file to read: -c, else $TWITCH2MQTT_CONFIG, else
 * ./twitch2mqtt.json when there is one; NULL for none. */
const char *config_resolve_path(const char *path, char *const *envp);
void config_load_file(struct config_loader *l, const char *path);

#endif
