#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libwebsockets.h>

#include "log.h"
#include "util.h"

static enum br_log_level current_level = BR_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void br_log_set_level(enum br_log_level level) { current_level = level; }
enum br_log_level br_log_get_level(void) { return current_level; }

const char *
br_log_level_name(enum br_log_level level)
{
	return level_names[level];
}

int
br_log_parse_level(const char *name, enum br_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum br_log_level)i;
			return 0;
		}
	}
	return -1;
}

void
br_log(enum br_log_level level, const char *fmt, ...)
{
	char when[BR_TIME_LEN], line[2048];
	va_list ap;

	if (level > current_level)
		return;
	br_format_time(when, br_now_ms());
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One fprintf per record keeps lines whole across threads. */
	fprintf(stderr, "%s %-5s %s\n", when, level_names[level], line);
}

static void
lws_log_hook(int level, const char *line)
{
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	br_log(level == LLL_ERR ? BR_LOG_WARN : BR_LOG_DEBUG, "lws: %.*s",
	    (int)n, line);
}

void
br_log_hook_libraries(void)
{
	int mask = LLL_ERR;
	if (current_level >= BR_LOG_DEBUG)
		mask |= LLL_WARN | LLL_NOTICE;
	lws_set_log_level(mask, lws_log_hook);
}
