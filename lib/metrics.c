#include "cc/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Families and series are never freed while the process runs: callers cache series pointers
 * (the HTTP server does, per route), so a reset only hides and zeroes them and a later lookup
 * of the same name and labels brings the same object back. Everything stays reachable from the
 * registry, so leak checkers see no loss. */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct family;

struct series {
        struct series *next;
        struct family *fam;
        size_t nlabels;
        char *keys[CC_METRIC_MAX_LABELS];
        char *values[CC_METRIC_MAX_LABELS];
        char *label_text; /* k="v",k2="v2" escaped, without braces; "" without labels */
        bool visible;
};

struct cc_metric_counter {
        struct series s;
        _Atomic uint64_t value;
};

struct cc_metric_gauge {
        struct series s;
        _Atomic uint64_t bits; /* a double's bits, so adds can be a compare-and-swap */
        cc_metric_gauge_fn fn; /* guarded by render_mu */
        void *userdata;
        double fn_value;
};

struct cc_metric_histogram {
        struct series s;
        const double *bounds; /* the family's */
        size_t nbounds;
        /* Per-bucket counts, not cumulative, plus one for +Inf: an observation touches one
         * counter and the sum; render adds them up. */
        _Atomic uint64_t *counts;
        _Atomic uint64_t sum_bits;
};

struct family {
        struct family *next;
        char *name;
        char *help;
        enum metric_type type;
        double *bounds;
        size_t nbounds;
        struct series *series, **tail;
        bool visible;
        bool dead; /* replaced by a family of another type after a reset */
};

/* reg_mu guards the lists; render_mu serialises renders with changes to gauge callbacks so a
 * callback removed by its owner is never running after the removal returns. Order: render_mu
 * before reg_mu. */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t render_mu = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, **families_tail = &families;

static const double default_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};

static uint64_t dbits(double v)
{
        uint64_t b;
        memcpy(&b, &v, sizeof(b));
        return b;
}

static double bitsd(uint64_t b)
{
        double v;
        memcpy(&v, &b, sizeof(v));
        return v;
}

static void atomic_add_double(_Atomic uint64_t *p, double delta)
{
        uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + delta),
                                                      memory_order_relaxed, memory_order_relaxed))
                ;
}

static bool valid_name(const char *s, bool colon_ok)
{
        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (colon_ok && c == ':') || (p != s && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

/* A growable text buffer for rendering. */
struct sbuf {
        char *data;
        size_t len, cap;
};

static void sbuf_reserve(struct sbuf *b, size_t extra)
{
        if (b->len + extra + 1 <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + extra + 1)
                cap *= 2;
        b->data = cc_xrealloc(b->data, cap);
        b->cap = cap;
}

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
        sbuf_reserve(b, n);
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void sbuf_puts(struct sbuf *b, const char *s)
{
        sbuf_add(b, s, strlen(s));
}

static void CC_PRINTF(2, 3) sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        sbuf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void sbuf_escaped(struct sbuf *b, const char *s, bool quote)
{
        for (; *s; s++) {
                if (*s == '\\')
                        sbuf_puts(b, "\\\\");
                else if (*s == '\n')
                        sbuf_puts(b, "\\n");
                else if (quote && *s == '"')
                        sbuf_puts(b, "\\\"");
                else
                        sbuf_add(b, s, 1);
        }
}

/* The shortest text that reads back as the same double, in the forms Prometheus parses. */
static void format_double(double v, char out[32])
{
        if (isnan(v)) {
                strcpy(out, "NaN");
                return;
        }
        if (isinf(v)) {
                strcpy(out, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(out, 32, "%.*g", prec, v);
                if (strtod(out, NULL) == v)
                        return;
        }
}

static struct family *find_family(const char *name)
{
        for (struct family *f = families; f; f = f->next)
                if (!f->dead && strcmp(f->name, name) == 0)
                        return f;
        return NULL;
}

static bool labels_equal(const struct series *s, const char *const labels[][2], size_t n)
{
        if (s->nlabels != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(s->keys[i], labels[i][0]) != 0 ||
                    strcmp(s->values[i], labels[i][1]) != 0)
                        return false;
        return true;
}

static bool labels_valid(const char *const labels[][2], size_t n)
{
        if (n > CC_METRIC_MAX_LABELS || (n > 0 && !labels))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!valid_name(labels[i][0], false) || !labels[i][1] ||
                    strcmp(labels[i][0], "le") == 0)
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(labels[i][0], labels[j][0]) == 0)
                                return false;
        }
        return true;
}

