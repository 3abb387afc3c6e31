/*
 * The normalizer's lenient getters (eventsub_int.h): every read of a
 * Twitch payload goes through these, so a wrong type anywhere is only
 * an absent value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eventsub_int.h"
#include "util.h"

int
br_es_fail(const struct br_es_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err != NULL && c->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *
br_es_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* prefix "user_", field "login" -> the string at "user_login". Keys
 * longer than 63 bytes are cut there, as snprintf into key[64] did. */
const char *
br_es_pstr(json_t *obj, const char *prefix, const char *field)
{
	char key[64];
	size_t p = strlen(prefix), f = strlen(field);

	if (p > sizeof key - 1)
		p = sizeof key - 1;
	if (f > sizeof key - 1 - p)
		f = sizeof key - 1 - p;
	memcpy(key, prefix, p);
	memcpy(key + p, field, f);
	key[p + f] = '\0';
	return br_es_str(obj, key);
}

bool
br_es_int_of(json_t *v, json_int_t *out)
{
	const char *s = json_string_value(v);
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && json_real_value(v) >= -9e15 &&
	    json_real_value(v) <= 9e15) {
		*out = (json_int_t)json_real_value(v);
		return true;
	}
	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = n;
	return true;
}

bool
br_es_bool_of(json_t *v, bool *out)
{
	const char *s = json_string_value(v);

	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (s != NULL && strcasecmp(s, "true") == 0)
		*out = true;
	else if (s != NULL && strcasecmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

bool
br_es_flag(json_t *obj, const char *key)
{
	bool b = false;

	return br_es_bool_of(json_object_get(obj, key), &b) && b;
}

json_t *
br_es_jstr(json_t *obj, const char *key)
{
	const char *s = br_es_str(obj, key);

	return s != NULL ? json_string(s) : json_null();
}

json_t *
br_es_jtext(json_t *obj, const char *key)
{
	const char *s = br_es_str(obj, key);

	return json_string(s != NULL ? s : "");
}

json_t *
br_es_jint(json_t *obj, const char *key)
{
	json_int_t n;

	if (!br_es_int_of(json_object_get(obj, key), &n))
		return json_null();
	return json_integer(n);
}

json_t *
br_es_jbool(json_t *obj, const char *key)
{
	bool b;

	if (!br_es_bool_of(json_object_get(obj, key), &b))
		return json_null();
	return json_boolean(b);
}

/* {"id","login","name"} from <prefix>id/login/name, or null. */
json_t *
br_es_person(json_t *obj, const char *prefix)
{
	return br_user_json(br_es_pstr(obj, prefix, "id"),
	    br_es_pstr(obj, prefix, "login"), br_es_pstr(obj, prefix, "name"));
}

/*
 * Twitch says anonymous three ways: is_anonymous, empty or null user
 * fields (twitch-cli sends ""), and the placeholder account
 * "ananonymousgifter", which has a real-looking id.
 */
bool
br_es_anonymous(json_t *obj, const char *prefix, const char *flag_key)
{
	const char *login = br_es_pstr(obj, prefix, "login");

	return br_es_flag(obj, flag_key) ||
	    (br_es_pstr(obj, prefix, "id") == NULL && login == NULL) ||
	    (login != NULL && strcasecmp(login, "ananonymousgifter") == 0);
}

void
br_es_add(struct br_event *ev, const char *key, json_t *value)
{
	json_object_set_new(br_event_json(ev), key, value);
}

void
br_es_set_user(struct br_event *ev, json_t *obj, const char *prefix)
{
	br_es_add(ev, "user", br_es_person(obj, prefix));
}

/* Seconds from a time in ms to an RFC 3339 string, rounded; or null. */
json_t *
br_es_seconds_until(bool have_from, long long from_ms, const char *to)
{
	int64_t to_ms;

	if (!have_from || to == NULL || br_parse_time(to, &to_ms) != 0 ||
	    to_ms < from_ms)
		return json_null();
	return json_integer((json_int_t)((to_ms - from_ms + 500) / 1000));
}
