/* Prometheus metrics kept in memory and rendered in text format 0.0.4.
 * Updates are on the hot path (every request touches several series), so
 * a family is found by the address of its name literal (one hash probe),
 * and a series by a hash of its label string. Families and series are
 * kept in first-use order so that the output is stable. Series per family
 * are capped: a label set from a bug cannot eat the heap. Never reads the
 * clock and never does I/O: rendering goes into a caller's buffer. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paved/error.h"
#include "paved/metrics.h"

#define METRICS_MAX_SERIES 1000
#define METRICS_DROPPED "paved_metrics_dropped_series_total"
#define METRICS_DROPPED_HELP                                                   \
    "Series not created because their family hit its cap."

static const double metrics_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

enum metrics_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct metrics_series {
    char *ms_labels;
    uint32_t ms_hash;
    double ms_value; /* counter, gauge; histogram: sum */
    uint64_t ms_count;
    uint64_t *ms_buckets; /* histogram only: per bucket, not cumulative */
};

struct metrics_family {
    const char *mf_name; /* borrowed literal */
    const char *mf_help;
    enum metrics_type mf_type;
    const double *mf_bounds; /* histogram: upper bounds, ascending */
    size_t mf_nbounds;
    struct metrics_series *mf_series; /* first-use order */
    size_t mf_nseries, mf_capseries;
    uint32_t *mf_index; /* open addressing: series index + 1, 0 = free */
    size_t mf_indexcap; /* power of two */
};

/* Name pointer -> family. Different literals with the same text (two
 * translation units) are aliases of one family. */
struct metrics_alias {
    const char *ma_name;
    struct metrics_family *ma_family;
};

struct paved_metrics {
    struct metrics_family **m_families; /* first-use order */
    size_t m_nfamilies, m_capfamilies;
    struct metrics_alias *m_alias; /* open addressing by pointer */
    size_t m_nalias, m_aliascap;   /* power of two */
    struct metrics_family *m_last; /* the family updated last */
};

