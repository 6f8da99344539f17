/* The khugepaged policy is exactly the kernel's defaults: max_ptes_none 511, max_ptes_swap 64,
 * max_ptes_shared 256, for every collapse including forced ones. */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("khugepaged");
    struct bpfmm_thp_ctx c;

    c = range_ctx(BPFMM_THP_KHUGEPAGED, 1); /* 511 none */
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 0); /* 512 none */
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 448);
    c.nr_swapped = 64;
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c.nr_swapped = 65;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c = range_ctx(BPFMM_THP_FORCED_COLLAPSE, 512);
    c.nr_shared = 257;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c.nr_shared = 256;
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c = range_ctx(BPFMM_THP_PAGEFAULT, 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);
    bpfmm_policy_close(p);
    return 0;
}
