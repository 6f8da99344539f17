/*
 * scope_attach_ebusy: one local policy per process. A second attach to a managed process
 * fails with EBUSY - from another policy and from the same one - and leaves the first
 * attachment in place; after a detach the process can be attached again.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pb = {.tag = "B"};
    uint32_t a = make_policy(s, "A", &pa), b = make_policy(s, "B", &pb);

    CHECK_EQ(bpfmm_scope_attach(s, a, 100), 0);
    CHECK_EQ(bpfmm_scope_attach(s, b, 100), -EBUSY);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "already managed by policy");
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "'A'");
    CHECK_EQ(bpfmm_scope_attach(s, a, 100), -EBUSY);
    expect_governed(s, 100, a, &pa, BPFMM_SCOPE_LOCAL);
    expect_procs(s, a, (int32_t[]){100}, 1);
    expect_procs(s, b, NULL, 0);

    /* Another process is independent. */
    CHECK_EQ(bpfmm_scope_attach(s, b, 101), 0);
    expect_governed(s, 101, b, &pb, BPFMM_SCOPE_LOCAL);

    CHECK_EQ(bpfmm_scope_detach(s, 100), 0);
    expect_unmanaged(s, 100);
    CHECK_EQ(bpfmm_scope_attach(s, b, 100), 0);
    expect_governed(s, 100, b, &pb, BPFMM_SCOPE_LOCAL);
    expect_procs(s, b, (int32_t[]){100, 101}, 2);

    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, b, &info), 0);
    CHECK_EQ(info.attaches, 2);
    CHECK_EQ(info.nr_procs, 2);

    bpfmm_scope_free(s);
    CHECK_EQ(pa.released, 1);
    CHECK_EQ(pb.released, 1);
    return 0;
}
