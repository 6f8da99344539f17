/*
 * Benchmark registry and metric helpers (see bench.h). Owns no measurement.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_MAX 16

static const struct bench_def *defs[BENCH_MAX];
static unsigned nr_defs;

void bench_register(const struct bench_def *def)
{
    if (nr_defs == BENCH_MAX) {
        fprintf(stderr, "bpfmm: internal error: more than %d benchmarks\n", BENCH_MAX);
        abort();
    }
    defs[nr_defs++] = def;
}

const struct bench_def *bench_find(const char *name)
{
    for (unsigned i = 0; i < nr_defs; i++)
        if (!strcmp(defs[i]->name, name))
            return defs[i];
    return NULL;
}

unsigned bench_count(void)
{
    return nr_defs;
}

const struct bench_def *bench_at(unsigned i)
{
    return i < nr_defs ? defs[i] : NULL;
}

void bench_metric(struct bench_metrics *m, const char *key, double value)
{
    for (unsigned i = 0; i < m->n; i++) {
        if (!strcmp(m->m[i].key, key)) {
            m->m[i].value = value;
            return;
        }
    }
    if (m->n == BENCH_MAX_METRICS) {
        fprintf(stderr, "bpfmm: internal error: more than %d metrics\n", BENCH_MAX_METRICS);
        abort();
    }
    snprintf(m->m[m->n].key, sizeof(m->m[m->n].key), "%s", key);
    m->m[m->n].value = value;
    m->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(const double *v, unsigned n)
{
    if (n == 0)
        return 0;
    double *c = malloc(n * sizeof(*c));
    if (!c)
        return v[0];
    memcpy(c, v, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_double);
    double med = (n % 2) ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return med;
}
