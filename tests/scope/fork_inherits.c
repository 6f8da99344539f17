/*
 * scope_fork_inherits: a child forked after the attach inherits its parent's policy, and so do
 * grandchildren; threads (parent == child) are not new processes; a fork under a pid that
 * still has a stale entry (a missed exit) gives the new process its parent's policy, or none.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pb = {.tag = "B"};
    uint32_t a = make_policy(s, "A", &pa), b = make_policy(s, "B", &pb);

    CHECK_EQ(bpfmm_scope_attach(s, a, 200), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 200, 201), 0); /* child */
    CHECK_EQ(bpfmm_scope_fork(s, 201, 202), 0); /* grandchild */
    CHECK_EQ(bpfmm_scope_fork(s, 202, 203), 0); /* great-grandchild */
    CHECK_EQ(bpfmm_scope_fork(s, 200, 200), 0); /* a thread: ignored */
    for (int32_t t = 200; t <= 203; t++)
        expect_governed(s, t, a, &pa, BPFMM_SCOPE_LOCAL);
    expect_procs(s, a, (int32_t[]){200, 201, 202, 203}, 4);

    /* A child inherits its own parent's policy, not its grandparent's. */
    CHECK_EQ(bpfmm_scope_attach(s, b, 300), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 300, 301), 0);
    expect_governed(s, 301, b, &pb, BPFMM_SCOPE_LOCAL);

    /* Stale entry: 203 exited unseen and its pid is reused by a child of unmanaged 400. */
    CHECK_EQ(bpfmm_scope_fork(s, 400, 203), 0);
    expect_unmanaged(s, 203);
    expect_procs(s, a, (int32_t[]){200, 201, 202}, 3);
    /* ... or by a child of 300 (policy B). */
    CHECK_EQ(bpfmm_scope_fork(s, 201, 204), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 300, 204), 0);
    expect_governed(s, 204, b, &pb, BPFMM_SCOPE_LOCAL);

    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, a, &info), 0);
    CHECK_EQ(info.inherits, 4);
    CHECK_EQ(info.attaches, 1);

    bpfmm_scope_free(s);
    return 0;
}
