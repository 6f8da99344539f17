/*
 * bpfmm_alloc_check() is the oracle of every other test, so it must itself be able to fail.
 * This white-box test damages the allocator's metadata in one way at a time (through the
 * internal header), asserts the check reports it with -EUCLEAN and a message naming the
 * problem, repairs it, and asserts the check passes again: a frame owned twice, a lost frame,
 * a free block missing from its list, wrong counters, a pcp count mismatch, a bad deferred
 * entry and (debug builds) a wrong owner tag.
 */
#include "alloc_test.h"
#include "alloc/alloc_internal.h"

#define EXPECT_BROKEN(a, needle)                                                                   \
    do {                                                                                           \
        char _m[512];                                                                              \
        CHECK_EQ(bpfmm_alloc_check((a), _m, sizeof(_m)), -EUCLEAN);                                \
        CHECK_STR_CONTAINS(_m, needle);                                                            \
        printf("detected: %s\n", _m);                                                              \
    } while (0)

int main(void)
{
    struct bpfmm_alloc *a = test_alloc(1024, 10, false);
    int64_t p = bpfmm_alloc_pages(a, 4, 0); /* zone path: order 4 > pcp_max_order */
    CHECK_EQ(p, 0);
    int64_t q = bpfmm_alloc_pages(a, 0, 0); /* through this thread's cache */
    CHECK_GE(q, 0);
    CHECK_ALLOC_OK(a);

    /* A tail of the allocated order-4 block claims to head an allocated block itself. */
    fset(&a->frames[3], fs_make(FK_ALLOC, 0));
    EXPECT_BROKEN(a, "owned twice");
    fset(&a->frames[3], FS_TAIL);
    CHECK_ALLOC_OK(a);

    /* The head of the free order-9 block at 512 is lost (reads as a tail). */
    uint32_t s512 = fstate(&a->frames[512]);
    CHECK_EQ(s512, fs_make(FK_FREE, 9));
    fset(&a->frames[512], FS_TAIL);
    EXPECT_BROKEN(a, "order-9 free list");
    fset(&a->frames[512], s512);
    CHECK_ALLOC_OK(a);

    /* The free-page counter drifts. */
    stat_add_locked(&a->free_pages, 1);
    EXPECT_BROKEN(a, "zone counts");
    stat_add_locked(&a->free_pages, -1);
    CHECK_ALLOC_OK(a);

    /* A list's block count drifts. */
    stat_add_locked(&a->area[9].nr, 1);
    EXPECT_BROKEN(a, "order-9 free list holds");
    stat_add_locked(&a->area[9].nr, -1);
    CHECK_ALLOC_OK(a);

    /* A free block is unlinked from its list (still marked free). */
    uint32_t h9 = a->area[9].head;
    CHECK_EQ(h9, 512);
    a->area[9].head = NONE;
    stat_add_locked(&a->area[9].nr, -1);
    stat_add_locked(&a->free_pages, -512);
    EXPECT_BROKEN(a, "on the free lists");
    a->area[9].head = h9;
    stat_add_locked(&a->area[9].nr, 1);
    stat_add_locked(&a->free_pages, 512);
    CHECK_ALLOC_OK(a);

    /* A thread cache's page count drifts. */
    struct pcp_slot *slot = pcp_lookup(a);
    CHECK(slot != NULL);
    atomic_fetch_add(&slot->count, 1);
    EXPECT_BROKEN(a, "pcp slot");
    atomic_fetch_sub(&slot->count, 1);
    CHECK_ALLOC_OK(a);

    /* An allocated block on the deferred list. */
    a->frames[q].next = NONE;
    atomic_store(&a->deferred_head, (uint32_t)q);
    EXPECT_BROKEN(a, "deferred list");
    /* check() moved the entry to the backlog; take it back before anyone merges it. */
    CHECK_EQ(a->backlog, (uint32_t)q);
    a->backlog = NONE;
    CHECK_ALLOC_OK(a);

#ifdef BPFMM_DEBUG
    /* A frame of a free block carries an owner tag. */
    atomic_store(&a->frames[600].owner, 1);
    EXPECT_BROKEN(a, "owner tag");
    atomic_store(&a->frames[600].owner, 0);
    CHECK_ALLOC_OK(a);
#endif

    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p, 4), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)q, 0), 0);
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    CHECK_EQ(test_stats(a).free_blocks[10], 1);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
