/*
 * scope_exit_removes: an exiting process leaves its policy's list (and falls back to the
 * global policy if its pid is looked up again); its children keep their policy; exits of
 * unmanaged processes are ignored; the exit count is kept.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pg = {.tag = "G"};
    uint32_t a = make_policy(s, "A", &pa), g = make_policy(s, "G", &pg);

    CHECK_EQ(bpfmm_scope_attach(s, a, 700), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 700, 701), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 700, 702), 0);
    expect_procs(s, a, (int32_t[]){700, 701, 702}, 3);

    CHECK_EQ(bpfmm_scope_exit(s, 701), 0);
    expect_procs(s, a, (int32_t[]){700, 702}, 2);
    expect_unmanaged(s, 701);

    /* The parent exits; its remaining child keeps the policy. */
    CHECK_EQ(bpfmm_scope_exit(s, 700), 0);
    expect_procs(s, a, (int32_t[]){702}, 1);
    expect_governed(s, 702, a, &pa, BPFMM_SCOPE_LOCAL);

    /* Exits of unmanaged or already-removed processes are no-ops. */
    CHECK_EQ(bpfmm_scope_exit(s, 999), 0);
    CHECK_EQ(bpfmm_scope_exit(s, 701), 0);
    expect_procs(s, a, (int32_t[]){702}, 1);

    /* A removed pid falls back to the global policy. */
    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);
    expect_governed(s, 700, g, &pg, BPFMM_SCOPE_GLOBAL);

    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, a, &info), 0);
    CHECK_EQ(info.exits, 2);
    CHECK_EQ(info.nr_procs, 1);

    /* The policy survives its processes: it can still be attached to. */
    CHECK_EQ(bpfmm_scope_exit(s, 702), 0);
    expect_procs(s, a, NULL, 0);
    CHECK_EQ(bpfmm_scope_attach(s, a, 703), 0);
    CHECK_EQ(pa.released, 0);

    bpfmm_scope_free(s);
    CHECK_EQ(pa.released, 1);
    return 0;
}
