/* never answers no order for every type; always answers every candidate for every type. */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *never = open_policy("never"), *always = open_policy("always");
    for (unsigned t = 0; t < BPFMM_THP_NR_TYPES; t++) {
        struct bpfmm_thp_ctx c = range_ctx((enum bpfmm_thp_type)t, 1);
        CHECK_U64_EQ(bpfmm_policy_get_orders(never, &c), 0);
        CHECK_U64_EQ(bpfmm_policy_get_orders(always, &c), c.orders);
        c.orders = BPFMM_ORDER(3);
        CHECK_U64_EQ(bpfmm_policy_get_orders(always, &c), BPFMM_ORDER(3));
    }
    bpfmm_policy_close(never);
    bpfmm_policy_close(always);
    return 0;
}
