/*
 * An existing child is unaffected by an attach to its parent, and so are its own children;
 * a child forked after the attach is managed:
 *
 *   P ──fork──> C (before the attach) ──fork──> D (after)
 *   P (attached) ──fork──> E (after)
 *
 * In proc connector mode the rescan runs every 50 ms here: it must not adopt C or D either.
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    struct live_lifecycle_opts o = {.rescan_ms = 50};
    open_mode(argc, argv, &o);
    char err[256];

    pid_t p = puppet_spawn(0);
    pid_t c = pcmd(0, P_FORK, 1, true);
    CHECK_GT(c, 0);
    CHECK_EQ(pcmd(1, P_PING, 0, true), c);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 3, err, sizeof(err)), 0);
    expect_managed_by(p, 3);
    expect_not_managed(c);
    pid_t d = pcmd(1, P_FORK, 2, true);
    CHECK_GT(d, 0);
    pid_t e = pcmd(0, P_FORK, 3, true);
    CHECK_GT(e, 0);
    wait_ev(LIVE_LC_FORK, e);
    settle(300); /* several rescans in proc connector mode */
    expect_not_managed(c);
    expect_not_managed(d);
    expect_managed_by(e, 3);
    CHECK_EQ(find_ev(LIVE_LC_FORK, c), -1);
    CHECK_EQ(find_ev(LIVE_LC_FORK, d), -1);
    if (is_bpf())
        CHECK_EQ(pcmd(2, P_FIRST_LOOKUP, 0, true), -ENOENT);
    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    CHECK_EQ(live_lifecycle_get_stats(g_lc, &st), 0);
    CHECK_EQ(st.managed, 2);
    CHECK_EQ(st.forks, 1);
    live_lifecycle_close(g_lc);
    return 0;
}
