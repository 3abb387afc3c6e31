/*
 * Small helpers every module uses: allocation that never returns NULL,
 * clocks, time formatting, atomic file writes.
 */
#ifndef BR_UTIL_H
#define BR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Out of memory is not recoverable for a daemon of this size: log and
 * abort, and let the service manager restart us (redis' zmalloc policy). */
void *br_xmalloc(size_t n);
void *br_xcalloc(size_t n, size_t size);
void *br_xrealloc(void *p, size_t n);
char *br_xstrdup(const char *s);
char *br_xstrndup(const char *s, size_t n);
/* A copy of s, or NULL when s is NULL or empty: an empty option in the
 * configuration means "not set". */
char *br_xstrdup_nonempty(const char *s);
/* Both strings there and equal. */
bool br_str_same(const char *a, const char *b);
char *br_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int64_t br_now_ms(void);        /* CLOCK_REALTIME, milliseconds */
int64_t br_mono_ms(void);       /* CLOCK_MONOTONIC, milliseconds */
int64_t br_mono_us(void);

/* "2026-11-21T20:15:07.123Z"; buf must hold BR_TIME_LEN bytes. */
#define BR_TIME_LEN 64
void br_format_time(char *buf, int64_t unix_ms);

/* Parses RFC 3339 with 0-9 fraction digits and Z or +hh:mm; -1 on junk. */
int br_parse_time(const char *s, int64_t *unix_ms);

/* Random v4 UUID, 37 bytes with the NUL. */
void br_uuid(char buf[37]);
uint64_t br_random64(void);

/* Writes data to path through a temporary file and rename(2), with the
 * given mode, so a crash never leaves a half-written file. 0 or -errno. */
int br_write_file_atomic(const char *path, const void *data, size_t len,
                         unsigned mode);

/* Reads a whole file (at most max bytes) into a new NUL-terminated
 * buffer. 0 or -errno (-EFBIG past max). */
int br_read_file(const char *path, size_t max, char **out, size_t *len);

/* mkdir -p with mode; 0 or -errno. */
int br_mkdirs(const char *path, unsigned mode);

/* The TCP sockets of this process connected to the given remote port:
 * up to max descriptors into fds; returns how many there are (possibly
 * more than max). For libraries that keep their socket to themselves
 * (paho.mqtt.c). */
int br_tcp_sockets_to_port(int port, int *fds, int max);

/* TCP_NODELAY on or off; 0 or -errno. */
int br_tcp_nodelay(int fd, bool on);

/* The port of a URL ("mqtt://host:1883/x", "wss://[::1]"), the scheme's
 * default when it has none (mqtt/tcp 1883, mqtts/ssl 8883, ws/http 80,
 * wss/https 443), or -1. */
int br_url_port(const char *url);

/* Seeded 64-bit hash for tables fed by the network (keys are hostile). */
uint64_t br_hash64(const void *data, size_t len, uint64_t seed);
/* SplitMix64's finalizer: every bit of h in every bit of the result. */
uint64_t br_mix64(uint64_t h);

#endif
