/*
 * Reentrancy stress: worker threads allocate and free pages (blocking API, orders 0..5, so both
 * their thread caches and the zone lock are busy) and slab objects, while a helper thread
 * interrupts them with a signal at high frequency. The handler - the userspace analogue of an
 * NMI - calls try_alloc_pages / free_pages_nolock and slab try_alloc / free_nolock on the same
 * allocator, often while the interrupted thread holds the zone lock or its own cache lock; the
 * allocator counts those events (reentered_zone / reentered_pcp) and the test asserts they
 * happened. The run is bounded by a number of signal rounds (at least ROUNDS, more while a
 * loaded machine has not yet let enough handlers run, at most 10 times that) and of loop
 * iterations, not by a timer. Every allocation and free, in
 * threads and handlers, updates a shared bitmap of owned frames atomically, so a frame handed
 * out twice is caught at once; at the end no frame is lost (check passes, all frames free).
 */
#include "alloc_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#define NR               16384
#define WORKERS          3
#define ROUNDS           4000    /* signal rounds (one signal to every worker each), at least */
#define MAX_ROUND_FACTOR 10      /* rounds at most, in ROUNDS, until the run exercised enough */
#define MAX_ITERS        5000000 /* a worker loop never runs longer than this */
#define STASH            16
#define OBJ_SIZE         48
#define SIG              SIGUSR1

static bpfmm_alloc_t *A;
static bpfmm_slab_t *S;
static _Atomic uint64_t owned[NR / 64];
static _Atomic unsigned errors;
static _Atomic int stop;
static _Atomic unsigned long handled, h_alloc_ok, h_slab_ok;

/* Per worker, touched only by that worker's signal handler (which does not nest). */
struct hstash {
    int64_t pfn[STASH];
    unsigned order[STASH];
    unsigned n;
    void *obj[STASH];
    unsigned nobj;
    uint64_t rnd;
};
static struct hstash hst[WORKERS];
static __thread int my_index = -1;

static void take(int64_t pfn, unsigned order)
{
    ledger_mark(owned, &errors, pfn, order, true);
}

static void give(int64_t pfn, unsigned order)
{
    ledger_mark(owned, &errors, pfn, order, false);
}

static void handler(int sig)
{
    (void)sig;
    int saved = errno;
    int w = my_index;
    if (w < 0) {
        errno = saved;
        return;
    }
    struct hstash *h = &hst[w];
    h->rnd ^= h->rnd << 13, h->rnd ^= h->rnd >> 7, h->rnd ^= h->rnd << 17;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed);
    unsigned order = (unsigned)(h->rnd % 3);
    if (h->n < STASH && (h->rnd & 8)) {
        int64_t p = bpfmm_alloc_try_alloc_pages(A, order);
        if (p >= 0) {
            take(p, order);
            h->pfn[h->n] = p;
            h->order[h->n++] = order;
            atomic_fetch_add_explicit(&h_alloc_ok, 1, memory_order_relaxed);
        } else if (p != -EAGAIN && p != -ENOMEM) {
            atomic_fetch_add(&errors, 1);
        }
    } else if (h->n > 0) {
        h->n--;
        give(h->pfn[h->n], h->order[h->n]);
        if (bpfmm_alloc_free_pages_nolock(A, (uint64_t)h->pfn[h->n], h->order[h->n]))
            atomic_fetch_add(&errors, 1);
    }
    if (h->nobj < STASH && (h->rnd & 16)) {
        char *o = bpfmm_alloc_slab_try_alloc(S);
        if (o) {
            if (!bpfmm_alloc_slab_contains(S, o, OBJ_SIZE, NULL))
                atomic_fetch_add(&errors, 1);
            o[0] = 1;
            h->obj[h->nobj++] = o;
            atomic_fetch_add_explicit(&h_slab_ok, 1, memory_order_relaxed);
        } else if (errno != EAGAIN && errno != ENOMEM) {
            atomic_fetch_add(&errors, 1);
        }
    } else if (h->nobj > 0) {
        if (bpfmm_alloc_slab_free_nolock(S, h->obj[--h->nobj]))
            atomic_fetch_add(&errors, 1);
    }
    errno = saved;
}

static pthread_t wt[WORKERS];

static void *worker(void *arg)
{
    int w = (int)(uintptr_t)arg;
    hst[w].rnd = 0x2545f4914f6cdd1dull * (uint64_t)(w + 1);
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(w + 7);
    int64_t mine[64];
    unsigned mine_o[64], n = 0;
    void *objs[64];
    unsigned nobj = 0;
    atomic_signal_fence(memory_order_seq_cst);
    my_index = w;
    for (int it = 0; it < MAX_ITERS && !atomic_load_explicit(&stop, memory_order_relaxed); it++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned order = (unsigned)(x >> 8) % 6;
        if ((x & 3) != 0 && n < 64) {
            int64_t p = bpfmm_alloc_pages(A, order, 0);
            if (p >= 0) {
                take(p, order);
                mine[n] = p;
                mine_o[n++] = order;
            } else if (p != -ENOMEM) {
                atomic_fetch_add(&errors, 1);
            }
        } else if (n > 0) {
            n--;
            give(mine[n], mine_o[n]);
            if (bpfmm_alloc_free_pages(A, (uint64_t)mine[n], mine_o[n]))
                atomic_fetch_add(&errors, 1);
        }
        if ((x >> 40) & 1 && nobj < 64) {
            char *o = bpfmm_alloc_slab_alloc(S, 0);
            if (o)
                objs[nobj++] = o;
        } else if (nobj > 0) {
            if (bpfmm_alloc_slab_free(S, objs[--nobj]))
                atomic_fetch_add(&errors, 1);
        }
    }
    while (n > 0) {
        n--;
        give(mine[n], mine_o[n]);
        if (bpfmm_alloc_free_pages(A, (uint64_t)mine[n], mine_o[n]))
            atomic_fetch_add(&errors, 1);
    }
    while (nobj > 0)
        if (bpfmm_alloc_slab_free(S, objs[--nobj]))
            atomic_fetch_add(&errors, 1);
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIG);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    return NULL;
}

