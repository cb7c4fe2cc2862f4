/* Prometheus metrics: counters, gauges and histograms with up to CC_METRIC_MAX_LABELS label
 * pairs, rendered in the text exposition format. Updates are lock-free on the hot path once a
 * series exists. One process-wide registry. */
#pragma once

#include "cc/util.h"

#define CC_METRIC_MAX_LABELS 3

struct cc_metric_counter;
struct cc_metric_gauge;
struct cc_metric_histogram;

/* Returns the series for (name, labels), creating it on first use. labels is an array of
 * nlabels {key, value} pairs; strings are copied. The same pointer is returned for the same
 * name+labels so callers may cache it. NULL for an invalid metric or label name, a duplicate
 * label, the reserved label "le", or a name already used by another type; the update functions
 * accept NULL and do nothing. HELP text and histogram buckets are the first registration's. */
struct cc_metric_counter *cc_metrics_counter(const char *name, const char *help,
                                             const char *const labels[][2], size_t nlabels);
struct cc_metric_gauge *cc_metrics_gauge(const char *name, const char *help,
                                         const char *const labels[][2], size_t nlabels);
/* Buckets in seconds, ascending; NULL = default latency buckets (1ms .. 10s). */
struct cc_metric_histogram *cc_metrics_histogram(const char *name, const char *help,
                                                 const char *const labels[][2], size_t nlabels,
                                                 const double *buckets, size_t nbuckets);

void cc_metric_counter_add(struct cc_metric_counter *c, uint64_t n);
void cc_metric_gauge_set(struct cc_metric_gauge *g, double v);
void cc_metric_gauge_add(struct cc_metric_gauge *g, double delta);
void cc_metric_histogram_observe(struct cc_metric_histogram *h, double v);

/* A gauge whose value is read at render time (outbox backlog, pool use, breaker state). fn runs
 * on the rendering thread without the registry lock held; it must not render or register gauge
 * callbacks itself.
 * Registering the same name+labels again replaces the callback; fn NULL removes the gauge, and
 * once that call returns the old callback is not running and will not run again (call it before
 * freeing userdata). */
typedef double (*cc_metric_gauge_fn)(void *userdata);
void cc_metrics_gauge_fn(const char *name, const char *help, const char *const labels[][2],
                         size_t nlabels, cc_metric_gauge_fn fn, void *userdata);

/* Renders the whole registry in Prometheus text format; returns a heap string (caller frees). */
char *cc_metrics_render(void);
/* Drops every series from the output and zeroes it (tests only). Series objects stay allocated,
 * so pointers cached by callers remain valid; looking the same series up again brings it back. */
void cc_metrics_reset(void);
