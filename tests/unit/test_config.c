/*
 * Configuration (CONTRACT section 2): defaults < file < environment, the
 * _FILE variants, and the problem sentences an operator reads from -n.
 * Each test runs in its own temporary directory, which is also the
 * working directory (./twitch2mqtt.json is looked for there).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

struct fixture {
	char dir[64];
	char oldcwd[4096];
	char path[4096];        /* scratch for paths() */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	strcpy(f->dir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(f->dir) == NULL || getcwd(f->oldcwd, sizeof f->oldcwd) ==
	    NULL || chdir(f->dir) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[4200];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	if (chdir(f->oldcwd) != 0)
		return -1;
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes name in the test directory; returns its absolute path. */
static const char *
put(struct fixture *f, const char *name, const char *text)
{
	FILE *fp;

	snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return f->path;
}

static char *const no_env[] = { NULL };

/* Loads expecting failure; asserts that each of the wanted sentences
 * (substrings) is among the problems and that there are n of them. */
static void
expect_problems(const char *path, char *const *env, size_t n, ...)
{
	struct br_problems pr = { NULL, 0 };
	struct br_config *cfg = br_config_load(path, env, &pr);
	va_list ap;
	const char *want;

	assert_null(cfg);
	va_start(ap, n);
	while ((want = va_arg(ap, const char *)) != NULL) {
		size_t i;
		for (i = 0; i < pr.n && strstr(pr.lines[i], want) == NULL; i++)
			;
		if (i == pr.n) {
			for (i = 0; i < pr.n; i++)
				print_message("problem: %s\n", pr.lines[i]);
			fail_msg("no problem says: %s", want);
		}
	}
	va_end(ap);
	if (pr.n != n) {
		for (size_t i = 0; i < pr.n; i++)
			print_message("problem: %s\n", pr.lines[i]);
		fail_msg("%zu problems, expected %zu", pr.n, n);
	}
	br_problems_free(&pr);
}

static struct br_config *
load_ok(const char *path, char *const *env)
{
	struct br_problems pr = { NULL, 0 };
	struct br_config *cfg = br_config_load(path, env, &pr);

	for (size_t i = 0; i < pr.n; i++)
		print_message("problem: %s\n", pr.lines[i]);
	assert_int_equal(pr.n, 0);
	assert_non_null(cfg);
	br_problems_free(&pr);
	return cfg;
}

static void
test_defaults(void **state)
{
	struct br_config *cfg = load_ok(NULL, no_env);

	assert_null(cfg->path);
	assert_string_equal(cfg->mqtt.url, "mqtt://127.0.0.1:1883");
	assert_string_equal(cfg->mqtt.client_id, "twitch2mqtt");
	assert_string_equal(cfg->mqtt.username, "");
	assert_string_equal(cfg->mqtt.password, "");
	assert_string_equal(cfg->mqtt.base_topic, "twitch");
	assert_int_equal(cfg->mqtt.qos, 1);
	assert_int_equal(cfg->mqtt.version, 5);
	assert_string_equal(cfg->mqtt.ca_file, "");
	assert_false(cfg->mqtt.tls_insecure);
	assert_int_equal(cfg->mqtt.buffer_max, 100000);
	assert_string_equal(cfg->twitch.client_id, "");
	assert_string_equal(cfg->twitch.api_url, "https://api.twitch.tv/helix");
	assert_string_equal(cfg->twitch.auth_url, "https://id.twitch.tv/oauth2");
	assert_string_equal(cfg->twitch.eventsub_url,
	    "wss://eventsub.wss.twitch.tv/ws");
	assert_string_equal(cfg->twitch.pubsub_url, "wss://pubsub-edge.twitch.tv");
	assert_string_equal(cfg->twitch.ca_file, "");
	assert_string_equal(cfg->http.listen, "");
	assert_string_equal(cfg->webhook.path, "/webhook");
	assert_string_equal(cfg->webhook.public_url, "");
	assert_string_equal(cfg->webhook.secret, "");
	assert_true(json_is_array(cfg->channels));
	assert_int_equal(json_array_size(cfg->channels), 0);
	assert_true(cfg->homeassistant.discovery);
	assert_string_equal(cfg->homeassistant.prefix, "homeassistant");
	assert_string_equal(cfg->bridge.state_dir, "./state");
	assert_int_equal(cfg->bridge.log_level, BR_LOG_INFO);
	assert_false(br_config_has_twitch(cfg));
	br_config_free(cfg);

	/* problems may be NULL when the caller only wants the config */
	cfg = br_config_load(NULL, NULL, NULL);
	assert_non_null(cfg);
	br_config_free(cfg);
}

static const char full_file[] =
    "{\n"
    "  \"mqtt\": {\"url\": \"mqtts://broker.lan:8883\", \"qos\": 2,\n"
    "           \"version\": 4, \"username\": \"bridge\",\n"
    "           \"tls_insecure\": true, \"buffer_max\": 500},\n"
    "  \"twitch\": {\"client_id\": \"abc\"},\n"
    "  \"http\": {\"listen\": \"[::1]:8080\"},\n"
    "  \"webhook\": {\"public_url\": \"https://example.org/webhook\",\n"
    "              \"secret\": \"0123456789abcdef\"},\n"
    "  \"homeassistant\": {\"discovery\": false, \"prefix\": \"ha\"},\n"
    "  \"bridge\": {\"log_level\": \"debug\", \"state_dir\": \"/var/lib/t2m\"},\n"
    "  \"channels\": [\"Cool_Streamer\", {\"channel\": \"other\",\n"
    "                \"events\": [\"raid\"], \"transport\": \"webhook\"}]\n"
    "}\n";

static void
test_file(void **state)
{
	const char *path = put(*state, "c.json", full_file);
	struct br_config *cfg = load_ok(path, no_env);

	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->mqtt.url, "mqtts://broker.lan:8883");
	assert_int_equal(cfg->mqtt.qos, 2);
	assert_int_equal(cfg->mqtt.version, 3);         /* 4 means 3.1.1 */
	assert_string_equal(cfg->mqtt.username, "bridge");
	assert_true(cfg->mqtt.tls_insecure);
	assert_int_equal(cfg->mqtt.buffer_max, 500);
	assert_string_equal(cfg->http.listen, "[::1]:8080");
	assert_false(cfg->homeassistant.discovery);
	assert_string_equal(cfg->homeassistant.prefix, "ha");
	assert_int_equal(cfg->bridge.log_level, BR_LOG_DEBUG);
	assert_string_equal(cfg->bridge.state_dir, "/var/lib/t2m");
	assert_true(br_config_has_twitch(cfg));
	/* a bare login in the file is held as a request object */
	assert_int_equal(json_array_size(cfg->channels), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    cfg->channels, 0), "channel")), "cool_streamer");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    cfg->channels, 1), "transport")), "webhook");
	br_config_free(cfg);
}

