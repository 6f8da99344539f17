/* A policy can only narrow, never widen: whatever a program returns is ANDed with ctx->orders,
 * so orders the kernel would not allow never come back (seed 000's hook semantics). */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("tests/policy/widen.bpf.o");
    struct bpfmm_thp_ctx c = range_ctx(BPFMM_THP_PAGEFAULT, 512);
    c.orders = PMD | BPFMM_ORDER(4);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), PMD | BPFMM_ORDER(4));
    c.orders = BPFMM_ORDER(2);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), BPFMM_ORDER(2));
    c.orders = 0;
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    c.address |= 1; /* the program now clears bit 0, order 0: still within the candidates */
    c.orders = BPFMM_ORDER(0) | PMD;
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), PMD);
    bpfmm_policy_close(p);
    return 0;
}
