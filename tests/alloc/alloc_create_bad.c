/*
 * Bad arenas and options: zero frames, more frames than 32-bit indices allow, a backed arena
 * larger than the machine's memory, max_order above 18, a too-small opts->sz and NULL opts each
 * fail with NULL, the documented errno, and a message from bpfmm_alloc_last_error() that says
 * what was wrong. Then the smallest valid zone (one frame) works, and NULL handles are refused.
 */
#include "alloc_test.h"

#define CREATE_FAILS(opts, err, needle)                                                            \
    do {                                                                                           \
        errno = 0;                                                                                 \
        CHECK(bpfmm_alloc_create(opts) == NULL);                                                   \
        CHECK_EQ(errno, err);                                                                      \
        CHECK_STR_CONTAINS(bpfmm_alloc_last_error(), needle);                                      \
    } while (0)

int main(void)
{
    struct bpfmm_alloc_opts o = {.sz = sizeof(o)};
    CREATE_FAILS(&o, EINVAL, "nr_frames is 0");
    o.backed = true;
    CREATE_FAILS(&o, EINVAL, "nr_frames is 0");

    o = (struct bpfmm_alloc_opts){.sz = sizeof(o), .nr_frames = 1ull << 32};
    CREATE_FAILS(&o, E2BIG, "above the maximum");
    o.nr_frames = UINT64_MAX;
    CREATE_FAILS(&o, E2BIG, "above the maximum");
    /* 8 TiB backed: more than any test machine has. */
    o = (struct bpfmm_alloc_opts){.sz = sizeof(o), .nr_frames = 1ull << 31, .backed = true};
    CREATE_FAILS(&o, E2BIG, "unbacked mode");

    o = (struct bpfmm_alloc_opts){.sz = sizeof(o), .nr_frames = 64, .max_order = 19};
    CREATE_FAILS(&o, EINVAL, "max_order 19");
    o = (struct bpfmm_alloc_opts){.sz = 4, .nr_frames = 64};
    CREATE_FAILS(&o, EINVAL, "opts->sz");
    CREATE_FAILS(NULL, EINVAL, "opts is NULL");
    o = (struct bpfmm_alloc_opts){.sz = sizeof(o), .nr_frames = 64, .pcp_slots = 100000};
    CREATE_FAILS(&o, EINVAL, "pcp_slots");

    /* One frame, backed. */
    bpfmm_alloc_t *a = test_alloc(1, 10, true);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.nr_frames, 1);
    CHECK_EQ(st.free_blocks[0], 1);
    CHECK_EQ(bpfmm_alloc_pages(a, 1, 0), -ENOMEM);
    int64_t p = bpfmm_alloc_pages(a, 0, 0);
    CHECK_EQ(p, 0);
    CHECK(bpfmm_alloc_pfn_to_addr(a, 0) != NULL);
    CHECK(bpfmm_alloc_pfn_to_addr(a, 1) == NULL);
    CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, (char *)bpfmm_alloc_pfn_to_addr(a, 0) + 4096), -EFAULT);
    CHECK_EQ(bpfmm_alloc_addr_to_pfn(a, &st), -EFAULT);
    CHECK_EQ(bpfmm_alloc_free_pages(a, 0, 0), 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);

    /* A largest valid unbacked zone is accepted without touching its metadata. */
    o = (struct bpfmm_alloc_opts){.sz = sizeof(o), .nr_frames = (1ull << 32) - 1, .max_order = 18};
    bpfmm_alloc_t *huge = bpfmm_alloc_create(&o);
    if (huge) {
        int64_t h = bpfmm_alloc_pages(huge, 18, 0);
        CHECK_GE(h, 0);
        CHECK_EQ(bpfmm_alloc_free_pages(huge, (uint64_t)h, 18), 0);
        bpfmm_alloc_destroy(huge);
    } else {
        /* Only when the address space for 64 GiB of metadata cannot be reserved. */
        CHECK_EQ(errno, ENOMEM);
        CHECK_STR_CONTAINS(bpfmm_alloc_last_error(), "frame metadata");
    }

    CHECK_EQ(bpfmm_alloc_pages(NULL, 0, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(NULL, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages(NULL, 0, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(NULL, 0, 0), -EINVAL);
    CHECK_EQ(bpfmm_alloc_check(NULL, NULL, 0), -EINVAL);
    bpfmm_alloc_destroy(NULL);
    return 0;
}