static void
test_env_beats_file(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\"mqtt\":{\"qos\":0,\"url\":\"mqtt://file:1883\"},"
	    "\"bridge\":{\"log_level\":\"warn\"}}");
	char *env[] = { "TWITCH2MQTT_MQTT_QOS=2", "HOME=/root",
		"TWITCH2MQTT_HOMEASSISTANT_DISCOVERY=off",
		"TWITCH2MQTT_TWITCH_ACCESS_TOKEN=tok",
		"TWITCH2MQTT_MQTT_BUFFER_MAX=10000000",
		"TWITCH2MQTT_MQTT_TLS_INSECURE=Yes", NULL };
	struct br_config *cfg = load_ok(path, env);

	assert_int_equal(cfg->mqtt.qos, 2);
	assert_string_equal(cfg->mqtt.url, "mqtt://file:1883");
	assert_int_equal(cfg->bridge.log_level, BR_LOG_WARN);
	assert_false(cfg->homeassistant.discovery);
	assert_true(cfg->mqtt.tls_insecure);
	assert_int_equal(cfg->mqtt.buffer_max, 10000000);
	assert_true(br_config_has_twitch(cfg));
	br_config_free(cfg);
}

/* A file value that the environment overrides is not judged. */
static void
test_only_effective_values_judged(void **state)
{
	const char *path = put(*state, "c.json", "{\"mqtt\":{\"qos\":7}}");
	char *env[] = { "TWITCH2MQTT_MQTT_QOS=0", NULL };
	struct br_config *cfg = load_ok(path, env);

	assert_int_equal(cfg->mqtt.qos, 0);
	br_config_free(cfg);
}

