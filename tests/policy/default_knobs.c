/* The default policy's knobs are .rodata and set before verification; forced collapses obey
 * the limits unless limit_forced_collapse=0. */
#include "policy_test.h"

int main(void)
{
    const char *loose[] = {"max_ptes_none=511", "max_ptes_swap=64"};
    bpfmm_policy_t *p = open_policy_rodata("default", loose, 2);
    struct bpfmm_thp_ctx c = range_ctx(BPFMM_THP_KHUGEPAGED, 1);
    c.nr_swapped = 64;
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c.nr_swapped = 65;
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    bpfmm_policy_close(p);

    p = open_policy("default");
    c = range_ctx(BPFMM_THP_FORCED_COLLAPSE, 1);
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    bpfmm_policy_close(p);

    const char *unlimited[] = {"limit_forced_collapse=0"};
    p = open_policy_rodata("default", unlimited, 1);
    c = range_ctx(BPFMM_THP_FORCED_COLLAPSE, 1);
    CHECK(bpfmm_policy_get_orders(p, &c) & PMD);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 1);
    CHECK(!(bpfmm_policy_get_orders(p, &c) & PMD));
    bpfmm_policy_close(p);

    /* An unknown knob fails the open with a message naming it. */
    char log[1024] = "";
    const char *bad[] = {"max_ptes_nothing=3"};
    char path[4096];
    snprintf(path, sizeof(path), "%s/policies/default.bpf.o", test_build_dir());
    struct bpfmm_policy_opts o = {
        .sz = sizeof(o), .rodata = bad, .nr_rodata = 1, .log_buf = log, .log_size = sizeof(log)};
    CHECK(bpfmm_policy_open(path, &o) == NULL);
    CHECK_STR_CONTAINS(log, "max_ptes_nothing");
    return 0;
}
