/*
 * `bpfmm bench alloc`: throughput of the page allocator's paths and the worst-case latency of
 * its never-waiting calls.
 *   order0_pcp_pairs_per_sec     order-0 alloc+free pairs, one thread, through its thread cache
 *   order0_zone_pairs_per_sec    the same with no thread caches (zone lock every call)
 *   order9_pairs_per_sec         order-9 pairs (split from / merged back into order 10)
 *   contended_try_alloc_per_sec  successful try_alloc_pages (each freed with free_pages_nolock)
 *                                by 2 threads plus a signal handler interrupting them
 *   try_alloc_worst_ns           slowest try_alloc_pages while another thread holds the zone
 *                                lock and the caller's cache cannot serve (true maximum)
 *   free_nolock_worst_ns         the same for free_pages_nolock (it defers)
 * plus p99.9 latencies, calls over 10 us, and failure ratios next to them. The latency phase
 * runs the measuring thread SCHED_FIFO when allowed (latency_sched_fifo = 1) so that other
 * processes on a shared machine do not preempt it mid-call, and pre-faults its sample arrays;
 * the maximum is still over every measured call. latency_noise_worst_ns is the same timing
 * around an empty statement, as many times: what interrupts and the host add on this machine
 * (latency_faults_or_preemptions counts page faults and involuntary switches in the window).
 * Owns the measurements only; the allocator is src/alloc.
 */
#include "bench.h"

#include "alloc/alloc_testing.h"
#include "bpfmm/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define ZONE_FRAMES (1u << 16) /* 256 MiB, unbacked: the paths, not page faults, are measured */

static bpfmm_alloc_t *make(unsigned pcp_slots, uint64_t frames)
{
    struct bpfmm_alloc_opts o = {
        .sz = sizeof(o), .nr_frames = frames, .max_order = 10, .pcp_slots = pcp_slots};
    bpfmm_alloc_t *a = bpfmm_alloc_create(&o);
    if (!a)
        fprintf(stderr, "bench alloc: cannot create an allocator: %s\n", bpfmm_alloc_last_error());
    return a;
}

/* Blocking alloc/free pairs of one order; returns pairs per second, or -1 on a failure. */
static double pairs_per_sec(bpfmm_alloc_t *a, unsigned order, uint64_t n)
{
    for (int i = 0; i < 1000; i++) { /* warm: claim the thread cache, fill it */
        int64_t p = bpfmm_alloc_pages(a, order, 0);
        if (p < 0 || bpfmm_alloc_free_pages(a, (uint64_t)p, order))
            return -1;
    }
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        int64_t p = bpfmm_alloc_pages(a, order, 0);
        if (__builtin_expect(p < 0, 0) || bpfmm_alloc_free_pages(a, (uint64_t)p, order))
            return -1;
    }
    uint64_t dt = bench_now_ns() - t0;
    return (double)n * 1e9 / (double)(dt ? dt : 1);
}

/* --- contended try_alloc: 2 threads + a signal handler -------------------------------------- */

static bpfmm_alloc_t *cont_a;
static _Atomic uint64_t cont_ok, cont_fail;
static _Atomic int cont_stop;

static void cont_handler(int sig)
{
    (void)sig;
    int saved = errno;
    int64_t p = bpfmm_alloc_try_alloc_pages(cont_a, 0);
    if (p >= 0) {
        bpfmm_alloc_free_pages_nolock(cont_a, (uint64_t)p, 0);
        atomic_fetch_add_explicit(&cont_ok, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&cont_fail, 1, memory_order_relaxed);
    }
    errno = saved;
}

struct cont_arg {
    uint64_t n;
    uint64_t ok, fail;
};

static void *cont_worker(void *arg)
{
    struct cont_arg *c = arg;
    /* One blocking call claims this thread's cache, as a real user's first call would. */
    int64_t p = bpfmm_alloc_pages(cont_a, 0, 0);
    if (p >= 0)
        bpfmm_alloc_free_pages(cont_a, (uint64_t)p, 0);
    for (uint64_t i = 0; i < c->n; i++) {
        p = bpfmm_alloc_try_alloc_pages(cont_a, 0);
        if (p >= 0) {
            bpfmm_alloc_free_pages_nolock(cont_a, (uint64_t)p, 0);
            c->ok++;
        } else {
            c->fail++;
        }
    }
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    return NULL;
}

static pthread_t cont_t[2];

