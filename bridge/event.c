#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

struct br_event {
	json_t *obj;            /* the whole event, common fields first */
	char *leaf;             /* topic leaf when not the type */
	long long time_ms;
};

static json_t *
str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

struct br_event *
br_event_new(const char *type, const char *event_type, const char *source)
{
	struct br_event *ev = br_xcalloc(1, sizeof *ev);

	/* Insertion order is the order users see (JSON_PRESERVE_ORDER);
	 * setters replace values in place. */
	ev->obj = json_object();
	json_object_set_new(ev->obj, "id", json_string(""));
	json_object_set_new(ev->obj, "type", json_string(type));
	json_object_set_new(ev->obj, "event_type", str_or_null(event_type));
	json_object_set_new(ev->obj, "source", json_string(source));
	json_object_set_new(ev->obj, "time", json_null());
	json_object_set_new(ev->obj, "test", json_false());
	json_object_set_new(ev->obj, "channel", json_null());
	json_object_set_new(ev->obj, "user", json_null());
	br_event_set_time_ms(ev, br_now_ms());
	return ev;
}

void
br_event_free(struct br_event *ev)
{
	if (ev == NULL)
		return;
	json_decref(ev->obj);
	free(ev->leaf);
	free(ev);
}

void
br_event_set_id(struct br_event *ev, const char *id)
{
	json_object_set_new(ev->obj, "id", json_string(id));
}

void
br_event_set_time_ms(struct br_event *ev, long long unix_ms)
{
	char buf[BR_TIME_LEN];

	ev->time_ms = unix_ms;
	br_format_time(buf, unix_ms);
	json_object_set_new(ev->obj, "time", json_string(buf));
}

void
br_event_set_test(struct br_event *ev, bool test)
{
	json_object_set_new(ev->obj, "test", json_boolean(test));
}

void
br_event_set_event_type(struct br_event *ev, const char *event_type)
{
	json_object_set_new(ev->obj, "event_type", str_or_null(event_type));
}

static json_t *
lower_or_null(const char *s)
{
	if (s == NULL || *s == '\0')
		return json_null();
	char *low = br_xstrdup(s);
	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	json_t *j = json_string(low);
	free(low);
	return j != NULL ? j : json_null();
}

static json_t *
person(const char *id, const char *login, const char *name)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", str_or_null(id));
	json_object_set_new(o, "login", lower_or_null(login));
	json_object_set_new(o, "name", str_or_null(name));
	return o;
}

json_t *
br_user_json(const char *id, const char *login, const char *name)
{
	if ((id == NULL || *id == '\0') && (login == NULL || *login == '\0'))
		return json_null();
	return person(id, login, name);
}

void
br_event_set_channel(struct br_event *ev, const char *id, const char *login,
    const char *name)
{
	json_object_set_new(ev->obj, "channel", person(id, login, name));
}

void
br_event_set_user(struct br_event *ev, const char *id, const char *login,
    const char *name)
{
	json_object_set_new(ev->obj, "user", br_user_json(id, login, name));
}

void
br_event_set_topic_leaf(struct br_event *ev, const char *leaf)
{
	free(ev->leaf);
	ev->leaf = leaf ? br_xstrdup(leaf) : NULL;
}

static const char *
field(const struct br_event *ev, const char *key)
{
	return json_string_value(json_object_get(ev->obj, key));
}

const char *br_event_id(const struct br_event *ev) { return field(ev, "id"); }
const char *br_event_type(const struct br_event *ev) { return field(ev, "type"); }
const char *br_event_source(const struct br_event *ev) { return field(ev, "source"); }
long long br_event_time_ms(const struct br_event *ev) { return ev->time_ms; }
json_t *br_event_json(struct br_event *ev) { return ev->obj; }

const char *
br_event_channel_login(const struct br_event *ev)
{
	json_t *ch = json_object_get(ev->obj, "channel");
	return json_string_value(json_object_get(ch, "login"));
}

const char *
br_event_topic_leaf(const struct br_event *ev)
{
	return ev->leaf != NULL ? ev->leaf : br_event_type(ev);
}

char *
br_event_dump(const struct br_event *ev, size_t *len)
{
	char *s = json_dumps(ev->obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s == NULL)
		s = br_xstrdup("{}");
	if (len)
		*len = strlen(s);
	return s;
}

void
br_slug(const char *title, char *out, size_t size)
{
	size_t n = 0;
	bool gap = false;

	for (const char *p = title ? title : ""; *p && n + 1 < size; p++) {
		char c = (char)tolower((unsigned char)*p);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (gap && n > 0 && n + 2 < size)
				out[n++] = '_';
			gap = false;
			out[n++] = c;
		} else {
			gap = true;
		}
	}
	if (n == 0 && size > 0)
		n = (size_t)snprintf(out, size, "reward");
	out[n < size ? n : size - 1] = '\0';
}
