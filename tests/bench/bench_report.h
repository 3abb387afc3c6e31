/*
 * The counters' result line (bench_sub, bench_sub_paho): one JSON object
 * with the count, the rate from the first counted message to the last,
 * latency percentiles and the process's CPU.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static inline int
bench_cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static inline int64_t
bench_pct(const int64_t *v, long n, double p)
{
	if (n == 0)
		return -1;
	long i = (long)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Sorts lat[0..lat_n). */
static inline void
bench_sub_report(long count, long want, bool lost, int64_t first_us,
    int64_t last_us, int64_t *lat, long lat_n)
{
	struct rusage ru;
	double cpu, dur = count > 1 ? (double)(last_us - first_us) / 1e6 : 0;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	qsort(lat, (size_t)lat_n, sizeof *lat, bench_cmp64);
	printf("{\"count\":%ld,\"want\":%ld,\"complete\":%s,"
	    "\"lost_connection\":%s,\"duration_s\":%.6f,\"rate\":%.1f,"
	    "\"lat_n\":%ld,\"p50_us\":%lld,\"p99_us\":%lld,\"max_us\":%lld,"
	    "\"cpu_s\":%.3f}\n", count, want, count == want ? "true" : "false",
	    lost ? "true" : "false", dur,
	    dur > 0 ? (double)(count - 1) / dur : 0.0, lat_n,
	    (long long)bench_pct(lat, lat_n, 0.50),
	    (long long)bench_pct(lat, lat_n, 0.99),
	    (long long)bench_pct(lat, lat_n, 1.0), cpu);
}

#endif
