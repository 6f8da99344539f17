/*
 * Slab cache basics: objects are distinct, aligned, inside the cache's memory and writable;
 * bpfmm_alloc_slab_contains() accepts ranges inside one object (and returns its start) and
 * rejects ranges that straddle objects, run past the object size, hit the block header, or
 * belong to another cache or to plain pages; freed objects are reused (type-stable: the block
 * stays with the cache); bad frees (inside an object, foreign pointer, double) are refused and
 * counted; the cache refuses bad parameters; destroying the cache returns its pages.
 */
#include "alloc_test.h"

#define N 3000

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(4096, 10, true);
    bpfmm_slab_t *s = bpfmm_alloc_slab_create(a, "test", 40, 0);
    CHECK_MSG(s, "slab_create: %s", bpfmm_alloc_last_error());
    bpfmm_slab_t *t = bpfmm_alloc_slab_create(a, "other", 64, 64);
    CHECK(t);
    static char *obj[N];
    for (int i = 0; i < N; i++) {
        obj[i] = bpfmm_alloc_slab_alloc(s, i % 2 ? BPFMM_GFP_ZERO : 0);
        CHECK_MSG(obj[i], "object %d: %s", i, strerror(errno));
        CHECK_EQ((uintptr_t)obj[i] % 8, 0);
        CHECK_GE(bpfmm_alloc_addr_to_pfn(a, obj[i]), 0);
        if (i % 2)
            for (int k = 0; k < 40; k++)
                CHECK_EQ(obj[i][k], 0);
        memset(obj[i], i & 0x7f, 40);
    }
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 40; k++)
            CHECK_MSG(obj[i][k] == (i & 0x7f), "object %d byte %d overwritten", i, k);
        void *b = NULL;
        CHECK(bpfmm_alloc_slab_contains(s, obj[i], 40, &b));
        CHECK(b == obj[i]);
        CHECK(bpfmm_alloc_slab_contains(s, obj[i] + 39, 1, &b));
        CHECK(b == obj[i]);
        CHECK(bpfmm_alloc_slab_contains(s, obj[i] + 8, 32, NULL));
        CHECK(!bpfmm_alloc_slab_contains(s, obj[i] + 8, 33, NULL)); /* past the end */
        CHECK(!bpfmm_alloc_slab_contains(s, obj[i] + 36, 8, NULL)); /* straddles two slots */
        CHECK(!bpfmm_alloc_slab_contains(s, obj[i], 41, NULL));
        CHECK(!bpfmm_alloc_slab_contains(t, obj[i], 1, NULL)); /* another cache */
    }
    /* Block header, plain pages, the stack. */
    int64_t hdr_pfn = bpfmm_alloc_addr_to_pfn(a, obj[0]);
    char *blk = bpfmm_alloc_pfn_to_addr(a, (uint64_t)hdr_pfn);
    CHECK(!bpfmm_alloc_slab_contains(s, blk, 1, NULL));
    int64_t pg = bpfmm_alloc_pages(a, 0, 0);
    CHECK_GE(pg, 0);
    CHECK(!bpfmm_alloc_slab_contains(s, bpfmm_alloc_pfn_to_addr(a, (uint64_t)pg), 1, NULL));
    int local;
    CHECK(!bpfmm_alloc_slab_contains(s, &local, 1, NULL));
    CHECK(!bpfmm_alloc_slab_contains(NULL, obj[0], 1, NULL));

    struct bpfmm_slab_stats ss = {.sz = sizeof(ss)};
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.obj_size, 40);
    CHECK_EQ(ss.objs_inuse, N);
    CHECK_GE(ss.objs_total, N);
    CHECK_GT(ss.pages, 0);
    CHECK_EQ(test_stats(a).allocated_pages, ss.pages + 1);

    /* Bad frees. */
    CHECK_EQ(bpfmm_alloc_slab_free(s, obj[5] + 1), -EINVAL);
    CHECK_EQ(bpfmm_alloc_slab_free(s, &local), -EINVAL);
    CHECK_EQ(bpfmm_alloc_slab_free(t, obj[5]), -EINVAL);
    CHECK_EQ(bpfmm_alloc_slab_free(s, obj[5]), 0);
    CHECK_EQ(bpfmm_alloc_slab_free(s, obj[5]), -EINVAL);
    CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, obj[5]), -EINVAL);
    /* Slab pages are not the caller's to free. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)hdr_pfn, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.bad_free, 4);
    CHECK_EQ(ss.objs_inuse, N - 1);
    /* Type-stable: a freed object's memory still belongs to the cache. */
    CHECK(bpfmm_alloc_slab_contains(s, obj[5], 40, NULL));
    /* The freed slot is reused. */
    char *again = bpfmm_alloc_slab_alloc(s, 0);
    CHECK(again == obj[5]);

    for (int i = 0; i < N; i++)
        CHECK_EQ(i % 2 ? bpfmm_alloc_slab_free(s, obj[i]) : bpfmm_alloc_slab_free_nolock(s, obj[i]),
                 0);
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.objs_inuse, 0);
    uint64_t pages = ss.pages;
    /* Type-stable: the blocks stay with the cache while it exists. */
    CHECK_EQ(test_stats(a).allocated_pages, pages + 1);
    CHECK_ALLOC_OK(a);

    /* Bad parameters. */
    errno = 0;
    CHECK(bpfmm_alloc_slab_create(a, "zero", 0, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK(bpfmm_alloc_slab_create(a, "align", 16, 3) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK(bpfmm_alloc_slab_create(a, "align", 16, 8192) == NULL);
    CHECK(bpfmm_alloc_slab_create(a, "huge", 8ul << 20, 0) == NULL);
    CHECK_EQ(errno, E2BIG);
    CHECK_STR_CONTAINS(bpfmm_alloc_last_error(), "larger than the largest block");
    bpfmm_alloc_t *u = test_alloc(64, 3, false);
    CHECK(bpfmm_alloc_slab_create(u, "unbacked", 16, 0) == NULL);
    CHECK_STR_CONTAINS(bpfmm_alloc_last_error(), "unbacked");
    bpfmm_alloc_destroy(u);

    /* 64-byte aligned objects in the other cache. */
    void *x = bpfmm_alloc_slab_alloc(t, 0);
    CHECK(x);
    CHECK_EQ((uintptr_t)x % 64, 0);
    CHECK_EQ(bpfmm_alloc_slab_free(t, x), 0);

    bpfmm_alloc_slab_destroy(s);
    bpfmm_alloc_slab_destroy(t);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)pg, 0), 0);
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_EQ(st.free_blocks[10], 4);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
