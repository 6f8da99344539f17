/*
 * Exhaustion and recovery: allocating order-0 pages until -ENOMEM hands out exactly every
 * frame (pages held in this thread's cache and in deferred frees included), the failure is
 * counted, and the try path fails the same way; freeing one page makes both paths succeed again.
 */
#include "alloc_test.h"

#define NR 2048

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(NR, 10, false);
    static int64_t p[NR];
    for (unsigned i = 0; i < NR; i++) {
        p[i] = bpfmm_alloc_pages(a, 0, 0);
        CHECK_MSG(p[i] >= 0, "page %u: %lld", i, (long long)p[i]);
    }
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 0), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_pages(a, 3, 0), -ENOMEM);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_NOMEM], 3);
    CHECK_EQ(st.allocated_pages, NR);
    CHECK_EQ(st.free_pages + st.pcp_pages, 0);
    CHECK_EQ(st.charged_pages, NR); /* failed attempts leave no charge behind */
    CHECK_ALLOC_OK(a);

    /* Free one page into this thread's cache: the blocking path finds it there. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[7], 0), 0);
    int64_t r = bpfmm_alloc_pages(a, 0, 0);
    CHECK_EQ(r, p[7]);
    /* Free one with the nolock path and take it back with the try path. */
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)p[9], 0), 0);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 0), p[9]);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 0), -ENOMEM);

    /* Free everything: the zone is whole again. */
    for (unsigned i = 0; i < NR; i++)
        CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[i], 0), 0);
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    st = test_stats(a);
    CHECK_EQ(st.free_blocks[10], NR >> 10);
    CHECK_EQ(st.charged_pages, 0);
    /* And a large block is available again. */
    int64_t big = bpfmm_alloc_pages(a, 10, 0);
    CHECK_GE(big, 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)big, 10), 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
