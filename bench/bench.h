/*
 * Benchmark registry and result format. A benchmark is a function that measures and fills named
 * metrics; `bpfmm bench NAME [--json] [--runs N]` runs it N times and reports the median of each
 * metric, as a table or as {"name": ..., "metrics": {...}}. Each bench_*.c registers one
 * benchmark with BENCH_REGISTER(); this header owns the format, not any measurement.
 */
#ifndef BPFMM_BENCH_H
#define BPFMM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define BENCH_MAX_METRICS 32

struct bench_metrics {
    unsigned n;
    struct {
        char key[64];
        double value;
    } m[BENCH_MAX_METRICS];
};

struct bench_args {
    bool quick;   /* --quick: shorter measurement, for smoke tests */
    bool verbose; /* --verbose: progress on stderr */
};

struct bench_def {
    const char *name;
    const char *summary;
    /* Medians are taken over this many runs unless --runs says otherwise. A benchmark that
     * already repeats internally (or takes minutes) sets 1. */
    unsigned default_runs;
    /* Fills out; returns 0, 77 when it cannot run here (after printing why), or another
     * value on failure (after printing why). */
    int (*run)(const struct bench_args *args, struct bench_metrics *out);
};

void bench_register(const struct bench_def *def);
const struct bench_def *bench_find(const char *name);
unsigned bench_count(void);
const struct bench_def *bench_at(unsigned i);

#define BENCH_REGISTER(var)                                                                        \
    __attribute__((constructor)) static void var##_register(void)                                  \
    {                                                                                              \
        bench_register(&var);                                                                      \
    }

/* Sets (or overwrites) one metric. */
void bench_metric(struct bench_metrics *m, const char *key, double value);

/* Median of n values (sorts a copy); 0 for n == 0. */
double bench_median(const double *v, unsigned n);

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling process (user + system), in ns. */
static inline uint64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
