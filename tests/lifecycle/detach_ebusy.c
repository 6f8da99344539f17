/*
 * A second attach fails with EBUSY (same or another policy, attached or inherited), detaching
 * one process leaves its children managed, detaching a policy releases all its processes at
 * once, and a detached policy is no longer inherited.
 *
 *   P (policy 1) ──fork──> C (inherits 1) ──fork──> E (after detach of 1: unmanaged)
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    struct live_lifecycle_opts o = {0};
    open_mode(argc, argv, &o);
    char err[256] = "";

    pid_t p = puppet_spawn(0);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 1, err, sizeof(err)), 0);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 1, err, sizeof(err)), -EBUSY);
    CHECK_STR_CONTAINS(err, "already managed by policy 1");
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 2, err, sizeof(err)), -EBUSY);
    pid_t c = pcmd(0, P_FORK, 1, true);
    wait_ev(LIVE_LC_FORK, c);
    CHECK_EQ(live_lifecycle_attach(g_lc, c, 2, err, sizeof(err)), -EBUSY);
    CHECK_STR_CONTAINS(err, "inherited");

    CHECK_EQ(live_lifecycle_detach(g_lc, p), 0);
    CHECK_EQ(live_lifecycle_detach(g_lc, p), -ENOENT);
    expect_not_managed(p);
    expect_managed_by(c, 1);
    pid_t d = pcmd(0, P_FORK, 2, true);
    settle(200);
    expect_not_managed(d);
    CHECK_EQ(find_ev(LIVE_LC_FORK, d), -1);

    CHECK_EQ(live_lifecycle_attach(g_lc, p, 2, err, sizeof(err)), 0);
    expect_managed_by(p, 2);
    CHECK_EQ(live_lifecycle_detach_policy(g_lc, 1), 1);
    expect_not_managed(c);
    pid_t e = pcmd(1, P_FORK, 3, true);
    settle(200);
    expect_not_managed(e);
    CHECK_EQ(find_ev(LIVE_LC_FORK, e), -1);

    /* The same id attached again is a new attachment: nothing of the old one comes back. */
    CHECK_EQ(live_lifecycle_attach(g_lc, c, 1, err, sizeof(err)), 0);
    struct live_lc_proc list[8];
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 2);
    CHECK_EQ(live_lifecycle_detach_policy(g_lc, 1), 1);
    CHECK_EQ(live_lifecycle_detach_policy(g_lc, 2), 1);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 0);
    CHECK_EQ(live_lifecycle_detach_policy(g_lc, 2), 0);
    live_lifecycle_close(g_lc);
    return 0;
}
