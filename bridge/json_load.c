/*
 * br_json_loadb: json_loadb(buf, len, 0, err) for the hot path (every
 * EventSub WebSocket message). jansson reads its input through a stream
 * that fetches, UTF-8-checks and saves one byte per function call, which
 * is most of its parse time; this reads the buffer directly and builds
 * the same jansson values with jansson's own constructors.
 *
 * It only ever accepts what jansson accepts, and then gives the same
 * value (same types, same strings, same key order; a later duplicate key
 * replaces the earlier value in place, as in jansson). Anything it does
 * not accept, or does not handle itself (escapes in object keys, nesting
 * deeper than FAST_DEPTH, very long numbers), goes to json_loadb, which
 * decides and writes the error. tests/unit/test_json_load.c checks the
 * two against each other on valid, broken and mutated input.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define FAST_DEPTH 256          /* jansson's own limit is 2048 */
#define NUMBER_MAX 64

struct parser {
	const unsigned char *s, *end;
	int depth;
	char *tmp;              /* decoded escapes */
	size_t tmp_cap;
};

static json_t *parse_value(struct parser *p);

static void
skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' ||
	    *p->s == '\r' || *p->s == '\t'))
		p->s++;
}

/* The length of the valid UTF-8 sequence at s (first byte >= 0x80), or
 * 0: jansson's utf8_check_first and utf8_check_full, no overlong forms,
 * no surrogates, nothing above U+10FFFF. */
static size_t
utf8_len(const unsigned char *s, const unsigned char *end)
{
	unsigned c = s[0];
	size_t n;
	uint32_t v;

	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - s) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n;
}

/*
 * Scans the string body after the opening quote up to its closing quote
 * (p->s ends after it). Returns 0 with *start and *len the raw body and
 * *escaped whether it holds a backslash; -1 where jansson refuses it
 * (control character, bad UTF-8, bad escape, no end).
 */
/* Bytes that end a run of plain string bytes: the quote, the backslash,
 * control characters and the start of UTF-8 sequences. */
