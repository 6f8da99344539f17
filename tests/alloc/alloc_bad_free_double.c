/*
 * Double free: the second free of a block (blocking or nolock, while the first copy sits in the
 * thread cache, the buddy lists or the deferred list) is refused with -EINVAL and counted as
 * double; nothing is freed twice (check passes, counts exact).
 */
#include "alloc_test.h"
#include "alloc/alloc_testing.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 10, false);
    /* Order 0: the first free lands in this thread's cache. */
    int64_t p = bpfmm_alloc_pages(a, 0, 0);
    CHECK_GE(p, 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 0), 0);
    CHECK_GT(alloc_testing_my_pcp_pages(a), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)p, 0), -EINVAL);

    /* Order 5 (above the cached orders): the first free lands on the buddy lists. */
    int64_t q = bpfmm_alloc_pages(a, 5, 0);
    CHECK_GE(q, 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)q, 5), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)q, 5), -EINVAL);

    /* Deferred: free with the nolock path while the zone lock is held elsewhere (here: by us,
     * through the test hook), then free again. */
    int64_t r = bpfmm_alloc_pages(a, 6, 0);
    CHECK_GE(r, 0);
    alloc_testing_zone_lock(a);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)r, 6), 0);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.deferred_pages, 64);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)r, 6), -EINVAL);
    alloc_testing_zone_unlock(a);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)r, 6), -EINVAL);

    st = test_stats(a);
    CHECK_EQ(st.bad_free[BPFMM_ALLOC_BAD_FREE_DOUBLE], 5);
    CHECK_EQ(st.deferred_pages, 0);
    CHECK_EQ(st.deferred_frees, 1);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_EQ(st.charged_pages, 0);
    CHECK_ALLOC_OK(a);
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    CHECK_EQ(test_stats(a).free_blocks[10], 1);
    bpfmm_alloc_destroy(a);
    return 0;
}
