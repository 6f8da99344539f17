/*
 * Concurrent use from several threads with the blocking and non-blocking calls mixed, blocks
 * of orders 0..5 and frees from other threads than the allocating one (through a shared
 * hand-off table). A shared bitmap of owned frames is updated atomically on every allocation
 * and free: a frame handed out while owned fails the test at once. At the end nothing is lost:
 * all frames are free again and the check passes. Meanwhile another thread runs
 * bpfmm_alloc_check() over and over: it must pass while the allocator is in use.
 */
#include "alloc_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define NR      8192
#define THREADS 4
#define ITERS   40000
#define SLOTS   256

static bpfmm_alloc_t *A;
static _Atomic unsigned checks; /* bpfmm_alloc_check() runs done by the checker thread */
static _Atomic uint64_t owned[NR / 64];
static _Atomic int64_t handoff[SLOTS]; /* pfn << 8 | order, or -1 */
static _Atomic unsigned errors;

static void take(int64_t pfn, unsigned order)
{
    ledger_mark(owned, &errors, pfn, order, true);
}

static void give(int64_t pfn, unsigned order)
{
    ledger_mark(owned, &errors, pfn, order, false);
}

static int do_free(uint64_t rnd, int64_t pfn, unsigned order)
{
    give(pfn, order);
    return (rnd & 1) ? bpfmm_alloc_free_pages_nolock(A, (uint64_t)pfn, order)
                     : bpfmm_alloc_free_pages(A, (uint64_t)pfn, order);
}

static void *worker(void *arg)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    int64_t mine[64];
    unsigned mine_o[64], n = 0;
    /* Go on past ITERS until the checker has run a few times meanwhile: on a loaded machine
     * the workers could otherwise finish before it is first scheduled. */
    for (int it = 0; it < ITERS || (atomic_load(&checks) < 3 && it < 1000 * ITERS); it++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned op = x % 8, order = (unsigned)(x >> 8) % 6;
        if (op < 3 && n < 64) {
            int64_t p = (x >> 16) & 1 ? bpfmm_alloc_pages(A, order, 0)
                                      : bpfmm_alloc_try_alloc_pages(A, order);
            if (p >= 0) {
                take(p, order);
                mine[n] = p;
                mine_o[n++] = order;
            } else if (p != -ENOMEM && p != -EAGAIN) {
                atomic_fetch_add(&errors, 1);
            }
        } else if (op < 5 && n > 0) {
            n--;
            if (do_free(x >> 20, mine[n], mine_o[n]))
                atomic_fetch_add(&errors, 1);
        } else if (op == 5 && n > 0) {
            /* Hand a block to whoever picks it up. */
            int64_t v = (mine[n - 1] << 8) | mine_o[n - 1], e = -1;
            if (atomic_compare_exchange_strong(&handoff[(x >> 24) % SLOTS], &e, v))
                n--;
        } else {
            int64_t v = atomic_exchange(&handoff[(x >> 24) % SLOTS], -1);
            if (v >= 0 && do_free(x >> 20, v >> 8, (unsigned)(v & 0xff)))
                atomic_fetch_add(&errors, 1);
        }
    }
    while (n > 0) {
        n--;
        if (do_free(n, mine[n], mine_o[n]))
            atomic_fetch_add(&errors, 1);
    }
    return NULL;
}

static _Atomic int workers_done;

static void *checker(void *arg)
{
    (void)arg;
    char msg[512];
    while (!atomic_load(&workers_done)) {
        int r = bpfmm_alloc_check(A, msg, sizeof(msg));
        if (r) {
            fprintf(stderr, "concurrent check failed: %s\n", msg);
            atomic_fetch_add(&errors, 1);
        }
        atomic_fetch_add(&checks, 1);
        struct timespec ts = {0, 200000}; /* let the workers run between checks */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(void)
{
    A = test_alloc(NR, 10, false);
    for (int i = 0; i < SLOTS; i++)
        atomic_init(&handoff[i], -1);
    pthread_t t[THREADS], ck;
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    CHECK_EQ(pthread_create(&ck, NULL, checker, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    atomic_store(&workers_done, 1);
    CHECK_EQ(pthread_join(ck, NULL), 0);
    CHECK_GE(atomic_load(&checks), 3);
    printf("%u concurrent checks passed\n", atomic_load(&checks));
    CHECK_EQ(atomic_load(&errors), 0);
    /* Every worker gave its slot back on exit. */
    CHECK_EQ(test_stats(A).pcp_slots_claimed, 0);
    for (int i = 0; i < SLOTS; i++) {
        int64_t v = atomic_load(&handoff[i]);
        if (v >= 0)
            CHECK_EQ(do_free(0, v >> 8, (unsigned)(v & 0xff)), 0);
    }
    CHECK_EQ(atomic_load(&errors), 0);
    CHECK_ALLOC_OK(A);
    CHECK_EQ(bpfmm_alloc_drain(A), 0);
    struct bpfmm_alloc_stats st = test_stats(A);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_EQ(st.charged_pages, 0);
    CHECK_EQ(st.free_blocks[10], NR >> 10);
    CHECK_GT(st.alloc_calls, 0);
    CHECK_GT(st.try_alloc_calls, 0);
    CHECK_ALLOC_OK(A);
    bpfmm_alloc_destroy(A);
    return 0;
}