static void series_init(struct series *s, struct family *f, const char *const labels[][2], size_t n)
{
        struct sbuf b = {0};
        s->fam = f;
        s->nlabels = n;
        for (size_t i = 0; i < n; i++) {
                s->keys[i] = cc_xstrdup(labels[i][0]);
                s->values[i] = cc_xstrdup(labels[i][1]);
                sbuf_printf(&b, "%s%s=\"", i ? "," : "", labels[i][0]);
                sbuf_escaped(&b, labels[i][1], true);
                sbuf_puts(&b, "\"");
        }
        s->label_text = b.data ? b.data : cc_xstrdup("");
        s->visible = true;
        *f->tail = s;
        f->tail = &s->next;
}

/* Finds or creates the family and, if it exists, the series; called with reg_mu held. NULL
 * (and *ret_series untouched) for an invalid name or labels or a type clash. */
static struct family *lookup(const char *name, const char *help, enum metric_type type,
                             const char *const labels[][2], size_t nlabels, const double *bounds,
                             size_t nbounds, struct series **ret_series)
{
        if (!valid_name(name, true) || !labels_valid(labels, nlabels))
                return NULL;
        if (type == METRIC_HISTOGRAM && (!bounds || nbounds == 0)) {
                bounds = default_buckets;
                nbounds = CC_ARRAY_SIZE(default_buckets);
        }
        struct family *f = find_family(name);
        /* After a reset a name may come back as another type or with other buckets. */
        if (f && (f->type != type || (type == METRIC_HISTOGRAM && !f->visible &&
                                      (f->nbounds != nbounds ||
                                       memcmp(f->bounds, bounds, nbounds * sizeof(double)))))) {
                if (f->visible)
                        return NULL;
                f->dead = true;
                f = NULL;
        }
        if (!f) {
                f = cc_xcalloc(1, sizeof(*f));
                f->name = cc_xstrdup(name);
                f->help = cc_xstrdup(help ? help : "");
                f->type = type;
                f->tail = &f->series;
                if (type == METRIC_HISTOGRAM) {
                        f->bounds = cc_xmalloc(nbounds * sizeof(double));
                        memcpy(f->bounds, bounds, nbounds * sizeof(double));
                        f->nbounds = nbounds;
                }
                *families_tail = f;
                families_tail = &f->next;
        }
        f->visible = true;
        *ret_series = NULL;
        for (struct series *s = f->series; s; s = s->next) {
                if (labels_equal(s, labels, nlabels)) {
                        s->visible = true;
                        *ret_series = s;
                        break;
                }
        }
        return f;
}

static bool buckets_valid(const double *b, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (isnan(b[i]) || (i > 0 && !(b[i] > b[i - 1])))
                        return false;
        return true;
}

struct cc_metric_counter *cc_metrics_counter(const char *name, const char *help,
                                             const char *const labels[][2], size_t nlabels)
{
        struct series *s;
        struct cc_metric_counter *c = NULL;
        pthread_mutex_lock(&reg_mu);
        struct family *f = lookup(name, help, METRIC_COUNTER, labels, nlabels, NULL, 0, &s);
        if (f && s) {
                c = (struct cc_metric_counter *)s;
        } else if (f) {
                c = cc_xcalloc(1, sizeof(*c));
                series_init(&c->s, f, labels, nlabels);
        }
        pthread_mutex_unlock(&reg_mu);
        return c;
}

static struct cc_metric_gauge *gauge_locked(const char *name, const char *help,
                                            const char *const labels[][2], size_t nlabels)
{
        struct series *s;
        struct family *f = lookup(name, help, METRIC_GAUGE, labels, nlabels, NULL, 0, &s);
        if (!f)
                return NULL;
        if (s)
                return (struct cc_metric_gauge *)s;
        struct cc_metric_gauge *g = cc_xcalloc(1, sizeof(*g));
        atomic_init(&g->bits, dbits(0.0));
        series_init(&g->s, f, labels, nlabels);
        return g;
}

