/* A policy that faults at run time (instruction budget) answers the candidate orders ("no
 * opinion"), and the fault is counted with its instruction index; a well-behaved call on the
 * same policy still answers normally. */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("tests/policy/fault_loop.bpf.o");
    struct bpfmm_thp_ctx c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    c.orders = PMD | BPFMM_ORDER(4);

    c.address = 3; /* terminates: the policy answers 0 */
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    struct bpfmm_policy_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_policy_get_stats(p, &st), 0);
    CHECK_EQ(st.calls, 1);
    CHECK_EQ(st.faults, 0);

    c.address = ~0ull; /* exhausts the budget */
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);
    CHECK_EQ(bpfmm_policy_get_stats(p, &st), 0);
    CHECK_EQ(st.calls, 2);
    CHECK_EQ(st.faults, 1);
    CHECK_LT(st.last_fault_insn, bpfmm_rt_prog_insn_count(bpfmm_policy_prog(p)));
    bpfmm_policy_close(p);
    return 0;
}