static void
test_file_variant(void **state)
{
	struct fixture *f = *state;
	char pw[4200], sec[4200], *env[4];
	struct br_config *cfg;

	snprintf(pw, sizeof pw, "TWITCH2MQTT_MQTT_PASSWORD_FILE=%s",
	    put(f, "pw", "hunter2\n"));
	snprintf(sec, sizeof sec, "TWITCH2MQTT_WEBHOOK_SECRET_FILE=%s",
	    put(f, "sec", "0123456789abc\r\n"));
	env[0] = pw;
	env[1] = sec;
	env[2] = "TWITCH2MQTT_MQTT_USERNAME=user";
	env[3] = NULL;
	cfg = load_ok(NULL, env);
	assert_string_equal(cfg->mqtt.password, "hunter2");
	assert_string_equal(cfg->webhook.secret, "0123456789abc");
	assert_string_equal(cfg->mqtt.username, "user");
	br_config_free(cfg);

	/* Only one newline goes: the rest is the value's. */
	snprintf(pw, sizeof pw, "TWITCH2MQTT_MQTT_PASSWORD_FILE=%s",
	    put(f, "pw", "two\n\n"));
	env[1] = NULL;
	cfg = load_ok(NULL, env);
	assert_string_equal(cfg->mqtt.password, "two\n");
	br_config_free(cfg);

	/* And a _FILE value is judged like any other, under its name. */
	snprintf(sec, sizeof sec, "TWITCH2MQTT_WEBHOOK_SECRET_FILE=%s",
	    put(f, "sec", "short\n"));
	env[0] = sec;
	expect_problems(NULL, env, 1, "TWITCH2MQTT_WEBHOOK_SECRET_FILE: must "
	    "be empty or 10-100 characters long (got 5 characters)", NULL);

	char *missing[] = { "TWITCH2MQTT_TWITCH_CLIENT_SECRET_FILE=/nonexistent/x",
		NULL };
	expect_problems(NULL, missing, 1, "TWITCH2MQTT_TWITCH_CLIENT_SECRET_FILE: "
	    "cannot read '/nonexistent/x': No such file or directory", NULL);
}

static void
test_both_plain_and_file(void **state)
{
	char *env[] = { "TWITCH2MQTT_MQTT_PASSWORD=a",
		"TWITCH2MQTT_MQTT_PASSWORD_FILE=/run/secrets/pw", NULL };

	expect_problems(NULL, env, 1, "TWITCH2MQTT_MQTT_PASSWORD and "
	    "TWITCH2MQTT_MQTT_PASSWORD_FILE are both set; set only one of them",
	    NULL);
}

