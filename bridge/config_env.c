/*
 * The environment side of the configuration (CONTRACT section 2): each
 * key as TWITCH2MQTT_<SECTION>_<KEY>, or read from the file named by
 * <...>_FILE (Docker secrets). envp is passed in rather than read with
 * getenv(), so tests and reloads see exactly the environment they mean.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "request.h"
#include "util.h"

#define VALUE_FILE_MAX (64 * 1024)
#define NAME_MAX_LEN 128

const char *
br_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

void
br_config_section_keys(char *buf, size_t size, const char *const *names,
    const char *section)
{
	size_t o = 0, sl = strlen(section);

	buf[0] = '\0';
	for (; *names != NULL && o < size; names++)
		if (strncmp(*names, section, sl) == 0 && (*names)[sl] == '.')
			o += (size_t)snprintf(buf + o, size - o, "%s%s",
			    o ? ", " : "", *names + sl + 1);
}

/* "mqtt.ca_file" -> "TWITCH2MQTT_MQTT_CA_FILE" */
static void
env_name(char *buf, size_t size, const char *key)
{
	snprintf(buf, size, BR_ENV_PREFIX "%s", key);
	for (char *p = buf; *p != '\0'; p++)
		*p = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ?
		    (char)(*p - 'a' + 'A') : *p;
}

/* A Docker secret ends in a newline that the value does not hold. */
static char *
read_value_file(const char *var, const char *path, struct br_problems *pr)
{
	char q[BR_QUOTE_MAX + 8], *buf;
	size_t len;
	int rc;

	br_quote(q, sizeof q, path);
	if ((rc = br_read_file(path, VALUE_FILE_MAX, &buf, &len)) < 0) {
		br_problems_add(pr, "%s: cannot read '%s': %s", var, q,
		    rc == -EFBIG ? "larger than 64 KiB" : strerror(-rc));
		return NULL;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (strlen(buf) != len) {
		br_problems_add(pr, "%s: '%s' holds a NUL byte", var, q);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Fills v from NAME or NAME_FILE, never both; 0 when neither is set. */
static int
env_value(char *const *envp, const char *key, struct br_env_value *v,
    struct br_problems *pr)
{
	char name[NAME_MAX_LEN], fname[NAME_MAX_LEN + 8];
	const char *plain, *file;

	env_name(name, sizeof name, key);
	snprintf(fname, sizeof fname, "%s_FILE", name);
	plain = br_env_get(envp, name);
	file = br_env_get(envp, fname);
	if (plain != NULL && file != NULL) {
		br_problems_add(pr, "%s and %s are both set; set only one of "
		    "them", name, fname);
		return 0;
	}
	if (plain == NULL && file == NULL)
		return 0;
	v->key = key;
	v->value = plain ? br_xstrdup(plain) : read_value_file(fname, file, pr);
	v->var = br_xstrdup(plain ? name : fname);
	if (v->value != NULL)
		return 1;
	free(v->var);
	v->var = NULL;
	return 0;
}

static bool
known(const char *name, const char *const *names)
{
	char buf[NAME_MAX_LEN];

	if (strcmp(name, BR_ENV_PREFIX "CONFIG") == 0)
		return true;
	for (; *names != NULL; names++) {
		env_name(buf, sizeof buf, *names);
		if (strcmp(name, buf) == 0)
			return true;
	}
	return false;
}

/* TWITCH2MQTT_MQTT_URLL: list what the mqtt section does accept. */
static void
unknown(const char *var, const char *const *names, struct br_problems *pr)
{
	static const char *const sections[] = {
		"mqtt", "twitch", "http", "webhook", "homeassistant", "bridge"
	};
	const char *rest = var + strlen(BR_ENV_PREFIX);
	char q[BR_QUOTE_MAX + 8], list[512], sect[32];

	br_quote(q, sizeof q, var);
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		size_t n = strlen(sections[i]);
		env_name(sect, sizeof sect, sections[i]);
		if (strncmp(rest, sect + strlen(BR_ENV_PREFIX), n) != 0 ||
		    rest[n] != '_')
			continue;
		br_config_section_keys(list, sizeof list, names, sections[i]);
		br_problems_add(pr, "%s: unknown variable; the %s keys are %s "
		    "(as %s_<KEY>)", q, sections[i], list, sect);
		return;
	}
	br_problems_add(pr, "%s: unknown variable; accepted: " BR_ENV_PREFIX
	    "<SECTION>_<KEY> for the keys of mqtt, twitch, http, webhook, "
	    "homeassistant and bridge, " BR_ENV_PREFIX "CHANNELS and "
	    BR_ENV_PREFIX "CONFIG", q);
}

/* Any TWITCH2MQTT_ variable no key claims is a typo the user would
 * otherwise never learn of. */
static void
check_unknown(char *const *envp, const char *const *names,
    struct br_problems *pr)
{
	size_t pl = strlen(BR_ENV_PREFIX);
	char name[NAME_MAX_LEN];

	for (; envp != NULL && *envp != NULL; envp++) {
		size_t n = strcspn(*envp, "=");
		if (strncmp(*envp, BR_ENV_PREFIX, pl) != 0)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)n, *envp);
		if (n < sizeof name && known(name, names))
			continue;
		if (n < sizeof name && n > 5 &&
		    strcmp(name + n - 5, "_FILE") == 0) {
			name[n - 5] = '\0';
			if (strcmp(name, BR_ENV_PREFIX "CONFIG") != 0 &&
			    known(name, names))
				continue;
			name[n - 5] = '_';
		}
		unknown(name, names, pr);
	}
}

size_t
br_env_read(char *const *envp, const char *const *names,
    struct br_env_value **out, struct br_problems *pr)
{
	size_t n = 0, cap = 0;

	while (names[cap] != NULL)
		cap++;
	*out = br_xcalloc(cap, sizeof **out);
	for (size_t i = 0; i < cap; i++)
		n += (size_t)env_value(envp, names[i], &(*out)[n], pr);
	check_unknown(envp, names, pr);
	return n;
}

void
br_env_values_free(struct br_env_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].value);
		free(v[i].var);
	}
	free(v);
}
