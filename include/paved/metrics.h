#ifndef PAVED_METRICS_H
#define PAVED_METRICS_H
/* Counters, gauges and histograms rendered in the Prometheus text format.
 * Single-threaded: only the event loop thread touches it (the store writer
 * hands its timings back through completions). Label values must come from
 * a bounded set (normalized kinds, status codes), never from raw input. */
#include <stddef.h>
#include "paved/buf.h"

typedef struct paved_metrics paved_metrics;

int paved_metrics_new(paved_metrics **out);
void paved_metrics_free(paved_metrics *m); /* NULL is a no-op */

/* `name` and `help` must be string literals (kept by pointer). `labels` is
 * the inside of the braces, e.g. `forge="github",outcome="queued"`, or ""
 * (copied on first use). A family keeps the type it was first used with. */
void paved_metrics_inc(paved_metrics *m, const char *name, const char *help,
                       const char *labels, double by);
void paved_metrics_set(paved_metrics *m, const char *name, const char *help,
                       const char *labels, double value);
/* Histogram with the default latency buckets (1 ms to 10 s). */
void paved_metrics_observe(paved_metrics *m, const char *name, const char *help,
                           const char *labels, double seconds);
/* Histogram with its own upper bounds: `bounds` is a static ascending array
 * kept by pointer; it takes effect when the family is first used. */
void paved_metrics_observe_buckets(paved_metrics *m, const char *name,
                                   const char *help, const char *labels,
                                   double value, const double *bounds,
                                   size_t nbounds);
/* Current value of a counter or gauge series; 0 if absent (tests). */
double paved_metrics_value(paved_metrics *m, const char *name,
                           const char *labels);
int paved_metrics_render(paved_metrics *m, struct paved_buf *out);

#endif
