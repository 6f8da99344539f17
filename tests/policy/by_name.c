/* by-name: a HASH map from comm to orders decides, and edits from the host take effect on the
 * next call; names not in the map get unmatched_orders (default: every candidate). */
#include "policy_test.h"

int main(void)
{
    bpfmm_policy_t *p = open_policy("by-name");
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(bpfmm_policy_obj(p), "orders_by_comm");
    CHECK(m != NULL);
    CHECK_EQ(bpfmm_rt_map_key_size(m), 16);
    CHECK_EQ(bpfmm_rt_map_value_size(m), 8);

    struct bpfmm_thp_ctx c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    memset(c.comm, 0, sizeof(c.comm));
    memcpy(c.comm, "postgres", 8);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);

    char key[16] = "postgres";
    uint64_t none = 0, pmd_only = PMD;
    CHECK_EQ(bpfmm_rt_map_update(m, key, &none, 0), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    CHECK_EQ(bpfmm_rt_map_update(m, key, &pmd_only, 0), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), PMD);

    /* Another name is unaffected. */
    struct bpfmm_thp_ctx other = c;
    memset(other.comm, 0, sizeof(other.comm));
    memcpy(other.comm, "redis", 5);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &other), other.orders);

    /* Text keys and values as the CLI gives them. */
    char log[256] = "";
    char k2[16];
    uint64_t v2;
    CHECK_EQ(bpfmm_rt_map_parse_key(m, "redis", k2, log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_map_parse_value(m, "0", &v2, log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_map_update(m, k2, &v2, 0), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &other), 0);

    CHECK_EQ(bpfmm_rt_map_delete(m, key), 0);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), c.orders);
    bpfmm_policy_close(p);

    /* unmatched_orders narrows processes not in the map. */
    const char *knob[] = {"unmatched_orders=0"};
    p = open_policy_rodata("by-name", knob, 1);
    CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), 0);
    bpfmm_policy_close(p);
    return 0;
}
