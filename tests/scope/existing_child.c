/*
 * scope_existing_child: attaching a policy to a process does not reach children it forked
 * before the attach (seed 000: "existing child processes are unaffected"); only forks
 * reported after the attach propagate.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"};
    uint32_t a = make_policy(s, "A", &pa);

    /* parent 100 forks 101 while unmanaged, then is attached, then forks 102. */
    CHECK_EQ(bpfmm_scope_fork(s, 100, 101), 0);
    expect_unmanaged(s, 101);
    CHECK_EQ(bpfmm_scope_attach(s, a, 100), 0);
    expect_unmanaged(s, 101);
    CHECK_EQ(bpfmm_scope_fork(s, 100, 102), 0);
    expect_governed(s, 102, a, &pa, BPFMM_SCOPE_LOCAL);
    /* The existing child's own later children stay unmanaged too. */
    CHECK_EQ(bpfmm_scope_fork(s, 101, 103), 0);
    expect_unmanaged(s, 103);
    expect_procs(s, a, (int32_t[]){100, 102}, 2);

    bpfmm_scope_free(s);
    return 0;
}