struct cc_metric_gauge *cc_metrics_gauge(const char *name, const char *help,
                                         const char *const labels[][2], size_t nlabels)
{
        pthread_mutex_lock(&reg_mu);
        struct cc_metric_gauge *g = gauge_locked(name, help, labels, nlabels);
        pthread_mutex_unlock(&reg_mu);
        return g;
}

struct cc_metric_histogram *cc_metrics_histogram(const char *name, const char *help,
                                                 const char *const labels[][2], size_t nlabels,
                                                 const double *buckets, size_t nbuckets)
{
        if (buckets && !buckets_valid(buckets, nbuckets))
                return NULL;
        struct series *s;
        struct cc_metric_histogram *h = NULL;
        pthread_mutex_lock(&reg_mu);
        struct family *f =
            lookup(name, help, METRIC_HISTOGRAM, labels, nlabels, buckets, nbuckets, &s);
        if (f && s) {
                h = (struct cc_metric_histogram *)s;
        } else if (f) {
                h = cc_xcalloc(1, sizeof(*h));
                h->bounds = f->bounds;
                h->nbounds = f->nbounds;
                h->counts = cc_xcalloc(f->nbounds + 1, sizeof(_Atomic uint64_t));
                atomic_init(&h->sum_bits, dbits(0.0));
                series_init(&h->s, f, labels, nlabels);
        }
        pthread_mutex_unlock(&reg_mu);
        return h;
}

void cc_metric_counter_add(struct cc_metric_counter *c, uint64_t n)
{
        if (c)
                atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

void cc_metric_gauge_set(struct cc_metric_gauge *g, double v)
{
        if (g)
                atomic_store_explicit(&g->bits, dbits(v), memory_order_relaxed);
}

void cc_metric_gauge_add(struct cc_metric_gauge *g, double delta)
{
        if (g)
                atomic_add_double(&g->bits, delta);
}

void cc_metric_histogram_observe(struct cc_metric_histogram *h, double v)
{
        if (!h)
                return;
        size_t i = 0;
        while (i < h->nbounds && v > h->bounds[i])
                i++;
        atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
        atomic_add_double(&h->sum_bits, v);
}

void cc_metrics_gauge_fn(const char *name, const char *help, const char *const labels[][2],
                         size_t nlabels, cc_metric_gauge_fn fn, void *userdata)
{
        pthread_mutex_lock(&render_mu);
        pthread_mutex_lock(&reg_mu);
        struct cc_metric_gauge *g = gauge_locked(name, help, labels, nlabels);
        if (g) {
                g->fn = fn;
                g->userdata = fn ? userdata : NULL;
                if (!fn)
                        g->s.visible = false;
        }
        pthread_mutex_unlock(&reg_mu);
        pthread_mutex_unlock(&render_mu);
}

static const char *type_name(enum metric_type t)
{
        switch (t) {
        case METRIC_COUNTER:
                return "counter";
        case METRIC_GAUGE:
                return "gauge";
        case METRIC_HISTOGRAM:
                return "histogram";
        }
        return "untyped";
}

static void render_labels(struct sbuf *b, const struct series *s)
{
        if (s->nlabels)
                sbuf_printf(b, "{%s}", s->label_text);
}

static void render_histogram(struct sbuf *b, const struct family *f,
                             const struct cc_metric_histogram *h)
{
        const char *lt = h->s.label_text;
        const char *sep = h->s.nlabels ? "," : "";
        char num[32];
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h->nbounds; i++) {
                cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
                if (i < h->nbounds)
                        format_double(h->bounds[i], num);
                else
                        strcpy(num, "+Inf");
                sbuf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", f->name, lt, sep, num,
                            (unsigned long long)cumulative);
        }
        format_double(bitsd(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)), num);
        sbuf_printf(b, "%s_sum", f->name);
        render_labels(b, &h->s);
        sbuf_printf(b, " %s\n%s_count", num, f->name);
        render_labels(b, &h->s);
        sbuf_printf(b, " %llu\n", (unsigned long long)cumulative);
}