static void
test_unknown_keys(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\"mqtt\":{\"urll\":\"x\"},\"mqtts\":{},\"twitch\":{\"token\":\"x\"}}");
	char text[8192];

	snprintf(text, sizeof text, "unknown key 'mqtt.urll' in %s; mqtt "
	    "accepts: url, client_id, username, password, base_topic, qos, "
	    "version, ca_file, cert_file, key_file, tls_insecure, buffer_max",
	    path);
	char *env[] = { "TWITCH2MQTT_MQTT_URLL=x", "TWITCH2MQTT_FOO=1",
		"TWITCH2MQTT_CONFIG_FILE=/x", "TWITCH2MQTT_CHANNELS_FILE_FILE=x",
		"TWITCH2MQTT=1", /* not ours: no underscore after the prefix */
		"TWITCH2MQTT_BRIDGE_STATE_DIR_FILE=/nonexistent",
		NULL };
	expect_problems(path, env, 8, text, "unknown key 'mqtts' in ",
	    "unknown key 'twitch.token' in ",
	    "TWITCH2MQTT_MQTT_URLL: unknown variable; the mqtt keys are url, "
	    "client_id, username, password, base_topic, qos, version, ca_file, "
	    "cert_file, key_file, tls_insecure, buffer_max (as "
	    "TWITCH2MQTT_MQTT_<KEY>)",
	    "TWITCH2MQTT_FOO: unknown variable; accepted: "
	    "TWITCH2MQTT_<SECTION>_<KEY> for the keys of mqtt, twitch, http, "
	    "webhook, homeassistant and bridge, TWITCH2MQTT_CHANNELS and "
	    "TWITCH2MQTT_CONFIG",
	    "TWITCH2MQTT_CONFIG_FILE: unknown variable",
	    "TWITCH2MQTT_CHANNELS_FILE_FILE: unknown variable",
	    "TWITCH2MQTT_BRIDGE_STATE_DIR_FILE: cannot read '/nonexistent'",
	    NULL);
}

static void
test_bad_types(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\"mqtt\":{\"qos\":\"1\",\"tls_insecure\":1,\"url\":5,"
	    "\"buffer_max\":1.5},\"http\":[],\"channels\":{},"
	    "\"homeassistant\":{\"discovery\":\"yes\"}}");

	expect_problems(path, no_env, 7,
	    "mqtt.qos: must be an integer, got a string",
	    "mqtt.tls_insecure: must be true or false, got an integer",
	    "mqtt.url: must be a string, got an integer",
	    "mqtt.buffer_max: must be an integer, got a number",
	    "http: must be an object of keys, got an array",
	    "channels: must be an array of subscribe requests like "
	    "[{\"channel\":\"cool_streamer\"}], got an object",
	    "homeassistant.discovery: must be true or false, got a string",
	    NULL);

	path = put(*state, "d.json", "[1]");
	expect_problems(path, no_env, 1, "must hold a JSON object like "
	    "{\"mqtt\":{\"url\":...}}, got an array", NULL);
}

static void
test_bad_values(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\"mqtt\":{\"qos\":7,\"version\":2,\"url\":\"http://u:hunter2@x\","
	    "\"base_topic\":\"a/#\",\"buffer_max\":0,\"client_id\":\"\","
	    "\"ca_file\":\"/nonexistent/ca.pem\",\"cert_file\":\"/dev/null\"},"
	    "\"twitch\":{\"api_url\":\"ftp://x\",\"eventsub_url\":\"wss://\"},"
	    "\"http\":{\"listen\":\"8080\"},"
	    "\"webhook\":{\"path\":\"webhook\",\"secret\":\"short-secret-x\","
	    "\"public_url\":\"example.org\"},"
	    "\"homeassistant\":{\"prefix\":\"/ha\"},"
	    "\"bridge\":{\"log_level\":\"loud\",\"state_dir\":\"\"}}");

	expect_problems(path, no_env, 16,
	    "mqtt.qos: must be 0, 1 or 2 (got 7)",
	    "mqtt.version: must be 5 or 3 (MQTT 3.1.1) (got 2)",
	    "mqtt.url: must start with mqtt://, mqtts://, ws:// or wss:// "
	    "(got 'http://x')",
	    "mqtt.base_topic: must not contain + or # (got 'a/#')",
	    "mqtt.buffer_max: must be 1 to 10000000 events (got 0)",
	    "mqtt.client_id: must not be empty",
	    "mqtt.ca_file: cannot read '/nonexistent/ca.pem': No such file",
	    "mqtt.cert_file and mqtt.key_file go together: set both or neither",
	    "twitch.api_url: must start with https:// or http:// (got 'ftp://x')",
	    "twitch.eventsub_url: must name a host and optionally a port of "
	    "1-65535, as in wss://host:port (got 'wss://')",
	    "http.listen: must be empty (off), host:port, :port or "
	    "[v6addr]:port with a port of 1-65535 (got '8080')",
	    "webhook.path: must start with / and hold no spaces, ? or # (got "
	    "'webhook')",
	    "webhook.public_url: must start with https:// or http:// (got "
	    "'example.org')",
	    "homeassistant.prefix: must not start or end with / (got '/ha')",
	    "bridge.log_level: must be error, warn, info or debug (got 'loud')",
	    "bridge.state_dir: must not be empty", NULL);
}

