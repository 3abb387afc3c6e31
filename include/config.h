/*
 * Configuration (CONTRACT section 2): defaults < JSON file < environment
 * (TWITCH2MQTT_<SECTION>_<KEY>, and <...>_FILE for secrets). Parsed once
 * into an immutable struct; a reload builds a new one.
 */
#ifndef BR_CONFIG_H
#define BR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "log.h"

struct br_config {
	char *path;                 /* the file read, or NULL */
	struct {
		char *url, *client_id, *username, *password, *base_topic;
		int qos, version;       /* 0-2; 5 or 3 */
		char *ca_file, *cert_file, *key_file;
		bool tls_insecure;
		long buffer_max;
	} mqtt;
	struct {
		char *client_id, *client_secret, *access_token, *refresh_token;
		char *api_url, *auth_url, *eventsub_url, *pubsub_url, *ca_file;
	} twitch;
	struct {
		char *listen;           /* "host:port" or "" */
		char *cert_file;        /* TLS on the listener when both set */
		char *key_file;
	} http;
	struct {
		char *path, *public_url, *secret;
	} webhook;
	json_t *channels;           /* array of subscribe-request objects */
	struct {
		bool discovery;
		char *prefix;
	} homeassistant;
	struct {
		char *state_dir;
		enum br_log_level log_level;
	} bridge;
};

/* Problems found while loading, one sentence each, naming the key. */
struct br_problems {
	char **lines;
	size_t n;
};
void br_problems_free(struct br_problems *p);
/* Appends one formatted sentence. */
void br_problems_add(struct br_problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* path NULL: $TWITCH2MQTT_CONFIG, then ./twitch2mqtt.json if it exists,
 * else no file. envp: the environment to read (NULL-terminated). Returns
 * a new config, or NULL with every problem appended to *problems. */
struct br_config *br_config_load(const char *path, char *const *envp,
                                 struct br_problems *problems);
void br_config_free(struct br_config *cfg);

/* True when Twitch credentials of any kind are configured. */
bool br_config_has_twitch(const struct br_config *cfg);

/* Splits http.listen: "host:port", ":port" (host "": every address) or
 * "[v6addr]:port" (host without the brackets). 0, or -1 when listen is
 * not of that form or the port is not 1-65535. */
int br_config_listen_split(const char *listen, char *host, size_t size,
                           int *port);

/* The configuration without secrets, for <base>/bridge/info. Returns a
 * new reference. */
json_t *br_config_summary(const struct br_config *cfg);

#endif