static void render_family(struct sbuf *b, const struct family *f)
{
        bool header = false;
        char num[32];
        for (const struct series *s = f->series; s; s = s->next) {
                if (!s->visible)
                        continue;
                if (!header) {
                        sbuf_printf(b, "# HELP %s ", f->name);
                        sbuf_escaped(b, f->help, false);
                        sbuf_printf(b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
                        header = true;
                }
                switch (f->type) {
                case METRIC_COUNTER: {
                        const struct cc_metric_counter *c = (const void *)s;
                        sbuf_puts(b, f->name);
                        render_labels(b, s);
                        sbuf_printf(b, " %llu\n",
                                    (unsigned long long)atomic_load_explicit(&c->value,
                                                                             memory_order_relaxed));
                        break;
                }
                case METRIC_GAUGE: {
                        const struct cc_metric_gauge *g = (const void *)s;
                        double v =
                            g->fn ? g->fn_value
                                  : bitsd(atomic_load_explicit(&g->bits, memory_order_relaxed));
                        format_double(v, num);
                        sbuf_puts(b, f->name);
                        render_labels(b, s);
                        sbuf_printf(b, " %s\n", num);
                        break;
                }
                case METRIC_HISTOGRAM:
                        render_histogram(b, f, (const void *)s);
                        break;
                }
        }
}

char *cc_metrics_render(void)
{
        pthread_mutex_lock(&render_mu);

        /* Callbacks run without reg_mu: one may take its own lock (a pool's) while another
         * thread holding that lock creates a series. render_mu keeps the set of callbacks fixed
         * until the text is written. */
        size_t nfn = 0, capfn = 0;
        struct cc_metric_gauge **fns = NULL;
        pthread_mutex_lock(&reg_mu);
        for (struct family *f = families; f; f = f->next) {
                if (f->dead || f->type != METRIC_GAUGE)
                        continue;
                for (struct series *s = f->series; s; s = s->next) {
                        struct cc_metric_gauge *g = (void *)s;
                        if (!s->visible || !g->fn)
                                continue;
                        if (nfn == capfn) {
                                capfn = capfn ? capfn * 2 : 8;
                                fns = cc_xrealloc(fns, capfn * sizeof(*fns));
                        }
                        fns[nfn++] = g;
                }
        }
        pthread_mutex_unlock(&reg_mu);
        for (size_t i = 0; i < nfn; i++)
                fns[i]->fn_value = fns[i]->fn(fns[i]->userdata);
        free(fns);

        struct sbuf b = {0};
        pthread_mutex_lock(&reg_mu);
        for (struct family *f = families; f; f = f->next)
                if (!f->dead && f->visible)
                        render_family(&b, f);
        pthread_mutex_unlock(&reg_mu);
        pthread_mutex_unlock(&render_mu);
        return b.data ? b.data : cc_xstrdup("");
}

void cc_metrics_reset(void)
{
        pthread_mutex_lock(&render_mu);
        pthread_mutex_lock(&reg_mu);
        for (struct family *f = families; f; f = f->next) {
                f->visible = false;
                for (struct series *s = f->series; s; s = s->next) {
                        s->visible = false;
                        if (f->dead)
                                continue;
                        switch (f->type) {
                        case METRIC_COUNTER:
                                atomic_store(&((struct cc_metric_counter *)s)->value, 0);
                                break;
                        case METRIC_GAUGE: {
                                struct cc_metric_gauge *g = (void *)s;
                                atomic_store(&g->bits, dbits(0.0));
                                g->fn = NULL;
                                g->userdata = NULL;
                                break;
                        }
                        case METRIC_HISTOGRAM: {
                                struct cc_metric_histogram *h = (void *)s;
                                for (size_t i = 0; i <= h->nbounds; i++)
                                        atomic_store(&h->counts[i], 0);
                                atomic_store(&h->sum_bits, dbits(0.0));
                                break;
                        }
                        }
                }
        }
        pthread_mutex_unlock(&reg_mu);
        pthread_mutex_unlock(&render_mu);
}
