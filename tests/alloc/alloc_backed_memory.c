/*
 * Backed mode: returned blocks are real memory at pfn_to_addr(pfn), addr_to_pfn inverts it for
 * every byte of a block, BPFMM_GFP_ZERO zeroes a block that was dirtied before it was freed,
 * and the arena starts on a boundary of the largest block.
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(2048, 10, true);
    char *base = bpfmm_alloc_pfn_to_addr(a, 0);
    CHECK(base);
    CHECK_EQ((uintptr_t)base & ((BPFMM_PAGE_SIZE << 10) - 1), 0);
    CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, base - 1), -EFAULT);
    CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, base + 2048 * BPFMM_PAGE_SIZE), -EFAULT);

    int64_t p = bpfmm_alloc_pages(a, 2, 0);
    CHECK_GE(p, 0);
    char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)p);
    CHECK(m == base + p * BPFMM_PAGE_SIZE);
    for (size_t k = 0; k < 4 * BPFMM_PAGE_SIZE; k += 1000)
        CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, m + k), p + (int64_t)(k / BPFMM_PAGE_SIZE));
    memset(m, 0xee, 4 * BPFMM_PAGE_SIZE);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 2), 0);
    /* The thread cache hands the same block back; ZERO must clear it. */
    int64_t q = bpfmm_alloc_pages(a, 2, BPFMM_GFP_ZERO);
    CHECK_EQ(q, p);
    for (size_t k = 0; k < 4 * BPFMM_PAGE_SIZE; k++)
        CHECK_MSG(m[k] == 0, "byte %zu not zeroed", k);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)q, 2), 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