/* What the assertions need the run to have exercised: enough handled signals, and handlers that
 * ran inside the interrupted thread's zone lock and cache lock. */
static bool exercised(void)
{
    struct bpfmm_alloc_stats st = {.sz = sizeof(st)};
    return atomic_load(&handled) > ROUNDS / 2 && bpfmm_alloc_get_stats(A, &st) == 0 &&
           st.reentered_zone > 0 && st.reentered_pcp > 0;
}

static void *signaller(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20000}; /* ~20 us between rounds */
    /* At least ROUNDS rounds; more while a loaded machine (pending signals coalesce when the
     * workers are not running) has not yet exercised what the test asserts, up to a bound. */
    for (int r = 0; r < ROUNDS * MAX_ROUND_FACTOR; r++) {
        if (r >= ROUNDS && r % 100 == 0 && exercised())
            break;
        for (int w = 0; w < WORKERS; w++)
            pthread_kill(wt[w], SIG);
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    return NULL;
}

int main(void)
{
    A = test_alloc(NR, 10, true);
    S = bpfmm_alloc_slab_create(A, "stress", OBJ_SIZE, 0);
    CHECK(S);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    CHECK_EQ(sigaction(SIG, &sa, NULL), 0);
    for (uintptr_t w = 0; w < WORKERS; w++)
        CHECK_EQ(pthread_create(&wt[w], NULL, worker, (void *)w), 0);
    pthread_t sg;
    CHECK_EQ(pthread_create(&sg, NULL, signaller, NULL), 0);
    CHECK_EQ(pthread_join(sg, NULL), 0);
    for (int w = 0; w < WORKERS; w++)
        CHECK_EQ(pthread_join(wt[w], NULL), 0);

    struct bpfmm_alloc_stats st = test_stats(A);
    printf("signals handled %lu, handler allocs %lu, handler slab allocs %lu\n",
           atomic_load(&handled), atomic_load(&h_alloc_ok), atomic_load(&h_slab_ok));
    printf("reentered: zone %llu, pcp %llu; deferred frees %llu; try failures: pcp_busy %llu "
           "zone_busy %llu\n",
           (unsigned long long)st.reentered_zone, (unsigned long long)st.reentered_pcp,
           (unsigned long long)st.deferred_frees,
           (unsigned long long)st.fail[BPFMM_ALLOC_FAIL_PCP_BUSY],
           (unsigned long long)st.fail[BPFMM_ALLOC_FAIL_ZONE_BUSY]);
    unsigned long nhandled = atomic_load(&handled), nalloc = atomic_load(&h_alloc_ok),
                  nslab = atomic_load(&h_slab_ok);
    CHECK_EQ(atomic_load(&errors), 0);
    CHECK_GT(nhandled, ROUNDS / 2);
    CHECK_GT(nalloc, 0);
    CHECK_GT(nslab, 0);
    /* The point of the test: handlers did run inside the interrupted thread's locks. */
    CHECK_GT(st.reentered_zone, 0);
    CHECK_GT(st.reentered_pcp, 0);

    /* Give back what the handlers still hold. */
    for (int w = 0; w < WORKERS; w++) {
        while (hst[w].n > 0) {
            hst[w].n--;
            give(hst[w].pfn[hst[w].n], hst[w].order[hst[w].n]);
            CHECK_EQ(
                bpfmm_alloc_free_pages(A, (uint64_t)hst[w].pfn[hst[w].n], hst[w].order[hst[w].n]),
                0);
        }
        while (hst[w].nobj > 0)
            CHECK_EQ(bpfmm_alloc_slab_free(S, hst[w].obj[--hst[w].nobj]), 0);
    }
    CHECK_EQ(atomic_load(&errors), 0);
    for (int i = 0; i < NR / 64; i++)
        CHECK_U64_EQ(atomic_load(&owned[i]), 0);
    CHECK_ALLOC_OK(A);
    struct bpfmm_slab_stats ss = {.sz = sizeof(ss)};
    CHECK_EQ(bpfmm_alloc_slab_get_stats(S, &ss), 0);
    CHECK_EQ(ss.objs_inuse, 0);
    CHECK_EQ(ss.bad_free, 0);
    printf("slab: try_busy %llu, deferred frees %llu\n", (unsigned long long)ss.try_busy,
           (unsigned long long)ss.deferred_frees);
    bpfmm_alloc_slab_destroy(S);
    CHECK_EQ(bpfmm_alloc_drain(A), 0);
    st = test_stats(A);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_EQ(st.free_pages, NR);
    CHECK_ALLOC_OK(A);
    bpfmm_alloc_destroy(A);
    return 0;
}
