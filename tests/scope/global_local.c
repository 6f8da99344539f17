/*
 * scope_global_local: the global policy covers unmanaged processes, a local policy overrides
 * it, children of unmanaged processes stay covered by the global (they inherit no local
 * policy), replacing or clearing the global leaves local attachments alone, and a policy can
 * be global and local at the same time.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pg = {.tag = "G"}, pg2 = {.tag = "G2"}, pl = {.tag = "L"};
    uint32_t g = make_policy(s, "G", &pg), g2 = make_policy(s, "G2", &pg2);
    uint32_t l = make_policy(s, "L", &pl);

    expect_unmanaged(s, 1);
    CHECK_EQ(bpfmm_scope_global_get(s, NULL), -ENOENT);

    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);
    uint32_t got = 0;
    CHECK_EQ(bpfmm_scope_global_get(s, &got), 0);
    CHECK_EQ(got, g);
    expect_governed(s, 1, g, &pg, BPFMM_SCOPE_GLOBAL);
    expect_governed(s, 12345, g, &pg, BPFMM_SCOPE_GLOBAL);
    expect_procs(s, g, NULL, 0); /* the global lists no processes of its own */

    CHECK_EQ(bpfmm_scope_attach(s, l, 50), 0);
    expect_governed(s, 50, l, &pl, BPFMM_SCOPE_LOCAL);
    CHECK_EQ(bpfmm_scope_fork(s, 50, 51), 0);
    expect_governed(s, 51, l, &pl, BPFMM_SCOPE_LOCAL);
    CHECK_EQ(bpfmm_scope_fork(s, 60, 61), 0); /* unmanaged parent: child under the global */
    expect_governed(s, 61, g, &pg, BPFMM_SCOPE_GLOBAL);
    expect_procs(s, g, NULL, 0);

    /* Replacing the global. */
    CHECK_EQ(bpfmm_scope_global_set(s, g2), 0);
    expect_governed(s, 61, g2, &pg2, BPFMM_SCOPE_GLOBAL);
    expect_governed(s, 50, l, &pl, BPFMM_SCOPE_LOCAL);
    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, g2, &info), 0);
    CHECK(info.global);
    CHECK_EQ(bpfmm_scope_policy_info(s, g, &info), 0);
    CHECK(!info.global);

    /* Clearing it leaves the locals. */
    bpfmm_scope_global_clear(s);
    expect_unmanaged(s, 61);
    expect_governed(s, 50, l, &pl, BPFMM_SCOPE_LOCAL);
    expect_governed(s, 51, l, &pl, BPFMM_SCOPE_LOCAL);
    expect_procs(s, l, (int32_t[]){50, 51}, 2);

    /* The same policy as global and local. */
    CHECK_EQ(bpfmm_scope_global_set(s, l), 0);
    expect_governed(s, 7, l, &pl, BPFMM_SCOPE_GLOBAL);
    expect_governed(s, 50, l, &pl, BPFMM_SCOPE_LOCAL);
    /* An update reaches both the locals and the processes the global covers. */
    struct fake_prog pl2 = {.tag = "L2"};
    CHECK_EQ(bpfmm_scope_policy_update(s, l, &pl2, fake_release, &pl2), 0);
    expect_governed(s, 7, l, &pl2, BPFMM_SCOPE_GLOBAL);
    expect_governed(s, 51, l, &pl2, BPFMM_SCOPE_LOCAL);
    /* Detaching a local process leaves it under the global. */
    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);
    CHECK_EQ(bpfmm_scope_detach(s, 51), 0);
    expect_governed(s, 51, g, &pg, BPFMM_SCOPE_GLOBAL);

    bpfmm_scope_free(s);
    CHECK_EQ(pl.released, 1);
    CHECK_EQ(pl2.released, 1);
    CHECK_EQ(pg.released, 1);
    return 0;
}
