/*
 * Split and merge: one order-0 allocation from a single order-10 block leaves exactly one free
 * block of each order 0..9 (buddyinfo), and freeing it merges everything back into the order-10
 * block. Then a specific pattern: buddies merge only when both are free.
 */
#include "alloc_test.h"

static void expect_buddyinfo(bpfmm_alloc_t *a, const uint64_t *want, unsigned n)
{
    struct bpfmm_alloc_stats st = test_stats(a);
    for (unsigned o = 0; o < n; o++)
        CHECK_MSG(st.free_blocks[o] == want[o], "order %u: %llu free blocks, want %llu", o,
                  (unsigned long long)st.free_blocks[o], (unsigned long long)want[o]);
}

int main(void)
{
    /* No thread caches, so every free goes straight to the buddy lists. */
    bpfmm_alloc_t *a = test_alloc_opts((struct bpfmm_alloc_opts){
        .nr_frames = 1024, .max_order = 10, .pcp_slots = BPFMM_ALLOC_NO_PCP});
    uint64_t whole[11] = {[10] = 1};
    expect_buddyinfo(a, whole, 11);

    int64_t p = bpfmm_alloc_pages(a, 0, 0);
    CHECK_EQ(p, 0);
    uint64_t split[11] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    expect_buddyinfo(a, split, 11);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.free_pages, 1023);
    CHECK_EQ(st.allocated_pages, 1);
    CHECK_ALLOC_OK(a);

    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 0), 0);
    expect_buddyinfo(a, whole, 11);
    CHECK_ALLOC_OK(a);

    /* Four order-0 pages 0..3: free 0 and 2 (not buddies) -> no merge; free 1 -> {0,1} merge
     * into an order-1 block; free 3 -> {2,3} merges, then with {0,1}, and so on up. */
    int64_t q[4];
    for (int i = 0; i < 4; i++) {
        q[i] = bpfmm_alloc_pages(a, 0, 0);
        CHECK_EQ(q[i], i);
    }
    CHECK_EQ(bpfmm_alloc_free_pages(a, 0, 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 2, 0), 0);
    st = test_stats(a);
    CHECK_EQ(st.free_blocks[0], 2);
    CHECK_EQ(st.free_blocks[1], 0);
    CHECK_ALLOC_OK(a);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 1, 0), 0);
    st = test_stats(a);
    CHECK_EQ(st.free_blocks[0], 1); /* page 2 */
    CHECK_EQ(st.free_blocks[1], 1); /* {0,1} */
    CHECK_ALLOC_OK(a);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 3, 0), 0);
    expect_buddyinfo(a, whole, 11);

    /* Splitting hands out the lowest block first and the next allocation reuses the split
     * remainder: order 2 at 0, then order 0 at 4 (from the order-2 remainder {4..7}). */
    CHECK_EQ(bpfmm_alloc_pages(a, 2, 0), 0);
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), 4);
    CHECK_EQ(bpfmm_alloc_pages(a, 1, 0), 6);
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), 5);
    CHECK_ALLOC_OK(a);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 0, 2), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 4, 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 5, 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 6, 1), 0);
    expect_buddyinfo(a, whole, 11);

    /* A zone that is not a power of two: 1000 frames = 512+256+128+64+32+8. */
    bpfmm_alloc_t *b = test_alloc_opts((struct bpfmm_alloc_opts){
        .nr_frames = 1000, .max_order = 10, .pcp_slots = BPFMM_ALLOC_NO_PCP});
    uint64_t parts[11] = {0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0};
    expect_buddyinfo(b, parts, 11);
    CHECK_ALLOC_OK(b);
    int64_t big = bpfmm_alloc_pages(b, 9, 0);
    CHECK_EQ(big, 0);
    CHECK_EQ(bpfmm_alloc_pages(b, 9, 0), -ENOMEM);
    CHECK_EQ(bpfmm_alloc_free_pages(b, 0, 9), 0);
    expect_buddyinfo(b, parts, 11);
    CHECK_ALLOC_OK(b);
    bpfmm_alloc_destroy(b);

    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
