/*
 * Counters and gauges with labels, rendered as Prometheus text. Loop
 * thread only.
 */
#ifndef BR_METRICS_H
#define BR_METRICS_H

#include <jansson.h>

struct br_metrics;

enum br_metric_kind { BR_COUNTER, BR_GAUGE };

struct br_metrics *br_metrics_new(void);
void br_metrics_free(struct br_metrics *m);

/* Families must be declared before use; the help text is rendered. */
void br_metrics_declare(struct br_metrics *m, const char *family,
                        enum br_metric_kind kind, const char *help);

/* Label pairs follow as name, value, ..., NULL. Values are escaped. */
void br_metrics_add(struct br_metrics *m, const char *family, long long by,
                    ...) __attribute__((sentinel));
void br_metrics_set(struct br_metrics *m, const char *family, long long value,
                    ...) __attribute__((sentinel));
long long br_metrics_get(struct br_metrics *m, const char *family, ...)
    __attribute__((sentinel));
long long br_metrics_sum(struct br_metrics *m, const char *family);

/* Returns a new string (free()). */
char *br_metrics_render(struct br_metrics *m);

/* {"<family without prefix>": sum, ...}; a new reference. */
json_t *br_metrics_summary(struct br_metrics *m);

#endif