static uint32_t
metrics_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static size_t
metrics_ptr_slot(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;

    x ^= x >> 17;
    x *= (uintptr_t)0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static int
metrics_alias_put(paved_metrics *m, const char *name, struct metrics_family *f)
{
    struct metrics_alias *old = m->m_alias, *na;
    size_t i, oldcap = m->m_aliascap, cap = oldcap, s;

    if ((m->m_nalias + 1) * 2 > cap) {
        cap = cap ? cap * 2 : 64;
        if ((na = calloc(cap, sizeof(*na))) == NULL)
            return PAVED_ENOMEM;
        for (i = 0; i < oldcap; i++) {
            if (old[i].ma_name == NULL)
                continue;
            for (s = metrics_ptr_slot(old[i].ma_name, cap);
                 na[s].ma_name != NULL; s = (s + 1) & (cap - 1))
                ;
            na[s] = old[i];
        }
        free(old);
        m->m_alias = na;
        m->m_aliascap = cap;
    }
    for (s = metrics_ptr_slot(name, cap); m->m_alias[s].ma_name != NULL;
         s = (s + 1) & (cap - 1))
        ;
    m->m_alias[s].ma_name = name;
    m->m_alias[s].ma_family = f;
    m->m_nalias++;
    return 0;
}

static struct metrics_family *
metrics_alias_get(const paved_metrics *m, const char *name)
{
    size_t s;

    if (m->m_aliascap == 0)
        return NULL;
    for (s = metrics_ptr_slot(name, m->m_aliascap);
         m->m_alias[s].ma_name != NULL; s = (s + 1) & (m->m_aliascap - 1))
        if (m->m_alias[s].ma_name == name)
            return m->m_alias[s].ma_family;
    return NULL;
}

/* The family called name; created with type t when create is set. NULL
 * when absent or out of memory. */
static struct metrics_family *
metrics_family(paved_metrics *m, const char *name, const char *help,
               enum metrics_type t, bool create)
{
    struct metrics_family *f, **fams;
    size_t i;

    if (m->m_last != NULL && m->m_last->mf_name == name)
        return m->m_last;
    if ((f = metrics_alias_get(m, name)) != NULL)
        return m->m_last = f;
    /* a new pointer: same text as a known family, or a new family */
    for (i = 0; i < m->m_nfamilies; i++) {
        if (strcmp(m->m_families[i]->mf_name, name) == 0) {
            f = m->m_families[i];
            if (metrics_alias_put(m, name, f) < 0)
                return NULL;
            return m->m_last = f;
        }
    }
    if (!create)
        return NULL;
    if (m->m_nfamilies == m->m_capfamilies) {
        size_t cap = m->m_capfamilies ? m->m_capfamilies * 2 : 32;
        if ((fams = realloc(m->m_families, cap * sizeof(*fams))) == NULL)
            return NULL;
        m->m_families = fams;
        m->m_capfamilies = cap;
    }
    if ((f = calloc(1, sizeof(*f))) == NULL)
        return NULL;
    f->mf_name = name;
    f->mf_help = help != NULL ? help : "";
    f->mf_type = t;
    f->mf_bounds = metrics_buckets;
    f->mf_nbounds = METRICS_NBUCKETS;
    if (metrics_alias_put(m, name, f) < 0) {
        free(f);
        return NULL;
    }
    m->m_families[m->m_nfamilies++] = f;
    return m->m_last = f;
}

static int
metrics_index_grow(struct metrics_family *f)
{
    size_t cap = f->mf_indexcap ? f->mf_indexcap * 2 : 16, i, s;
    uint32_t *idx;

    if ((idx = calloc(cap, sizeof(*idx))) == NULL)
        return PAVED_ENOMEM;
    for (i = 0; i < f->mf_nseries; i++) {
        for (s = f->mf_series[i].ms_hash & (cap - 1); idx[s] != 0;
             s = (s + 1) & (cap - 1))
            ;
        idx[s] = (uint32_t)(i + 1);
    }
    free(f->mf_index);
    f->mf_index = idx;
    f->mf_indexcap = cap;
    return 0;
}

static struct metrics_series *
metrics_series_find(const struct metrics_family *f, const char *labels,
                    uint32_t h)
{
    struct metrics_series *s;
    size_t slot;

    if (f->mf_indexcap == 0)
        return NULL;
    for (slot = h & (f->mf_indexcap - 1); f->mf_index[slot] != 0;
         slot = (slot + 1) & (f->mf_indexcap - 1)) {
        s = &f->mf_series[f->mf_index[slot] - 1];
        if (s->ms_hash == h && strcmp(s->ms_labels, labels) == 0)
            return s;
    }
    return NULL;
}

static void metrics_update(paved_metrics *m, const char *name, const char *help,
                           const char *labels, enum metrics_type t, double v,
                           const double *bounds, size_t nbounds);

/* The series, created on first use. NULL when the family is full (the
 * drop is counted) or memory ran out. */
static struct metrics_series *
metrics_series(paved_metrics *m, struct metrics_family *f, const char *labels)
{
    uint32_t h = metrics_hash(labels);
    struct metrics_series *s, *series;
    size_t slot;
    char dlabels[256];

    if ((s = metrics_series_find(f, labels, h)) != NULL)
        return s;
    if (f->mf_nseries >= METRICS_MAX_SERIES) {
        if (strcmp(f->mf_name, METRICS_DROPPED) != 0) {
            snprintf(dlabels, sizeof(dlabels), "family=\"%s\"", f->mf_name);
            metrics_update(m, METRICS_DROPPED, METRICS_DROPPED_HELP, dlabels,
                           MT_COUNTER, 1, NULL, 0);
        }
        return NULL;
    }
    if ((f->mf_nseries + 1) * 2 > f->mf_indexcap && metrics_index_grow(f) < 0)
        return NULL;
    if (f->mf_nseries == f->mf_capseries) {
        size_t cap = f->mf_capseries ? f->mf_capseries * 2 : 4;
        if ((series = realloc(f->mf_series, cap * sizeof(*series))) == NULL)
            return NULL;
        f->mf_series = series;
        f->mf_capseries = cap;
    }
    s = &f->mf_series[f->mf_nseries];
    memset(s, 0, sizeof(*s));
    if ((s->ms_labels = strdup(labels)) == NULL)
        return NULL;
    if (f->mf_type == MT_HISTOGRAM &&
        (s->ms_buckets = calloc(f->mf_nbounds, sizeof(uint64_t))) == NULL) {
        free(s->ms_labels);
        return NULL;
    }
    s->ms_hash = h;
    for (slot = h & (f->mf_indexcap - 1); f->mf_index[slot] != 0;
         slot = (slot + 1) & (f->mf_indexcap - 1))
        ;
    f->mf_index[slot] = (uint32_t)(++f->mf_nseries);
    return s;
}

static void
metrics_update(paved_metrics *m, const char *name, const char *help,
               const char *labels, enum metrics_type t, double v,
               const double *bounds, size_t nbounds)
{
    struct metrics_family *f;
    struct metrics_series *s;
    size_t i;

    if (m == NULL || name == NULL || isnan(v))
        return;
    if ((f = metrics_family(m, name, help, t, true)) == NULL)
        return;
    if (bounds != NULL && f->mf_nseries == 0) {
        f->mf_bounds = bounds; /* set before the first series exists */
        f->mf_nbounds = nbounds;
    }
    /* a family keeps its first type; inc on a gauge is fine, mixing
     * histograms with the others is a bug we refuse quietly */
    if ((f->mf_type == MT_HISTOGRAM) != (t == MT_HISTOGRAM))
        return;
    if (f->mf_type == MT_COUNTER && t == MT_COUNTER && v < 0)
        return; /* counters only go up */
    if ((s = metrics_series(m, f, labels != NULL ? labels : "")) == NULL)
        return;
    switch (t) {
    case MT_COUNTER:
        s->ms_value += v;
        break;
    case MT_GAUGE:
        s->ms_value = v;
        break;
    case MT_HISTOGRAM:
        /* first bucket whose bound holds v; past the last: +Inf only */
        for (i = 0; i < f->mf_nbounds && v > f->mf_bounds[i]; i++)
            ;
        if (i < f->mf_nbounds)
            s->ms_buckets[i]++;
        s->ms_value += v;
        s->ms_count++;
        break;
    }
}

int
paved_metrics_new(paved_metrics **out)
{
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return paved_error_set(PAVED_ENOMEM, "out of memory");
    return 0;
}

void
paved_metrics_free(paved_metrics *m)
{
    size_t i, j;

    if (m == NULL)
        return;
    for (i = 0; i < m->m_nfamilies; i++) {
        struct metrics_family *f = m->m_families[i];
        for (j = 0; j < f->mf_nseries; j++) {
            free(f->mf_series[j].ms_labels);
            free(f->mf_series[j].ms_buckets);
        }
        free(f->mf_series);
        free(f->mf_index);
        free(f);
    }
    free(m->m_families);
    free(m->m_alias);
    free(m);
}

void
paved_metrics_inc(paved_metrics *m, const char *name, const char *help,
                  const char *labels, double by)
{
    metrics_update(m, name, help, labels, MT_COUNTER, by, NULL, 0);
}

void
paved_metrics_set(paved_metrics *m, const char *name, const char *help,
                  const char *labels, double value)
{
    metrics_update(m, name, help, labels, MT_GAUGE, value, NULL, 0);
}

void
paved_metrics_observe(paved_metrics *m, const char *name, const char *help,
                      const char *labels, double seconds)
{
    metrics_update(m, name, help, labels, MT_HISTOGRAM, seconds, NULL, 0);
}

void
paved_metrics_observe_buckets(paved_metrics *m, const char *name,
                              const char *help, const char *labels,
                              double value, const double *bounds,
                              size_t nbounds)
{
    metrics_update(m, name, help, labels, MT_HISTOGRAM, value, bounds, nbounds);
}

/* Counter or gauge value; for a histogram, its count. */
double
paved_metrics_value(paved_metrics *m, const char *name, const char *labels)
{
    struct metrics_family *f;
    struct metrics_series *s;
    const char *l = labels != NULL ? labels : "";

    if (m == NULL || name == NULL ||
        (f = metrics_family(m, name, NULL, MT_COUNTER, false)) == NULL)
        return 0;
    if ((s = metrics_series_find(f, l, metrics_hash(l))) == NULL)
        return 0;
    return f->mf_type == MT_HISTOGRAM ? (double)s->ms_count : s->ms_value;
}

/* Shortest text that reads back as the same double, as Go prints them. */
static int
metrics_put_value(struct paved_buf *b, double v)
{
    char s[40];

    if (isnan(v))
        return paved_buf_puts(b, "NaN");
    if (isinf(v))
        return paved_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    if (v == (double)(int64_t)v && fabs(v) < 1e15)
        return paved_buf_printf(b, "%lld", (long long)v);
    snprintf(s, sizeof(s), "%.15g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof(s), "%.17g", v);
    return paved_buf_puts(b, s);
}

/* HELP text escapes backslash and newline (format 0.0.4). */
static int
metrics_put_help(struct paved_buf *b, const char *help)
{
    int error = 0;

    for (; *help != '\0' && error == 0; help++) {
        if (*help == '\\')
            error = paved_buf_puts(b, "\\\\");
        else if (*help == '\n')
            error = paved_buf_puts(b, "\\n");
        else
            error = paved_buf_putc(b, *help);
    }
    return error;
}

/* name{labels} or name, with an optional extra label (le) merged in. */
static int
metrics_put_series(struct paved_buf *b, const char *name, const char *suffix,
                   const char *labels, const char *le)
{
    int error;

    if ((error = paved_buf_printf(b, "%s%s", name, suffix)) < 0)
        return error;
    if (labels[0] == '\0' && le == NULL)
        return paved_buf_putc(b, ' ');
    if ((error = paved_buf_printf(b, "{%s", labels)) < 0)
        return error;
    if (le != NULL && (error = paved_buf_printf(b, "%sle=\"%s\"",
                                                labels[0] ? "," : "", le)) < 0)
        return error;
    return paved_buf_puts(b, "} ");
}

static int
metrics_render_histogram(struct paved_buf *b, const struct metrics_family *f,
                         const struct metrics_series *s)
{
    uint64_t cum = 0;
    char le[32];
    size_t i;
    int error;

    for (i = 0; i < f->mf_nbounds; i++) {
        cum += s->ms_buckets[i];
        snprintf(le, sizeof(le), "%g", f->mf_bounds[i]);
        if ((error = metrics_put_series(b, f->mf_name, "_bucket", s->ms_labels,
                                        le)) < 0 ||
            (error = paved_buf_printf(b, "%llu\n", (unsigned long long)cum)) <
                0)
            return error;
    }
    if ((error = metrics_put_series(b, f->mf_name, "_bucket", s->ms_labels,
                                    "+Inf")) < 0 ||
        (error = paved_buf_printf(b, "%llu\n",
                                  (unsigned long long)s->ms_count)) < 0 ||
        (error = metrics_put_series(b, f->mf_name, "_sum", s->ms_labels,
                                    NULL)) < 0 ||
        (error = metrics_put_value(b, s->ms_value)) < 0 ||
        (error = paved_buf_putc(b, '\n')) < 0 ||
        (error = metrics_put_series(b, f->mf_name, "_count", s->ms_labels,
                                    NULL)) < 0 ||
        (error = paved_buf_printf(b, "%llu\n",
                                  (unsigned long long)s->ms_count)) < 0)
        return error;
    return 0;
}

int
paved_metrics_render(paved_metrics *m, struct paved_buf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    size_t i, j;
    int error;

    for (i = 0; m != NULL && i < m->m_nfamilies; i++) {
        const struct metrics_family *f = m->m_families[i];
        if ((error = paved_buf_printf(out, "# HELP %s ", f->mf_name)) < 0 ||
            (error = metrics_put_help(out, f->mf_help)) < 0 ||
            (error = paved_buf_printf(out, "\n# TYPE %s %s\n", f->mf_name,
                                      type_names[f->mf_type])) < 0)
            return error;
        for (j = 0; j < f->mf_nseries; j++) {
            const struct metrics_series *s = &f->mf_series[j];
            if (f->mf_type == MT_HISTOGRAM) {
                error = metrics_render_histogram(out, f, s);
            } else if ((error = metrics_put_series(out, f->mf_name, "",
                                                   s->ms_labels, NULL)) == 0 &&
                       (error = metrics_put_value(out, s->ms_value)) == 0) {
                error = paved_buf_putc(out, '\n');
            }
            if (error < 0)
                return error;
        }
    }
    return 0;
}
