/* The shipped default policy enforces max_ptes_none 255, max_ptes_swap 0, max_ptes_shared 256
 * with the kernel's definitions (zero-page mappings count as none; any guard page refuses). */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("default");
    struct bpfmm_thp_ctx c;

    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 257); /* 255 none: the limit itself */
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 256); /* 256 none: one over */
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 1);
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));

    /* Zero-page mappings are present but count as none. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    c.nr_zero = 256;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c.nr_zero = 255;
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);

    /* max_ptes_swap 0: one swapped page refuses. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 511);
    c.nr_swapped = 1;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));

    /* max_ptes_shared 256. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    c.nr_shared = 256;
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c.nr_shared = 257;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));

    /* Any guard page refuses every order. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 511);
    c.nr_guard = 1;
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);

    /* Only the PMD order is removed by a limit; other candidates survive. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 1);
    c.orders = PMD | BPFMM_ORDER(4);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), BPFMM_ORDER(4));

    /* Without range counts there is nothing to judge: no opinion. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 0);
    c.range_pages = 0;
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);

    /* Query judges like a collapse; fault and swap-in keep the kernel's choice. */
    c = range_ctx(BPFMM_THP_QUERY, 1);
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c = range_ctx(BPFMM_THP_PAGEFAULT, 1);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);
    c = range_ctx(BPFMM_THP_SWAPIN, 1);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);

    /* The result never widens the candidates. */
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    c.orders = BPFMM_ORDER(2);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), BPFMM_ORDER(2));

    /* The policy reads the counts, so hosts must gather them. */
    CHECK(bpfmm_policy_reads_field(p, nr_present));
    CHECK(bpfmm_policy_reads_field(p, nr_shared));
    CHECK(!bpfmm_policy_reads_field(p, vma_referenced));
    bpfmm_policy_close(p);
    return 0;
}
