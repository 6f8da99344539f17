/* collapse-only: no THP at page fault or swap-in; collapse under the default limits. */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("collapse-only");
    struct bpfmm_thp_ctx c;
    c = range_ctx(BPFMM_THP_PAGEFAULT, 512);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    c = range_ctx(BPFMM_THP_SWAPIN, 512);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 100);
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    c = range_ctx(BPFMM_THP_FORCED_COLLAPSE, 400);
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    bpfmm_policy_close(p);
    return 0;
}
