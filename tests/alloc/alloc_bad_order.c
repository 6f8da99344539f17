/*
 * Invalid orders: above the zone's max_order (and above 18, and huge values), on the blocking
 * and the try path, return -EINVAL, are counted as bad_order, charge nothing and change
 * nothing. A zone created with BPFMM_ALLOC_ORDER0_ONLY accepts order 0 only. Unknown GFP flags
 * are refused too, and so is a statistics struct whose sz is too small; an older (shorter)
 * statistics struct gets exactly its own fields.
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 5, false);
    CHECK_EQ(bpfmm_alloc_pages(a, 6, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_pages(a, 19, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 6), -EINVAL);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, ~0u), -EINVAL);
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 1u << 7), -EINVAL);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_BAD_ORDER], 4);
    CHECK_EQ(st.charged_pages, 0);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_EQ(st.max_order, 5);
    CHECK_EQ(st.free_blocks[5], 32);
    int64_t p = bpfmm_alloc_pages(a, 5, 0);
    CHECK_GE(p, 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 5), 0);
    CHECK_STR_CONTAINS(bpfmm_alloc_fail_name(BPFMM_ALLOC_FAIL_BAD_ORDER), "order");
    struct bpfmm_alloc_stats tiny = {.sz = 8};
    CHECK_EQ(bpfmm_alloc_get_stats(a, &tiny), -EINVAL);
    CHECK_EQ(bpfmm_alloc_get_stats(a, NULL), -EINVAL);
    /* A caller compiled before the appended fields: nothing past its sz is written. */
    struct bpfmm_alloc_stats old;
    memset(&old, 0xab, sizeof(old));
    old.sz = offsetof(struct bpfmm_alloc_stats, deferred_drained);
    CHECK_EQ(bpfmm_alloc_get_stats(a, &old), 0);
    CHECK_EQ(old.free_blocks[5], 32);
    CHECK_EQ(old.fail[BPFMM_ALLOC_FAIL_BAD_ORDER], 4);
    CHECK_U64_EQ(old.deferred_drained, 0xababababababababull);
    CHECK_U64_EQ(old.owner_conflicts, 0xababababababababull);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);

    bpfmm_alloc_t *z = test_alloc_opts(
        (struct bpfmm_alloc_opts){.nr_frames = 16, .max_order = BPFMM_ALLOC_ORDER0_ONLY});
    CHECK_EQ(test_stats(z).max_order, 0);
    CHECK_EQ(test_stats(z).free_blocks[0], 16);
    CHECK_EQ(bpfmm_alloc_pages(z, 1, 0), -EINVAL);
    p = bpfmm_alloc_try_alloc_pages(z, 0);
    CHECK_GE(p, 0);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(z, (uint64_t)p, 0), 0);
    CHECK_ALLOC_OK(z);
    bpfmm_alloc_destroy(z);
    return 0;
}
