/*
 * scope_exec_keeps: exec keeps the process's policy (attached or inherited), including after
 * an update, and a process that execs keeps passing its policy to later children.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pa2 = {.tag = "A2"}, pg = {.tag = "G"};
    uint32_t a = make_policy(s, "A", &pa), g = make_policy(s, "G", &pg);
    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);

    CHECK_EQ(bpfmm_scope_attach(s, a, 500), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 500, 501), 0);
    CHECK_EQ(bpfmm_scope_exec(s, 500), 0);
    CHECK_EQ(bpfmm_scope_exec(s, 501), 0);
    CHECK_EQ(bpfmm_scope_exec(s, 501), 0);
    expect_governed(s, 500, a, &pa, BPFMM_SCOPE_LOCAL);
    expect_governed(s, 501, a, &pa, BPFMM_SCOPE_LOCAL);

    CHECK_EQ(bpfmm_scope_policy_update(s, a, &pa2, fake_release, &pa2), 0);
    CHECK_EQ(bpfmm_scope_exec(s, 500), 0);
    expect_governed(s, 500, a, &pa2, BPFMM_SCOPE_LOCAL);
    CHECK_EQ(bpfmm_scope_fork(s, 501, 502), 0);
    expect_governed(s, 502, a, &pa2, BPFMM_SCOPE_LOCAL);

    /* exec of an unmanaged process changes nothing either. */
    CHECK_EQ(bpfmm_scope_exec(s, 600), 0);
    expect_governed(s, 600, g, &pg, BPFMM_SCOPE_GLOBAL);
    expect_procs(s, a, (int32_t[]){500, 501, 502}, 3);

    bpfmm_scope_free(s);
    return 0;
}
