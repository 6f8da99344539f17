/*
 * Wrong-order free of a compound block: refused with -EINVAL on both free paths, counted as
 * wrong_order, and the block stays allocated and usable (its memory intact, then freed with the
 * right order). The zone must pass the check afterwards.
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 10, true);
    int64_t p = bpfmm_alloc_pages(a, 3, 0);
    CHECK_GE(p, 0);
    char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)p);
    memset(m, 0x5a, BPFMM_PAGE_SIZE << 3);

    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 2), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)p, 4), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 0), -EINVAL);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.bad_free[BPFMM_ALLOC_BAD_FREE_WRONG_ORDER], 3);
    CHECK_EQ(st.allocated_pages, 8);
    CHECK_EQ(st.charged_pages, 8);
    CHECK_ALLOC_OK(a);

    /* Still ours: nothing else was handed the frames. */
    int64_t q[8];
    for (int i = 0; i < 8; i++) {
        q[i] = bpfmm_alloc_pages(a, 0, 0);
        CHECK_GE(q[i], 0);
        CHECK_MSG(q[i] < p || q[i] >= p + 8, "frame %lld of the refused block was reused",
                  (long long)q[i]);
    }
    for (size_t k = 0; k < (BPFMM_PAGE_SIZE << 3); k++)
        CHECK_MSG(m[k] == 0x5a, "byte %zu of the block changed", k);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 3), 0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)q[i], 0), 0);
    CHECK_STR_CONTAINS(bpfmm_alloc_bad_free_name(BPFMM_ALLOC_BAD_FREE_WRONG_ORDER), "wrong");
    CHECK_ALLOC_OK(a);
    CHECK_EQ(test_stats(a).allocated_pages, 0);
    bpfmm_alloc_destroy(a);
    return 0;
}