static void
test_env_strict(void **state)
{
	char *env[] = { "TWITCH2MQTT_MQTT_QOS=1 ", "TWITCH2MQTT_MQTT_VERSION=+5",
		"TWITCH2MQTT_MQTT_BUFFER_MAX=", "TWITCH2MQTT_MQTT_TLS_INSECURE=maybe",
		"TWITCH2MQTT_HOMEASSISTANT_DISCOVERY=2",
		"TWITCH2MQTT_MQTT_URL=wss://u:pw@broker:99999/mqtt",
		"TWITCH2MQTT_BRIDGE_LOG_LEVEL=INFO", NULL };

	expect_problems(NULL, env, 7,
	    "TWITCH2MQTT_MQTT_QOS: must be an integer (got '1 ')",
	    "TWITCH2MQTT_MQTT_VERSION: must be an integer (got '+5')",
	    "TWITCH2MQTT_MQTT_BUFFER_MAX: must be an integer (got '')",
	    "TWITCH2MQTT_MQTT_TLS_INSECURE: must be true or false (or 1/0, "
	    "yes/no, on/off) (got 'maybe')",
	    "TWITCH2MQTT_HOMEASSISTANT_DISCOVERY: must be true or false",
	    "TWITCH2MQTT_MQTT_URL: must name a host and optionally a port of "
	    "1-65535, as in mqtt://host:port (got 'wss://broker:99999/mqtt')",
	    "TWITCH2MQTT_BRIDGE_LOG_LEVEL: must be error, warn, info or debug",
	    NULL);

	char *big[] = { "TWITCH2MQTT_MQTT_BUFFER_MAX=99999999999999999999", NULL };
	expect_problems(NULL, big, 1, "TWITCH2MQTT_MQTT_BUFFER_MAX: must be an "
	    "integer (got '99999999999999999999')", NULL);
}

static void
test_channels_env(void **state)
{
	char *list[] = { "TWITCH2MQTT_CHANNELS= cool_streamer, other:bits+raid,",
		NULL };
	struct br_config *cfg = load_ok(NULL, list);
	json_t *want = json_loads("[{\"channel\":\"cool_streamer\"},"
	    "{\"channel\":\"other\",\"events\":[\"bits\",\"raid\"]}]", 0, NULL);

	assert_true(json_equal(cfg->channels, want));
	json_decref(want);
	br_config_free(cfg);

	char *js[] = { "TWITCH2MQTT_CHANNELS=[{\"channel\":\"a\","
		"\"transport\":\"pubsub\",\"events\":[\"whisper\"]}]", NULL };
	cfg = load_ok(NULL, js);
	assert_int_equal(json_array_size(cfg->channels), 1);
	br_config_free(cfg);

	/* The environment replaces the file's list; "" means none. */
	const char *path = put(*state, "c.json", "{\"channels\":[\"x\"]}");
	char *none[] = { "TWITCH2MQTT_CHANNELS=", NULL };
	cfg = load_ok(path, none);
	assert_int_equal(json_array_size(cfg->channels), 0);
	br_config_free(cfg);

	char *bad[] = { "TWITCH2MQTT_CHANNELS=good,other:bitz,a-b,x:", NULL };
	expect_problems(NULL, bad, 3,
	    "TWITCH2MQTT_CHANNELS[1]: unknown event 'bitz' for transport "
	    "websocket; accepted: bits, ",
	    "TWITCH2MQTT_CHANNELS[2]: channel must be a Twitch login of 1-25 "
	    "letters, digits or underscores, got 'a-b'",
	    "TWITCH2MQTT_CHANNELS[3]: events is empty", NULL);

	char *badjs[] = { "TWITCH2MQTT_CHANNELS=[{\"channel\":", NULL };
	expect_problems(NULL, badjs, 1, "TWITCH2MQTT_CHANNELS: not valid JSON "
	    "(column 12: unexpected token); give JSON or a list like "
	    "cool_streamer,other:bits+raid", NULL);
}

