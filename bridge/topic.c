#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "topic.h"

#define LEVEL_MAX 200

/* Strict UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static bool
utf8_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s;
		int n;
		unsigned min;
		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		s++;
		for (int i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (*s & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
	}
	return true;
}

bool
br_topic_level_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > LEVEL_MAX || !utf8_ok((const unsigned char *)s))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '+' || *p == '#' || *p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* A leaf may have several levels ("eventsub/channel.shoutout.create"). */
static bool
leaf_ok(const char *leaf)
{
	char buf[LEVEL_MAX * 2 + 1];
	size_t n = leaf ? strlen(leaf) : 0;

	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, leaf, n + 1);
	for (char *save = NULL, *lvl = strtok_r(buf, "/", &save); lvl;
	    lvl = strtok_r(NULL, "/", &save))
		if (!br_topic_level_ok(lvl))
			return false;
	return leaf[0] != '/' && leaf[n - 1] != '/' && strstr(leaf, "//") == NULL;
}

int
br_topic_channel(char *buf, size_t size, const char *base,
    const char *channel, const char *leaf)
{
	if (!br_topic_level_ok(channel) || !leaf_ok(leaf))
		return -EINVAL;
	int n = snprintf(buf, size, "%s/%s/%s", base, channel, leaf);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

int
br_topic_bridge(char *buf, size_t size, const char *base, const char *leaf)
{
	int n = snprintf(buf, size, "%s/bridge/%s", base, leaf);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}
