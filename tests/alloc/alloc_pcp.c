/*
 * Per-thread caches: a thread's first blocking call claims a slot; freed small blocks stay in
 * its cache up to the high watermark, then half is flushed to the zone; a thread that exits
 * gives its slot and its cached pages back; with all slots claimed a thread still works through
 * the zone path; a blocking allocation that fails drains the other threads' caches and retries
 * (as the kernel's slow path drains pcp lists), while the try path does not wait for that.
 * A thread that only uses the try/nolock calls never claims a slot (nothing is registered from
 * what may be a signal handler).
 */
#include "alloc_test.h"
#include "alloc/alloc_testing.h"

#include <pthread.h>

static bpfmm_alloc_t *A;
static pthread_barrier_t bar;

static void *try_only(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        int64_t p = bpfmm_alloc_try_alloc_pages(A, 0);
        CHECK_GE(p, 0);
        CHECK_EQ(bpfmm_alloc_free_pages_nolock(A, (uint64_t)p, 0), 0);
    }
    CHECK_EQ(alloc_testing_my_pcp_pages(A), 0);
    return NULL;
}

static void *cache_and_exit(void *arg)
{
    int64_t p[10];
    for (int i = 0; i < 10; i++)
        CHECK_GE(p[i] = bpfmm_alloc_pages(A, 0, 0), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(bpfmm_alloc_free_pages(A, (uint64_t)p[i], 0), 0);
    if (!arg) /* with all slots taken, a thread has no cache */
        CHECK_GT(alloc_testing_my_pcp_pages(A), 0);
    if (arg) { /* stay alive, holding a slot and a cache, until told */
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

int main(void)
{
    A = test_alloc_opts((struct bpfmm_alloc_opts){
        .nr_frames = 1024, .max_order = 10, .pcp_slots = 2, .pcp_high = 16});
    pthread_barrier_init(&bar, NULL, 3);
    struct bpfmm_alloc_stats st = test_stats(A);
    CHECK_EQ(st.pcp_slots, 2);
    CHECK_EQ(st.pcp_slots_claimed, 0);

    /* High watermark: the cache never holds more than pcp_high pages after a free. */
    static int64_t p[200];
    for (int i = 0; i < 200; i++)
        CHECK_GE(p[i] = bpfmm_alloc_pages(A, 0, 0), 0);
    CHECK_EQ(test_stats(A).pcp_slots_claimed, 1);
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(bpfmm_alloc_free_pages(A, (uint64_t)p[i], 0), 0);
        CHECK_LE(alloc_testing_my_pcp_pages(A), 16);
    }
    CHECK_GT(alloc_testing_my_pcp_pages(A), 0);
    CHECK_ALLOC_OK(A);

    /* Try/nolock calls alone claim nothing. */
    pthread_t t0, t1, t2, t3;
    CHECK_EQ(pthread_create(&t0, NULL, try_only, NULL), 0);
    CHECK_EQ(pthread_join(t0, NULL), 0);
    CHECK_EQ(test_stats(A).pcp_slots_claimed, 1);

    /* A thread that exits returns its slot and pages. */
    CHECK_EQ(pthread_create(&t1, NULL, cache_and_exit, NULL), 0);
    CHECK_EQ(pthread_join(t1, NULL), 0);
    st = test_stats(A);
    CHECK_EQ(st.pcp_slots_claimed, 1);
    CHECK_EQ(st.pcp_pages, alloc_testing_my_pcp_pages(A));
    CHECK_ALLOC_OK(A);

    /* Two live threads: one takes the last slot, the other runs slotless on the zone path. */
    CHECK_EQ(pthread_create(&t2, NULL, cache_and_exit, (void *)1), 0);
    CHECK_EQ(pthread_create(&t3, NULL, cache_and_exit, (void *)1), 0);
    pthread_barrier_wait(&bar);
    st = test_stats(A);
    CHECK_EQ(st.pcp_slots_claimed, 2);
    CHECK_ALLOC_OK(A);

    /* Exhaust the zone from here while the others hold cached pages. The try path fails when
     * only other caches have pages; the blocking path drains them and succeeds. */
    unsigned n = 0;
    static int64_t q[1024];
    for (;;) {
        int64_t r = bpfmm_alloc_try_alloc_pages(A, 0);
        if (r < 0) {
            CHECK_EQ(r, -ENOMEM);
            break;
        }
        q[n++] = r;
    }
    st = test_stats(A);
    CHECK_GT(st.pcp_pages, 0); /* the other thread's cache */
    CHECK_EQ(st.free_pages, 0);
    while (n < 1024) {
        int64_t r = bpfmm_alloc_pages(A, 0, 0);
        CHECK_MSG(r >= 0, "blocking alloc %u failed with pages in other caches", n);
        q[n++] = r;
    }
    CHECK_EQ(bpfmm_alloc_pages(A, 0, 0), -ENOMEM);
    CHECK_EQ(test_stats(A).allocated_pages, 1024);
    CHECK_ALLOC_OK(A);
    pthread_barrier_wait(&bar);
    CHECK_EQ(pthread_join(t2, NULL), 0);
    CHECK_EQ(pthread_join(t3, NULL), 0);
    CHECK_EQ(test_stats(A).pcp_slots_claimed, 1);

    for (unsigned i = 0; i < n; i++)
        CHECK_EQ(bpfmm_alloc_free_pages_nolock(A, (uint64_t)q[i], 0), 0);
    CHECK_EQ(bpfmm_alloc_drain(A), 0);
    st = test_stats(A);
    CHECK_EQ(st.pcp_pages, 0);
    CHECK_EQ(st.free_blocks[10], 1);
    CHECK_ALLOC_OK(A);
    bpfmm_alloc_destroy(A);
    return 0;
}