static void *cont_signaller(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50000};
    while (!atomic_load(&cont_stop)) {
        for (int i = 0; i < 2; i++)
            pthread_kill(cont_t[i], SIGUSR1);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int contended(uint64_t n, double *per_sec, double *fail_ratio)
{
    cont_a = make(0, ZONE_FRAMES);
    if (!cont_a)
        return -1;
    atomic_store(&cont_ok, 0);
    atomic_store(&cont_fail, 0);
    atomic_store(&cont_stop, 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cont_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, &old);
    struct cont_arg args[2] = {{.n = n}, {.n = n}};
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        pthread_create(&cont_t[i], NULL, cont_worker, &args[i]);
    pthread_t sg;
    pthread_create(&sg, NULL, cont_signaller, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(cont_t[i], NULL);
    uint64_t dt = bench_now_ns() - t0;
    atomic_store(&cont_stop, 1);
    pthread_join(sg, NULL);
    sigaction(SIGUSR1, &old, NULL);
    uint64_t ok = args[0].ok + args[1].ok + atomic_load(&cont_ok);
    uint64_t fail = args[0].fail + args[1].fail + atomic_load(&cont_fail);
    *per_sec = (double)ok * 1e9 / (double)(dt ? dt : 1);
    *fail_ratio = ok + fail ? (double)fail / (double)(ok + fail) : 0;
    char msg[256];
    int err = bpfmm_alloc_check(cont_a, msg, sizeof(msg));
    if (err)
        fprintf(stderr, "bench alloc: allocator inconsistent after the contended run: %s\n", msg);
    bpfmm_alloc_destroy(cont_a);
    return err ? -1 : 0;
}

/* --- worst-case latency while another thread holds the zone lock -------------------------- */

static bpfmm_alloc_t *lat_a;
static pthread_barrier_t lat_bar;

static void *lat_holder(void *arg)
{
    (void)arg;
    alloc_testing_zone_lock(lat_a);
    pthread_barrier_wait(&lat_bar); /* locked */
    pthread_barrier_wait(&lat_bar); /* measuring done */
    alloc_testing_zone_unlock(lat_a);
    return NULL;
}

struct lat {
    uint64_t n, max_try, max_free;
    uint32_t *try_ns, *free_ns;
    uint64_t n_try, n_free;
    int64_t *blocks;
    unsigned free_order;
    bool use_cache; /* claim a (then emptied) thread cache first */
    bool fifo;
    int err;
    uint64_t minflt, nivcsw; /* during the measured calls: must stay 0 for a clean run */
    uint64_t max_noise, over_try, over_free;
};

static void *lat_measurer(void *arg)
{
    struct lat *l = arg;
    struct sched_param sp = {.sched_priority = 1};
    l->fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    if (l->use_cache) {
        int64_t p = bpfmm_alloc_pages(lat_a, 0, 0);
        if (p >= 0)
            bpfmm_alloc_free_pages(lat_a, (uint64_t)p, 0);
        bpfmm_alloc_drain(lat_a); /* the cache exists but is empty: it cannot serve */
    }
    pthread_t h;
    pthread_create(&h, NULL, lat_holder, NULL);
    pthread_barrier_wait(&lat_bar);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_THREAD, &ru0);
    /* The same measurement around nothing: what the machine adds (interrupts, the host). */
    for (uint64_t i = 0; i < l->n; i++) {
        uint64_t t0 = bench_now_ns();
        __asm__ __volatile__("" ::: "memory");
        uint64_t dt = bench_now_ns() - t0;
        if (dt > l->max_noise)
            l->max_noise = dt;
    }
    for (uint64_t i = 0; i < l->n; i++) {
        uint64_t t0 = bench_now_ns();
        int64_t p = bpfmm_alloc_try_alloc_pages(lat_a, 0);
        uint64_t dt = bench_now_ns() - t0;
        if (p != -EAGAIN)
            l->err = 1; /* it must not have got the lock or the cache */
        l->try_ns[l->n_try++] = (uint32_t)(dt > UINT32_MAX ? UINT32_MAX : dt);
        if (dt > l->max_try)
            l->max_try = dt;
        l->over_try += dt > 10000;
    }
    for (uint64_t i = 0; i < l->n; i++) {
        uint64_t t0 = bench_now_ns();
        int r = bpfmm_alloc_free_pages_nolock(lat_a, (uint64_t)l->blocks[i], l->free_order);
        uint64_t dt = bench_now_ns() - t0;
        if (r)
            l->err = 1;
        l->free_ns[l->n_free++] = (uint32_t)(dt > UINT32_MAX ? UINT32_MAX : dt);
        if (dt > l->max_free)
            l->max_free = dt;
        l->over_free += dt > 10000;
    }
    getrusage(RUSAGE_THREAD, &ru1);
    l->minflt = (uint64_t)(ru1.ru_minflt - ru0.ru_minflt);
    l->nivcsw = (uint64_t)(ru1.ru_nivcsw - ru0.ru_nivcsw);
    pthread_barrier_wait(&lat_bar);
    pthread_join(h, NULL);
    return NULL;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static double p999(uint32_t *v, uint64_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u32);
    return v[(n * 999) / 1000];
}

/* Two scenarios, the maximum over both: a thread with an empty cache (order-0 try_alloc must
 * refill and cannot; order-4 frees are above the cached orders), and a thread with no cache
 * at all (order-0 frees cannot go to a cache). */
static int latency(uint64_t n, struct bench_metrics *out)
{
    uint64_t max_try = 0, max_free = 0, n_try = 0, n_free = 0, max_noise = 0, over_try = 0,
             over_free = 0, faults = 0;
    uint32_t *try_all = calloc(2 * n, sizeof(uint32_t)),
             *free_all = calloc(2 * n, sizeof(uint32_t));
    int64_t *blocks = calloc(n, sizeof(int64_t));
    bool fifo = true;
    int err = 0;
    if (!try_all || !free_all || !blocks) {
        fprintf(stderr, "bench alloc: out of memory\n");
        err = -1;
        goto out;
    }
    /* Fault the sample arrays in now, not between measured calls. */
    memset(try_all, 0xff, 2 * n * sizeof(uint32_t));
    memset(free_all, 0xff, 2 * n * sizeof(uint32_t));
    for (int sc = 0; sc < 2 && !err; sc++) {
        lat_a = make(0, (n << 4) + ZONE_FRAMES);
        if (!lat_a) {
            err = -1;
            break;
        }
        struct lat l = {.n = n,
                        .try_ns = try_all + n_try,
                        .free_ns = free_all + n_free,
                        .blocks = blocks,
                        .free_order = sc == 0 ? 4 : 0,
                        .use_cache = sc == 0};
        for (uint64_t i = 0; i < n; i++) {
            blocks[i] = bpfmm_alloc_pages(lat_a, l.free_order, BPFMM_GFP_NOCHARGE);
            if (blocks[i] < 0) {
                fprintf(stderr, "bench alloc: setup allocation failed: %lld\n",
                        (long long)blocks[i]);
                err = -1;
                break;
            }
        }
        if (!err) {
            pthread_barrier_init(&lat_bar, NULL, 2);
            pthread_t m;
            pthread_create(&m, NULL, lat_measurer, &l);
            pthread_join(m, NULL);
            pthread_barrier_destroy(&lat_bar);
            if (l.err) {
                fprintf(stderr, "bench alloc: a call did not take the expected never-waiting "
                                "path\n");
                err = -1;
            }
            fifo &= l.fifo;
            over_try += l.over_try;
            over_free += l.over_free;
            faults += l.minflt + l.nivcsw;
            if (l.max_noise > max_noise)
                max_noise = l.max_noise;
            n_try += l.n_try;
            n_free += l.n_free;
            if (l.max_try > max_try)
                max_try = l.max_try;
            if (l.max_free > max_free)
                max_free = l.max_free;
            char msg[256];
            if (!err && bpfmm_alloc_check(lat_a, msg, sizeof(msg))) {
                fprintf(stderr, "bench alloc: allocator inconsistent after the latency run: %s\n",
                        msg);
                err = -1;
            }
        }
        bpfmm_alloc_destroy(lat_a);
    }
    if (!err) {
        bench_metric(out, "try_alloc_worst_ns", (double)max_try);
        bench_metric(out, "free_nolock_worst_ns", (double)max_free);
        bench_metric(out, "try_alloc_p999_ns", p999(try_all, n_try));
        bench_metric(out, "free_nolock_p999_ns", p999(free_all, n_free));
        bench_metric(out, "try_alloc_over_10us_calls", (double)over_try);
        bench_metric(out, "free_nolock_over_10us_calls", (double)over_free);
        bench_metric(out, "latency_calls", (double)n_try);
        bench_metric(out, "latency_noise_worst_ns", (double)max_noise);
        bench_metric(out, "latency_faults_or_preemptions", (double)faults);
        bench_metric(out, "latency_sched_fifo", fifo ? 1 : 0);
    }
out:
    free(try_all);
    free(free_all);
    free(blocks);
    return err;
}

static int bench_alloc_run(const struct bench_args *args, struct bench_metrics *out)
{
    uint64_t scale = args->quick ? 20 : 1;
    double v;

    bpfmm_alloc_t *a = make(0, ZONE_FRAMES);
    if (!a)
        return 1;
    if ((v = pairs_per_sec(a, 0, 10000000 / scale)) < 0)
        goto fail;
    bench_metric(out, "order0_pcp_pairs_per_sec", v);
    if ((v = pairs_per_sec(a, 9, 2000000 / scale)) < 0)
        goto fail;
    bench_metric(out, "order9_pairs_per_sec", v);
    bpfmm_alloc_destroy(a);

    a = make(BPFMM_ALLOC_NO_PCP, ZONE_FRAMES);
    if (!a)
        return 1;
    if ((v = pairs_per_sec(a, 0, 4000000 / scale)) < 0)
        goto fail;
    bench_metric(out, "order0_zone_pairs_per_sec", v);
    bpfmm_alloc_destroy(a);

    double ratio;
    if (contended(2000000 / scale, &v, &ratio))
        return 1;
    bench_metric(out, "contended_try_alloc_per_sec", v);
    bench_metric(out, "contended_try_fail_ratio", ratio);

    if (latency(100000 / scale, out))
        return 1;
    if (args->verbose)
        fprintf(stderr, "bench alloc: done\n");
    return 0;
fail:
    fprintf(stderr, "bench alloc: an allocation or free failed during a throughput loop\n");
    bpfmm_alloc_destroy(a);
    return 1;
}

static const struct bench_def bench_alloc = {
    .name = "alloc",
    .summary = "page allocator: pcp/zone/order-9 pairs, contended try_alloc, worst-case latency",
    .default_runs = 3,
    .run = bench_alloc_run,
};
BENCH_REGISTER(bench_alloc)
