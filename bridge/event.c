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
	size_t n;
	char *s = br_json_compact(ev->obj, &n);
	if (s == NULL) {
		s = br_xstrdup("{}");
		n = 2;
	}
	if (len)
		*len = n;
	return s;
}

/*
 * A compact encoder for what events are made of. jansson's own dumper
 * spends most of its time outside the bytes it writes: a callback per
 * fragment, snprintf("%p") and a hash table insert per object or array
 * for cycle detection, snprintf per integer, and a UTF-8 decode per
 * character. This writes the same bytes (jansson 2.14's rules for
 * JSON_COMPACT without ENSURE_ASCII or ESCAPE_SLASH: escape '"', '\' and
 * controls, \u00XX in upper case for those without a short form; keys in
 * iteration order, which is insertion order) and hands everything it does
 * not cover to json_dumps: reals, invalid UTF-8 (which json_dumps
 * refuses), nesting deeper than DUMP_DEPTH_MAX (which is also how a cycle
 * ends up there), older jansson. tests/unit/test_event.c holds it to
 * json_dumps.
 */
#define DUMP_DEPTH_MAX 32

/* Written into a stack buffer first, moved to the heap only if it
 * outgrows it; the result is then allocated to its size, as json_dumps
 * does (a buffered event keeps its payload for as long as it waits). */
struct out {
	char *s;
	size_t n, cap;
	bool heap;
};

static char *
out_room(struct out *o, size_t more)
{
	if (o->cap - o->n < more) {
		size_t cap = o->cap;
		while (cap - o->n < more)
			cap *= 2;
		if (o->heap) {
			o->s = br_xrealloc(o->s, cap);
		} else {
			char *s = br_xmalloc(cap);
			memcpy(s, o->s, o->n);
			o->s = s;
			o->heap = true;
		}
		o->cap = cap;
	}
	return o->s + o->n;
}

static void
out_put(struct out *o, const char *p, size_t len)
{
	memcpy(out_room(o, len), p, len);
	o->n += len;
}

/* jansson's utf8_check_string: no stray continuation bytes, no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
static bool
utf8_valid(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t n;
		uint32_t v;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 2, v = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3, v = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4, v = c & 0x07;
		} else {
			return false;
		}
		if (n > len - i)
			return false;
		for (size_t k = 1; k < n; k++) {
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return false;
			v = (v << 6) | (p[i + k] & 0x3f);
		}
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
		    (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
			return false;
		i += n;
	}
	return true;
}

static bool
dump_str(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	bool high = false;
	char *d = out_room(o, 6 * len + 2), *start = d;

	*d++ = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			high |= c >= 0x80;
			*d++ = (char)c;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		default:
			*d++ = 'u';
			*d++ = '0';
			*d++ = '0';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		}
	}
	*d++ = '"';
	if (high && !utf8_valid(p, len))
		return false;
	o->n += (size_t)(d - start);
	return true;
}

static void
dump_int(struct out *o, json_int_t v)
{
	char buf[24], *p = buf + sizeof buf;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
	                             : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	out_put(o, p, (size_t)(buf + sizeof buf - p));
}

static bool
dump_value(struct out *o, const json_t *j, int depth)
{
	if (depth > DUMP_DEPTH_MAX)
		return false;
	switch (json_typeof(j)) {
	case JSON_NULL:
		out_put(o, "null", 4);
		return true;
	case JSON_TRUE:
		out_put(o, "true", 4);
		return true;
	case JSON_FALSE:
		out_put(o, "false", 5);
		return true;
	case JSON_INTEGER:
		dump_int(o, json_integer_value(j));
		return true;
	case JSON_STRING:
		return dump_str(o, json_string_value(j), json_string_length(j));
	case JSON_ARRAY:
		out_put(o, "[", 1);
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i > 0)
				out_put(o, ",", 1);
			if (!dump_value(o, json_array_get(j, i), depth + 1))
				return false;
		}
		out_put(o, "]", 1);
		return true;
	case JSON_OBJECT:
		out_put(o, "{", 1);
		bool first = true;
		for (void *it = json_object_iter((json_t *)j); it != NULL;
		    it = json_object_iter_next((json_t *)j, it)) {
			if (!first)
				out_put(o, ",", 1);
			first = false;
			if (!dump_str(o, json_object_iter_key(it),
			    json_object_iter_key_len(it)))
				return false;
			out_put(o, ":", 1);
			if (!dump_value(o, json_object_iter_value(it), depth + 1))
				return false;
		}
		out_put(o, "}", 1);
		return true;
	default:        /* reals: jansson's own formatting */
		return false;
	}
}

char *
br_json_compact(const json_t *j, size_t *len)
{
	char *s = NULL;

#if JANSSON_VERSION_HEX >= 0x020e00
	char stack[2048];
	struct out o = { stack, 0, sizeof stack, false };
	bool ok = (json_is_object(j) || json_is_array(j)) &&
	    dump_value(&o, j, 0);
	if (ok) {
		s = br_xmalloc(o.n + 1);
		memcpy(s, o.s, o.n);
		s[o.n] = '\0';
		if (len)
			*len = o.n;
	}
	if (o.heap)
		free(o.s);
	if (ok)
		return s;
#endif
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s != NULL && len)
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
