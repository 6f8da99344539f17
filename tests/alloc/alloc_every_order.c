/*
 * Every order: on a backed zone (max_order 10) and on an unbacked zone with max_order 18
 * (1 GiB blocks), each order 0..max allocates a naturally aligned block (pfn and, when backed,
 * address), the block is usable memory, frees cleanly, and the zone merges back whole.
 */
#include "alloc_test.h"

static void run(bpfmm_alloc_t *a, unsigned max_order, bool backed)
{
    struct bpfmm_alloc_stats st0 = test_stats(a);
    for (unsigned o = 0; o <= max_order; o++) {
        int64_t p = bpfmm_alloc_pages(a, o, 0);
        CHECK_MSG(p >= 0, "order %u: %lld", o, (long long)p);
        CHECK_MSG(((uint64_t)p & ((1ull << o) - 1)) == 0, "order %u block at pfn %lld unaligned", o,
                  (long long)p);
        if (backed) {
            char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)p);
            CHECK(m);
            CHECK_MSG(((uintptr_t)m & ((BPFMM_PAGE_SIZE << o) - 1)) == 0,
                      "order %u block at %p not aligned in memory", o, (void *)m);
            m[0] = 1;
            m[(BPFMM_PAGE_SIZE << o) - 1] = 2;
            CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, m + (BPFMM_PAGE_SIZE << o) - 1),
                     p + (1ll << o) - 1);
        }
        struct bpfmm_alloc_stats st = test_stats(a);
        CHECK_EQ(st.allocated_pages, 1ull << o);
        CHECK_EQ(st.charged_pages, 1ull << o);
        CHECK_ALLOC_OK(a);
        CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, o), 0);
        CHECK_EQ(bpfmm_alloc_drain(a), 0);
        st = test_stats(a);
        CHECK_EQ(st.allocated_pages, 0);
        CHECK_EQ(st.charged_pages, 0);
        for (unsigned k = 0; k <= max_order; k++)
            CHECK_MSG(st.free_blocks[k] == st0.free_blocks[k], "after order %u: order %u has %llu",
                      o, k, (unsigned long long)st.free_blocks[k]);
    }
    /* One above the maximum is refused. */
    CHECK_EQ(bpfmm_alloc_pages(a, max_order + 1, 0), -EINVAL);
    CHECK_ALLOC_OK(a);
}

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(4096, 10, true);
    run(a, 10, true);
    bpfmm_alloc_destroy(a);

    /* 2 GiB of simulated memory: two order-18 blocks. */
    bpfmm_alloc_t *u = test_alloc(1u << 19, 18, false);
    CHECK_EQ(test_stats(u).free_blocks[18], 2);
    run(u, 18, false);
    /* Both 1 GiB blocks at once, then nothing is left. */
    int64_t g0 = bpfmm_alloc_pages(u, 18, 0), g1 = bpfmm_alloc_pages(u, 18, 0);
    CHECK_EQ(g0, 0);
    CHECK_EQ(g1, 1 << 18);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(u, 0), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_free_pages(u, (uint64_t)g1, 18), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(u, (uint64_t)g0, 18), 0);
    CHECK_EQ(bpfmm_alloc_pfn_to_addr(u, 0), NULL);
    CHECK_ALLOC_OK(u);
    bpfmm_alloc_destroy(u);
    return 0;
}
