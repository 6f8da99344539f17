/*
 * Fragmentation is real. A 4 MiB zone (1024 frames, two order-9 blocks) is filled with order-0
 * pages; every other page is freed. Half the memory (512 pages) is then free, yet buddyinfo
 * shows only order-0 blocks and an order-9 allocation fails with -ENOMEM (counted as nomem), on
 * the blocking and the try path. Freeing the right pages - the other halves of the pairs inside
 * one 2 MiB-aligned range - merges them back (visible step by step in buddyinfo) and the
 * order-9 allocation succeeds at exactly that range.
 *
 *   pfn:    0 1 2 3 ... 510 511 | 512 513 ... 1023
 *   after:  A . A . ...  A   .  |  A   .  ...   .     (A = allocated, . = free)
 *   fix:    free the A's in 512..1023 -> one free order-9 block at 512
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 10, false);
    static int64_t held[1024];
    static unsigned char is_held[1024];
    for (unsigned i = 0; i < 1024; i++) {
        int64_t p = bpfmm_alloc_pages(a, 0, 0);
        CHECK_GE(p, 0);
        CHECK(!is_held[p]);
        is_held[p] = 1;
    }
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), -ENOMEM);
    /* Free the odd pfns. */
    for (unsigned p = 1; p < 1024; p += 2) {
        CHECK_EQ(bpfmm_alloc_free_pages(a, p, 0), 0);
        is_held[p] = 0;
    }
    CHECK_EQ(bpfmm_alloc_drain(a), 0); /* thread cache pages back to the buddy lists */
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.free_pages, 512);
    CHECK_EQ(st.free_blocks[0], 512);
    for (unsigned o = 1; o <= 10; o++)
        CHECK_MSG(st.free_blocks[o] == 0, "order %u: %llu free blocks", o,
                  (unsigned long long)st.free_blocks[o]);
    uint64_t nomem0 = st.fail[BPFMM_ALLOC_FAIL_NOMEM];
    CHECK_EQ(bpfmm_alloc_pages(a, 9, 0), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 9), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_pages(a, 1, 0), -ENOMEM); /* not even two adjacent pages */
    st = test_stats(a);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_NOMEM], nomem0 + 3);
    CHECK_EQ(st.free_pages, 512);
    CHECK_ALLOC_OK(a);

    /* Free the even pfns in 512..1023: pairs merge to order 1, 2, ... up to 9. */
    unsigned n = 0;
    for (unsigned p = 512; p < 1024; p += 2) {
        CHECK_EQ(bpfmm_alloc_free_pages(a, p, 0), 0);
        is_held[p] = 0;
        if (++n == 2) {
            /* Pages 512 and 514 freed: blocks {512,513} and {514,515} are order 1 and buddies,
             * so they are already one order-2 block once drained to the lists. */
            CHECK_EQ(bpfmm_alloc_drain(a), 0);
            st = test_stats(a);
            CHECK_EQ(st.free_blocks[2], 1);
            CHECK_EQ(st.free_blocks[0], 512 - 2); /* 513 and 515 were absorbed */
        }
    }
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    st = test_stats(a);
    CHECK_EQ(st.free_blocks[9], 1);
    CHECK_EQ(st.free_blocks[0], 256);
    int64_t big = bpfmm_alloc_pages(a, 9, 0);
    CHECK_EQ(big, 512);
    CHECK_ALLOC_OK(a);

    CHECK_EQ(bpfmm_alloc_free_pages(a, 512, 9), 0);
    for (unsigned p = 0; p < 512; p += 2)
        CHECK_EQ(bpfmm_alloc_free_pages(a, p, 0), 0);
    (void)held;
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    CHECK_EQ(test_stats(a).free_blocks[10], 1);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
