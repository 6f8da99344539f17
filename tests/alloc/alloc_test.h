/*
 * Helpers shared by the allocator's test programs: creating a zone with a few options,
 * asserting bpfmm_alloc_check() passes, and reading statistics. Owns no test logic.
 */
#ifndef BPFMM_ALLOC_TEST_H
#define BPFMM_ALLOC_TEST_H

#include "test.h"

#include "bpfmm/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>

static inline bpfmm_alloc_t *test_alloc_opts(struct bpfmm_alloc_opts o)
{
    o.sz = sizeof(o);
    bpfmm_alloc_t *a = bpfmm_alloc_create(&o);
    CHECK_MSG(a, "bpfmm_alloc_create failed: %s (%s)", strerror(errno), bpfmm_alloc_last_error());
    return a;
}

static inline bpfmm_alloc_t *test_alloc(uint64_t nr_frames, unsigned max_order, bool backed)
{
    struct bpfmm_alloc_opts o = {.nr_frames = nr_frames, .max_order = max_order, .backed = backed};
    return test_alloc_opts(o);
}

#define CHECK_ALLOC_OK(a)                                                                          \
    do {                                                                                           \
        char _m[512];                                                                              \
        int _r = bpfmm_alloc_check((a), _m, sizeof(_m));                                           \
        CHECK_MSG(_r == 0, "bpfmm_alloc_check: %d: %s", _r, _m);                                   \
    } while (0)

static inline struct bpfmm_alloc_stats test_stats(bpfmm_alloc_t *a)
{
    struct bpfmm_alloc_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_alloc_get_stats(a, &st), 0);
    return st;
}

/* A ledger of the frames a concurrent test holds: one bit per frame, updated atomically (also
 * from signal handlers). Taking a frame already held, or giving back one not held, means the
 * allocator handed a frame out twice or lost track of it: it counts an error. */
static inline void ledger_mark(_Atomic uint64_t *bits, _Atomic unsigned *errors, int64_t pfn,
                               unsigned order, bool take)
{
    for (int64_t i = pfn; i < pfn + (1 << order); i++) {
        uint64_t bit = 1ull << (i % 64);
        uint64_t old =
            take ? atomic_fetch_or(&bits[i / 64], bit) : atomic_fetch_and(&bits[i / 64], ~bit);
        if (!(old & bit) == !take)
            atomic_fetch_add(errors, 1);
    }
}

#endif