static void
test_channels_file_problems(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\"channels\":[{\"channel\":\"a\"},{\"channel\":\"b\",\"event\":[]},"
	    "{\"channel\":\"A\",\"events\":[\"raid\"]},7]}");

	expect_problems(path, no_env, 3,
	    "channels[1]: unknown key 'event' for subscribe (did you mean "
	    "'events'?)",
	    "channels[2]: the same channel and transport as channels[0]; merge "
	    "their events",
	    "channels[3]: subscribe needs a JSON object", NULL);
}

static void
test_missing_file(void **state)
{
	expect_problems("/nonexistent/t2m.json", no_env, 1,
	    "/nonexistent/t2m.json: cannot read: No such file or directory", NULL);

	char *env[] = { "TWITCH2MQTT_CONFIG=/nonexistent/env.json", NULL };
	expect_problems(NULL, env, 1, "/nonexistent/env.json: cannot read: No "
	    "such file or directory", NULL);
}

static void
test_path_resolution(void **state)
{
	struct fixture *f = *state;
	struct br_config *cfg;
	char env_path[4200];

	put(f, "twitch2mqtt.json", "{\"mqtt\":{\"qos\":0}}");
	cfg = load_ok(NULL, no_env);
	assert_string_equal(cfg->path, "twitch2mqtt.json");
	assert_int_equal(cfg->mqtt.qos, 0);
	br_config_free(cfg);

	snprintf(env_path, sizeof env_path, "TWITCH2MQTT_CONFIG=%s",
	    put(f, "env.json", "{\"mqtt\":{\"qos\":2}}"));
	char *env[] = { env_path, NULL };
	cfg = load_ok(NULL, env);
	assert_int_equal(cfg->mqtt.qos, 2);
	br_config_free(cfg);

	/* an explicit path beats both */
	cfg = load_ok(put(f, "explicit.json", "{}"), env);
	assert_int_equal(cfg->mqtt.qos, 1);
	br_config_free(cfg);
}

static void
test_json_syntax_error(void **state)
{
	const char *path = put(*state, "c.json",
	    "{\n  \"mqtt\": {\n    \"password\": \"hunter2\"\n    \"qos\": 1\n}}\n");
	char want[4200];

	snprintf(want, sizeof want, "%s: line 4, column 9: ", path);
	expect_problems(path, no_env, 1, want, NULL);

	/* jansson's "near" text would quote the file: maybe a secret */
	struct br_problems pr = { NULL, 0 };
	path = put(*state, "d.json", "{\"mqtt\":{\"password\":\"hunter2");
	assert_null(br_config_load(path, no_env, &pr));
	assert_int_equal(pr.n, 1);
	assert_null(strstr(pr.lines[0], "hunter2"));
	br_problems_free(&pr);

	path = put(*state, "e.json", "{\"mqtt\":{\"qos\":1,\"qos\":2}}");
	expect_problems(path, no_env, 1, "duplicate object key", NULL);
}

