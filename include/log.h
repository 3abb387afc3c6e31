/*
 * Logging: one line per record on stderr, "time level module: message
 * key=value ...". Never pass a secret to these functions.
 */
#ifndef BR_LOG_H
#define BR_LOG_H

enum br_log_level { BR_LOG_ERROR, BR_LOG_WARN, BR_LOG_INFO, BR_LOG_DEBUG };

/* The verbosity is the one process-wide setting outside struct bridge:
 * every module logs, and threading it through every call buys nothing. */
void br_log_set_level(enum br_log_level level);
enum br_log_level br_log_get_level(void);
int br_log_parse_level(const char *name, enum br_log_level *out);
const char *br_log_level_name(enum br_log_level level);

void br_log(enum br_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) br_log(BR_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) br_log(BR_LOG_WARN, __VA_ARGS__)
#define log_info(...) br_log(BR_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                     \
	do {                                                               \
		if (br_log_get_level() >= BR_LOG_DEBUG)                    \
			br_log(BR_LOG_DEBUG, __VA_ARGS__);                 \
	} while (0)

/* Routes libwebsockets' and paho's own log output into ours. */
void br_log_hook_libraries(void);

#endif
