/*
 * runtime_policy_two_maps: a policy whose clang output dereferences, after a merge, a pointer
 * that is a map value on one path and &ctx->orders on the other (progs/two_maps.bpf.c) loads
 * and answers correctly on both paths: the verifier keeps the two paths apart instead of
 * joining the pointer into an unusable "mixed" value.
 */
#include "policy_test.h"

struct rule {
    uint64_t orders, hits;
};

int main(void)
{
    bpfmm_policy_t *p = open_policy("tests/policy/two_maps.bpf.o");
    bpfmm_rt_obj_t *obj = bpfmm_policy_obj(p);
    bpfmm_rt_map_t *fault_map = bpfmm_rt_obj_find_map(obj, "fault_map");
    bpfmm_rt_map_t *bg_map = bpfmm_rt_obj_find_map(obj, "bg_map");
    CHECK(fault_map && bg_map);

    /* Page fault, no rule for the process (hash miss): the candidate orders, via the ctx. */
    struct bpfmm_thp_ctx ctx = range_ctx(BPFMM_THP_PAGEFAULT, 512);
    uint32_t key = ctx.tgid & 63;
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &ctx), ctx.orders);
    /* A rule: its orders, via the map value, and the hit counted in place. */
    struct rule r = {.orders = PMD};
    CHECK_EQ(bpfmm_rt_map_update(fault_map, &key, &r, 0), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &ctx), PMD);
    CHECK_EQ(bpfmm_rt_map_lookup(fault_map, &key, &r), 0);
    CHECK_EQ(r.hits, 1);

    /* Background collapse: the array (every key present, zeroed: no orders), then a rule. */
    ctx = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &ctx), 0);
    r = (struct rule){.orders = BPFMM_ORDER(4) | PMD};
    CHECK_EQ(bpfmm_rt_map_update(bg_map, &key, &r, 0), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &ctx), BPFMM_ORDER(4) | PMD);

    struct bpfmm_policy_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_policy_get_stats(p, &st), 0);
    CHECK_EQ(st.calls, 4);
    CHECK_EQ(st.faults, 0);
    bpfmm_policy_close(p);
    return 0;
}
