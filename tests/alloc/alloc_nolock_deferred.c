/*
 * The never-waiting paths while another thread holds the zone lock: try_alloc_pages returns
 * -EAGAIN (counted as zone_busy) when its thread cache cannot serve, but succeeds from a
 * non-empty cache; free_pages_nolock puts a block in the thread cache when it can and otherwise
 * on the deferred list (deferred_pages / deferred_frees count it, check() accepts it), and
 * the next lock holder merges it. A try-path lock holder merges at most a bounded number of
 * deferred blocks per hold; the blocking path merges them all.
 */
#include "alloc_test.h"
#include "alloc/alloc_testing.h"

#include <pthread.h>

static bpfmm_alloc_t *A;
static pthread_barrier_t bar;

/* Holds the zone lock between the first and the second barrier. */
static void *holder(void *arg)
{
    (void)arg;
    alloc_testing_zone_lock(A);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    alloc_testing_zone_unlock(A);
    return NULL;
}

static void hold(pthread_t *t)
{
    CHECK_EQ(pthread_create(t, NULL, holder, NULL), 0);
    pthread_barrier_wait(&bar);
}

static void release(pthread_t t)
{
    pthread_barrier_wait(&bar);
    CHECK_EQ(pthread_join(t, NULL), 0);
}

int main(void)
{
    A = test_alloc(4096, 10, false);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;

    /* No thread cache yet (only the try path has been used): the zone is the only source. */
    hold(&t);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(A, 0), -EAGAIN);
    struct bpfmm_alloc_stats st = test_stats(A);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_ZONE_BUSY], 1);
    CHECK_EQ(st.charged_pages, 0);
    release(t);

    /* Claim a cache and leave pages in it. */
    int64_t blk[8];
    for (int i = 0; i < 8; i++)
        CHECK_GE(blk[i] = bpfmm_alloc_pages(A, 0, 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(A, (uint64_t)blk[0], 0), 0);
    unsigned cached = alloc_testing_my_pcp_pages(A);
    CHECK_GT(cached, 0);
    int64_t big = bpfmm_alloc_pages(A, 6, 0); /* above the cached orders */
    CHECK_GE(big, 0);

    hold(&t);
    /* The cache serves order 0 without the zone lock. */
    for (unsigned i = 0; i < cached; i++)
        CHECK_GE(bpfmm_alloc_try_alloc_pages(A, 0), 0);
    /* Empty cache: the refill needs the zone lock -> -EAGAIN, zone_busy. */
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(A, 0), -EAGAIN);
    /* Order 1 is cacheable but not cached: same. Order 5 goes straight to the zone: same. */
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(A, 1), -EAGAIN);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(A, 5), -EAGAIN);
    st = test_stats(A);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_ZONE_BUSY], 4);
    /* An order-0 free goes into the cache; the order-6 block is deferred. */
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(A, (uint64_t)blk[1], 0), 0);
    CHECK_EQ(alloc_testing_my_pcp_pages(A), 1);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(A, (uint64_t)big, 6), 0);
    st = test_stats(A);
    CHECK_EQ(st.deferred_pages, 64);
    CHECK_EQ(st.deferred_frees, 1);
    CHECK_EQ(st.pcp_pages, 1);
    release(t); /* the holder's unlock merges the deferred block */
    st = test_stats(A);
    CHECK_EQ(st.deferred_pages, 0);
    CHECK_EQ(st.deferred_drained, 1);
    CHECK_ALLOC_OK(A);

    /* Bounded drain: 40 deferred order-4 blocks left behind by a raw (non-draining) holder. */
    int64_t many[40];
    for (int i = 0; i < 40; i++)
        CHECK_GE(many[i] = bpfmm_alloc_pages(A, 4, 0), 0);
    alloc_testing_zone_lock_raw(A);
    for (int i = 0; i < 40; i++)
        CHECK_EQ(bpfmm_alloc_free_pages_nolock(A, (uint64_t)many[i], 4), 0);
    CHECK_EQ(test_stats(A).deferred_pages, 40 * 16);
    alloc_testing_zone_unlock_raw(A);
    /* One try-path hold merges at most 8 on locking and 8 on unlocking. */
    int64_t one = bpfmm_alloc_try_alloc_pages(A, 7);
    CHECK_GE(one, 0);
    st = test_stats(A);
    CHECK_GE(st.deferred_pages, (40 - 16) * 16);
    CHECK_LT(st.deferred_pages, 40 * 16);
    /* A blocking hold merges the rest. */
    CHECK_EQ(bpfmm_alloc_free_pages(A, (uint64_t)one, 7), 0);
    st = test_stats(A);
    CHECK_EQ(st.deferred_pages, 0);
    CHECK_EQ(st.deferred_drained, 41);

    for (int i = 2; i < 8; i++)
        CHECK_EQ(bpfmm_alloc_free_pages(A, (uint64_t)blk[i], 0), 0);
    CHECK_EQ(bpfmm_alloc_drain(A), 0);
    st = test_stats(A);
    CHECK_MSG(st.allocated_pages == cached, "allocated %llu, want the %u pages taken by try_alloc",
              (unsigned long long)st.allocated_pages, cached);
    CHECK_ALLOC_OK(A);
    bpfmm_alloc_destroy(A);
    return 0;
}
