/*
 * Charge counter: with a limit of 100 pages, blocking and try allocations succeed up to exactly
 * the limit and then fail with -EDQUOT (counted as "charge"), without leaving a charge behind;
 * NOCHARGE allocations bypass it; frees uncharge; lowering the limit below the current charge
 * blocks further charged allocations until frees bring the charge under it.
 */
#include "alloc_test.h"

int main(void)
{
    bpfmm_alloc_t *a = test_alloc_opts(
        (struct bpfmm_alloc_opts){.nr_frames = 4096, .max_order = 10, .charge_limit_pages = 100});
    int64_t p[100];
    unsigned n = 0;
    /* 96 pages by the blocking path in order-3 blocks, then order 0 by the try path. */
    for (int i = 0; i < 12; i++) {
        p[n] = bpfmm_alloc_pages(a, 3, 0);
        CHECK_GE(p[n], 0);
        n++;
    }
    CHECK_EQ(bpfmm_alloc_pages(a, 3, 0), -EDQUOT); /* 96 + 8 > 100 */
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 3), -EDQUOT);
    for (int i = 0; i < 4; i++) {
        p[n] = bpfmm_alloc_try_alloc_pages(a, 0);
        CHECK_GE(p[n], 0);
        n++;
    }
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 0), -EDQUOT);
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), -EDQUOT);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.charged_pages, 100);
    CHECK_EQ(st.charge_limit_pages, 100);
    CHECK_EQ(st.fail[BPFMM_ALLOC_FAIL_CHARGE], 4);
    CHECK_EQ(st.allocated_pages, 100);

    /* NOCHARGE is not limited and not counted. */
    int64_t nc = bpfmm_alloc_pages(a, 4, BPFMM_GFP_NOCHARGE);
    CHECK_GE(nc, 0);
    CHECK_EQ(test_stats(a).charged_pages, 100);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)nc, 4), 0);
    CHECK_EQ(test_stats(a).charged_pages, 100);

    /* Freeing uncharges, on both free paths. */
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[0], 3), 0);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)p[13], 0), 0);
    CHECK_EQ(test_stats(a).charged_pages, 91);
    int64_t again = bpfmm_alloc_try_alloc_pages(a, 3);
    CHECK_GE(again, 0);
    int64_t one = bpfmm_alloc_try_alloc_pages(a, 0); /* 99 + 1 == 100: still fits */
    CHECK_GE(one, 0);
    CHECK_EQ(bpfmm_alloc_try_alloc_pages(a, 0), -EDQUOT);
    CHECK_EQ(bpfmm_alloc_free_pages_nolock(a, (uint64_t)one, 0), 0);
    CHECK_EQ(test_stats(a).charged_pages, 99);

    /* Lower the limit under the charge: everything charged fails until frees catch up. */
    CHECK_EQ(bpfmm_alloc_set_charge_limit(a, 50), 0);
    CHECK_EQ(bpfmm_alloc_pages(a, 0, 0), -EDQUOT);
    for (unsigned i = 1; i < 12; i++)
        CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[i], 3), 0);
    CHECK_EQ(test_stats(a).charged_pages, 11); /* again (8) + p[12], p[14], p[15] */
    int64_t x = bpfmm_alloc_pages(a, 5, 0);    /* 11 + 32 <= 50 */
    CHECK_GE(x, 0);
    CHECK_EQ(bpfmm_alloc_pages(a, 3, 0), -EDQUOT); /* 43 + 8 > 50 */

    /* Unlimited again. */
    CHECK_EQ(bpfmm_alloc_set_charge_limit(a, 0), 0);
    int64_t y = bpfmm_alloc_pages(a, 8, 0);
    CHECK_GE(y, 0);
    CHECK_EQ(test_stats(a).charged_pages, 43 + 256);

    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)y, 8), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)x, 5), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)again, 3), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[12], 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[14], 0), 0);
    CHECK_EQ(bpfmm_alloc_free_pages(a, (uint64_t)p[15], 0), 0);
    st = test_stats(a);
    CHECK_EQ(st.charged_pages, 0);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