static const unsigned char special[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

static int
scan_string(struct parser *p, const unsigned char **start, size_t *len,
    bool *escaped)
{
	const unsigned char *s = p->s;

	*start = s;
	*escaped = false;
	while (s < p->end) {
		unsigned c = *s;
		if (!special[c]) {
			s++;
			continue;
		}
		if (c == '"') {
			*len = (size_t)(s - *start);
			p->s = s + 1;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			*escaped = true;
			if (s + 1 >= p->end)
				return -1;
			s += 2;         /* the escape is checked when decoded */
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_len(s, p->end);
			if (n == 0)
				return -1;
			s += n;
			continue;
		}
		s++;
	}
	return -1;
}

static int
hex4(const unsigned char *s, const unsigned char *end, uint32_t *out)
{
	uint32_t v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *
put_utf8(char *t, uint32_t v)
{
	if (v < 0x80) {
		*t++ = (char)v;
	} else if (v < 0x800) {
		*t++ = (char)(0xC0 | v >> 6);
		*t++ = (char)(0x80 | (v & 0x3F));
	} else if (v < 0x10000) {
		*t++ = (char)(0xE0 | v >> 12);
		*t++ = (char)(0x80 | ((v >> 6) & 0x3F));
		*t++ = (char)(0x80 | (v & 0x3F));
	} else {
		*t++ = (char)(0xF0 | v >> 18);
		*t++ = (char)(0x80 | ((v >> 12) & 0x3F));
		*t++ = (char)(0x80 | ((v >> 6) & 0x3F));
		*t++ = (char)(0x80 | (v & 0x3F));
	}
	return t;
}

/* The escaped string body s..s+len decoded into p->tmp (never longer
 * than its source); -1 where jansson refuses it, \u0000 included. */
static int
decode(struct parser *p, const unsigned char *s, size_t len, size_t *out)
{
	const unsigned char *end = s + len;
	char *t;

	if (len + 1 > p->tmp_cap) {
		char *n = realloc(p->tmp, len + 1);
		if (n == NULL)
			return -1;
		p->tmp = n;
		p->tmp_cap = len + 1;
	}
	t = p->tmp;
	while (s < end) {
		if (*s != '\\') {
			*t++ = (char)*s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *t++ = '"'; break;
		case '\\': *t++ = '\\'; break;
		case '/': *t++ = '/'; break;
		case 'b': *t++ = '\b'; break;
		case 'f': *t++ = '\f'; break;
		case 'n': *t++ = '\n'; break;
		case 'r': *t++ = '\r'; break;
		case 't': *t++ = '\t'; break;
		case 'u': {
			uint32_t v, lo;
			if (hex4(s, end, &v) < 0)
				return -1;
			s += 4;
			if (v >= 0xD800 && v <= 0xDBFF) {
				if (end - s < 6 || s[0] != '\\' || s[1] != 'u' ||
				    hex4(s + 2, end, &lo) < 0 ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				s += 6;
				v = ((v - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
			} else if ((v >= 0xDC00 && v <= 0xDFFF) || v == 0) {
				return -1;
			}
			t = put_utf8(t, v);
			break;
		}
		default:
			return -1;
		}
	}
	*out = (size_t)(t - p->tmp);
	return 0;
}

static json_t *
parse_string(struct parser *p)
{
	const unsigned char *start;
	size_t len;
	bool escaped;

	p->s++;                 /* the quote */
	if (scan_string(p, &start, &len, &escaped) < 0)
		return NULL;
	if (!escaped)
		return json_stringn_nocheck((const char *)start, len);
	if (decode(p, start, len, &len) < 0)
		return NULL;
	return json_stringn_nocheck(p->tmp, len);
}

/* JSON's number grammar, then strtoll or strtod as jansson does. */
static json_t *
parse_number(struct parser *p)
{
	const unsigned char *s = p->s, *e = p->s;
	bool real = false;
	char buf[NUMBER_MAX + 1], *endp;

	if (e < p->end && *e == '-')
		e++;
	if (e >= p->end)
		return NULL;
	if (*e == '0') {
		e++;
		if (e < p->end && *e >= '0' && *e <= '9')
			return NULL;
	} else if (*e >= '1' && *e <= '9') {
		while (e < p->end && *e >= '0' && *e <= '9')
			e++;
	} else {
		return NULL;
	}
	if (e < p->end && *e == '.') {
		real = true;
		e++;
		if (e >= p->end || *e < '0' || *e > '9')
			return NULL;
		while (e < p->end && *e >= '0' && *e <= '9')
			e++;
	}
	if (e < p->end && (*e == 'e' || *e == 'E')) {
		real = true;
		e++;
		if (e < p->end && (*e == '+' || *e == '-'))
			e++;
		if (e >= p->end || *e < '0' || *e > '9')
			return NULL;
		while (e < p->end && *e >= '0' && *e <= '9')
			e++;
	}
	size_t n = (size_t)(e - s);
	if (n > NUMBER_MAX)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	p->s = e;
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, &endp, 10);
		if (errno == ERANGE || endp != buf + n)
			return NULL;
		return json_integer(v);
	}
	double d = strtod(buf, &endp);
	/* An overflow is jansson's error; a locale whose decimal point is
	 * not '.' stops strtod early, and jansson knows how to handle it. */
	if ((errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) ||
	    endp != buf + n)
		return NULL;
	return json_real(d);
}

static bool
literal(struct parser *p, const char *word, size_t n)
{
	if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0)
		return false;
	p->s += n;
	return true;
}

/* After a member or element: 1 at a ',' (more follow), 0 at the closing
 * character, -1 at anything else. Consumes what it read. */
static int
next_item(struct parser *p, unsigned char close)
{
	skip_ws(p);
	if (p->s < p->end && *p->s == ',') {
		p->s++;
		skip_ws(p);
		return 1;
	}
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return 0;
	}
	return -1;
}

static json_t *
parse_object(struct parser *p)
{
	json_t *obj = json_object();

	p->s++;                 /* '{' */
	skip_ws(p);
	if (p->s < p->end && *p->s == '}') {
		p->s++;
		return obj;
	}
	while (obj != NULL) {
		const unsigned char *key;
		size_t klen;
		bool escaped;

		if (p->s >= p->end || *p->s != '"')
			break;
		p->s++;
		/* Escaped keys are rare: jansson decodes those. */
		if (scan_string(p, &key, &klen, &escaped) < 0 || escaped)
			break;
		skip_ws(p);
		if (p->s >= p->end || *p->s != ':')
			break;
		p->s++;
		skip_ws(p);
		json_t *v = parse_value(p);
		if (v == NULL ||
		    json_object_setn_new_nocheck(obj, (const char *)key, klen, v))
			break;
		int more = next_item(p, '}');
		if (more == 0)
			return obj;
		if (more < 0)
			break;
	}
	json_decref(obj);
	return NULL;
}

static json_t *
parse_array(struct parser *p)
{
	json_t *arr = json_array();

	p->s++;                 /* '[' */
	skip_ws(p);
	if (p->s < p->end && *p->s == ']') {
		p->s++;
		return arr;
	}
	while (arr != NULL) {
		json_t *v = parse_value(p);
		if (v == NULL || json_array_append_new(arr, v))
			break;
		int more = next_item(p, ']');
		if (more == 0)
			return arr;
		if (more < 0)
			break;
	}
	json_decref(arr);
	return NULL;
}

/* A value at p->s (white space already skipped). */
static json_t *
parse_value(struct parser *p)
{
	json_t *v = NULL;

	if (p->s >= p->end || ++p->depth > FAST_DEPTH)
		return NULL;
	switch (*p->s) {
	case '{': v = parse_object(p); break;
	case '[': v = parse_array(p); break;
	case '"': v = parse_string(p); break;
	case 't': v = literal(p, "true", 4) ? json_true() : NULL; break;
	case 'f': v = literal(p, "false", 5) ? json_false() : NULL; break;
	case 'n': v = literal(p, "null", 4) ? json_null() : NULL; break;
	default:
		if (*p->s == '-' || (*p->s >= '0' && *p->s <= '9'))
			v = parse_number(p);
		break;
	}
	p->depth--;
	return v;
}

/* The fast parser alone: NULL for anything it does not accept. */
json_t *
br_json_loadb_fast(const char *buf, size_t len)
{
	struct parser p = { (const unsigned char *)buf,
		(const unsigned char *)buf + len, 0, NULL, 0 };
	json_t *v = NULL;

	if (buf == NULL)
		return NULL;
	skip_ws(&p);
	if (p.s < p.end && (*p.s == '{' || *p.s == '[')) {
		v = parse_value(&p);
		skip_ws(&p);
		if (v != NULL && p.s != p.end) {
			json_decref(v);
			v = NULL;
		}
	}
	free(p.tmp);
	return v;
}

json_t *
br_json_loadb(const char *buf, size_t len, json_error_t *err)
{
	json_t *v = br_json_loadb_fast(buf, len);

	if (v != NULL) {
		if (err != NULL) {
			memset(err, 0, sizeof *err);
			err->position = (int)len;
		}
		return v;
	}
	return json_loadb(buf, len, 0, err);
}
