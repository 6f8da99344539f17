/*
 * Frees of frames that are not the head of an allocated block: a tail page of an allocated
 * compound block, a frame inside a free block (never allocated), and out-of-range pfns or
 * orders. Each is refused with -EINVAL, counted by kind (not_head / range), and changes nothing.
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 10, false);
    int64_t p = bpfmm_alloc_pages(a, 4, 0);
    CHECK_EQ(p, 0);
    /* Tails of the order-4 block, with its order and with order 0. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, 1, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 8, 3), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, 15, 0), -EINVAL);
    /* Never allocated: inside the free order-9 block at 512. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, 700, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, 513, 0), -EINVAL);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.bad_free[BPFMM_ALLOC_BAD_FREE_NOT_HEAD], 5);

    /* The head of a free block that was never handed out is "already free". */
    CHECK_EQ(bpfmm_alloc_free_pages(a, 512, 9), -EINVAL);
    CHECK_EQ(test_stats(a).bad_free[BPFMM_ALLOC_BAD_FREE_DOUBLE], 1);

    /* Out of range: pfn beyond the zone, order beyond max, block running past the end. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, 1024, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, UINT64_MAX, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 0, 11), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 1023, 1), -EINVAL);
    st = test_stats(a);
    CHECK_EQ(st.bad_free[BPFMM_ALLOC_BAD_FREE_RANGE], 4);
    CHECK_EQ(st.allocated_pages, 16);
    CHECK_ALLOC_OK(a);

    CHECK_EQ(bpfmm_alloc_free_pages(a, 0, 4), 0);
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    CHECK_EQ(test_stats(a).free_blocks[10], 1);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
