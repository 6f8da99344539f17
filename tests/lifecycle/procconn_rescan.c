/*
 * The proc connector fallback loses events when its socket overflows; the /proc rescan then
 * finds the managed child whose FORK was lost. The socket buffer is made tiny and filled with
 * the events of unmanaged short-lived processes before the managed parent forks, so that the
 * child's FORK event is dropped; the child must then be found by a rescan (flag RESCAN), and
 * its exit is still seen (pidfd).
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    char *args[] = {argv[0], "procconn"};
    struct live_lifecycle_opts o = {.netlink_rcvbuf = 1, .rescan_ms = 100};
    open_mode(2, args, &o);
    char err[256];

    pid_t u = puppet_spawn(1); /* unmanaged: makes noise */
    pid_t p = puppet_spawn(0);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 8, err, sizeof(err)), 0);
    settle(50);
    CHECK_EQ(pcmd(1, P_FORK_EXIT, 300, true), 0); /* overflows the socket */
    pid_t c = pcmd(0, P_FORK, 2, true);           /* its FORK event is dropped */
    CHECK_EQ(pcmd(2, P_PING, 0, true), c);
    int i = wait_ev(LIVE_LC_FORK, c);
    CHECK_MSG(evs[i].flags & LIVE_LC_EV_RESCAN, "child %d found by its event, not a rescan",
              (int)c);
    CHECK_EQ(evs[i].parent, p);
    CHECK_EQ(evs[i].policy_id, 8);
    expect_managed_by(c, 8);
    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    CHECK_EQ(live_lifecycle_get_stats(g_lc, &st), 0);
    CHECK_GE(st.lost, 1);
    CHECK_GE(st.rescan_found, 1);
    /* Lost events may have been execs: the survivors were told. */
    CHECK_GE(find_ev(LIVE_LC_EXEC, p), 0);
    CHECK_EQ(find_ev(LIVE_LC_FORK, u), -1);

    pcmd(2, P_EXIT, 0, false);
    wait_ev(LIVE_LC_EXIT, c);
    expect_not_managed(c);
    live_lifecycle_close(g_lc);
    return 0;
}