static void
test_summary_has_no_secrets(void **state)
{
	struct fixture *f = *state;
	char pw[4200];

	snprintf(pw, sizeof pw, "TWITCH2MQTT_MQTT_PASSWORD_FILE=%s",
	    put(f, "pw", "SECRET-pw\n"));
	char *env[] = { pw,
		"TWITCH2MQTT_MQTT_URL=mqtt://user:SECRET-url@broker:1883",
		"TWITCH2MQTT_TWITCH_CLIENT_SECRET=SECRET-cs",
		"TWITCH2MQTT_TWITCH_ACCESS_TOKEN=SECRET-at",
		"TWITCH2MQTT_TWITCH_REFRESH_TOKEN=SECRET-rt",
		"TWITCH2MQTT_WEBHOOK_SECRET=SECRET-webhook-hmac",
		"TWITCH2MQTT_WEBHOOK_PUBLIC_URL=https://u:SECRET-pub@ex.org/wh",
		"TWITCH2MQTT_CHANNELS=[{\"channel\":\"x\",\"token\":\"SECRET-tok\","
		    "\"refresh_token\":\"SECRET-ref\"}]",
		NULL };
	struct br_config *cfg = load_ok(NULL, env);
	json_t *s = br_config_summary(cfg);
	char *text = json_dumps(s, JSON_SORT_KEYS);

	assert_null(strstr(text, "SECRET"));
	json_t *mqtt = json_object_get(s, "mqtt");
	assert_string_equal(json_string_value(json_object_get(mqtt, "url")),
	    "mqtt://broker:1883");
	assert_true(json_is_true(json_object_get(mqtt, "password_set")));
	assert_null(json_object_get(mqtt, "password"));
	assert_int_equal(json_integer_value(json_object_get(mqtt, "qos")), 1);
	assert_true(json_is_true(json_object_get(json_object_get(s, "webhook"),
	    "secret_set")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    s, "bridge"), "log_level")), "info");
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(s, "channels"), 0), "token_set")));
	assert_true(json_is_true(json_object_get(json_array_get(
	    json_object_get(s, "channels"), 0), "refresh_token_set")));
	assert_true(json_is_null(json_object_get(s, "path")));
	/* the config itself still holds them */
	assert_string_equal(cfg->mqtt.password, "SECRET-pw");
	assert_non_null(json_object_get(json_array_get(cfg->channels, 0),
	    "token"));
	free(text);
	json_decref(s);
	br_config_free(cfg);

	/* unset secrets are reported as unset */
	cfg = load_ok(NULL, no_env);
	s = br_config_summary(cfg);
	assert_true(json_is_false(json_object_get(json_object_get(s, "twitch"),
	    "access_token_set")));
	json_decref(s);
	br_config_free(cfg);
}

/* A problem never quotes a secret, not even a URL's password. */
static void
test_problems_have_no_secrets(void **state)
{
	char *env[] = { "TWITCH2MQTT_MQTT_URL=http://u:hunter2@x",
		"TWITCH2MQTT_WEBHOOK_SECRET=hunter2", "TWITCH2MQTT_MQTT_QOS=hunter2",
		NULL };
	struct br_problems pr = { NULL, 0 };

	assert_null(br_config_load(NULL, env, &pr));
	assert_int_equal(pr.n, 3);
	for (size_t i = 0; i < pr.n; i++) {
		if (strncmp(pr.lines[i], "TWITCH2MQTT_MQTT_QOS:", 21) == 0)
			continue;       /* not a secret: it may be quoted */
		assert_null(strstr(pr.lines[i], "hunter2"));
	}
	br_problems_free(&pr);
}

static void
test_listen_split(void **state)
{
	char host[64];
	int port;

	assert_int_equal(br_config_listen_split("0.0.0.0:8080", host,
	    sizeof host, &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 8080);
	assert_int_equal(br_config_listen_split(":80", host, sizeof host,
	    &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(br_config_listen_split("[::1]:65535", host,
	    sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	assert_int_equal(br_config_listen_split("localhost:1", host,
	    sizeof host, &port), 0);
	assert_int_equal(br_config_listen_split("8080", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("x:0", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("x:65536", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("::1:80", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("x:80a", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("[::1]", host, sizeof host,
	    &port), -1);
	assert_int_equal(br_config_listen_split("[]:80", host, sizeof host,
	    &port), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_defaults),
		T(test_file),
		T(test_env_beats_file),
		T(test_only_effective_values_judged),
		T(test_file_variant),
		T(test_both_plain_and_file),
		T(test_unknown_keys),
		T(test_bad_types),
		T(test_bad_values),
		T(test_env_strict),
		T(test_channels_env),
		T(test_channels_file_problems),
		T(test_missing_file),
		T(test_path_resolution),
		T(test_json_syntax_error),
		T(test_summary_has_no_secrets),
		T(test_problems_have_no_secrets),
		T(test_listen_split),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
