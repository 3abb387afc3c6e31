/*
 * Shared by the benchmark programs: the demo's event mix, clocks and
 * peak-memory figures.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

/* The demo source's default events, in the order it rotates them. */
static const char *const bench_types[] = { "bits", "channel_points",
	"subscription", "follow", "raid", "stream" };
#define BENCH_NTYPES (sizeof bench_types / sizeof bench_types[0])

/* The channel every benchmark event is for, as the daemon's demo. */
#define BENCH_LOGIN "demo"

static inline int64_t
bench_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A "VmXxx:" figure of /proc/self/status in KiB, or -1. */
static inline long
bench_status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

static inline long
bench_maxrss_kib(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* CPU seconds (user + system) this process used so far, all threads. */
static inline double
bench_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Context switches this process made so far (voluntary + involuntary). */
static inline long
bench_ctxsw(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* CPU seconds of each thread of this process so far, as JSON members
 * "name":seconds (threads of one name summed), into buf. */
static inline void
bench_threads_json(char *buf, size_t size)
{
	struct { char name[32]; long ticks; } t[16];
	int nt = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	buf[0] = '\0';
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], line[1024], name[32];
		unsigned long ut, st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		char *ok = fgets(line, sizeof line, f);
		fclose(f);
		char *l = ok ? strchr(line, '(') : NULL, *r = ok ? strrchr(line, ')') : NULL;
		if (l == NULL || r == NULL || r - l - 1 >= (long)sizeof name)
			continue;
		memcpy(name, l + 1, (size_t)(r - l - 1));
		name[r - l - 1] = '\0';
		/* after ")": state is field 3; utime and stime are 14 and 15 */
		if (sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		    &ut, &st) != 2)
			continue;
		int i;
		for (i = 0; i < nt && strcmp(t[i].name, name) != 0; i++)
			;
		if (i == nt) {
			if (nt == 16)
				continue;
			snprintf(t[nt].name, sizeof t[nt].name, "%s", name);
			t[nt++].ticks = 0;
		}
		t[i].ticks += (long)(ut + st);
	}
	if (d != NULL)
		closedir(d);
	for (int i = 0; i < nt && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s\"%s\":%.2f",
		    i ? "," : "", t[i].name,
		    (double)t[i].ticks / (double)sysconf(_SC_CLK_TCK));
}

#endif
