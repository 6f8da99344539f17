/*
 * Threads do not create entries; exec keeps the entry and produces an EXEC event, both for a
 * child and for the attach root itself; what an exec'ed process forks still inherits.
 *
 *   P (attached) +3 threads ──fork──> C ──exec──> C' ──fork──> D
 *   P ──exec──> P' ──fork──> F
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    struct live_lifecycle_opts o = {0};
    open_mode(argc, argv, &o);
    char err[256];

    pid_t p = puppet_spawn(0);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 4, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++)
        pcmd(0, P_THREAD, 0, true);
    struct live_lc_proc list[8];
    settle(100);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 1);
    CHECK_EQ(list[0].tgid, p);
    CHECK_EQ(nevs, 0); /* no FORK for threads */

    pid_t c = pcmd(0, P_FORK, 1, true);
    wait_ev(LIVE_LC_FORK, c);
    CHECK_EQ(pcmd(1, P_EXEC, 0, true), c); /* the new image answers */
    int i = wait_ev(LIVE_LC_EXEC, c);
    CHECK_EQ(evs[i].policy_id, 4);
    CHECK_GE(evs[i].pidfd, 0);
    expect_managed_by(c, 4);
    pid_t d = pcmd(1, P_FORK, 2, true);
    i = wait_ev(LIVE_LC_FORK, d);
    CHECK_EQ(evs[i].parent, c);
    expect_managed_by(d, 4);

    /* The multi-threaded root execs (de_thread kills its other threads). */
    CHECK_EQ(pcmd(0, P_EXEC, 0, true), p);
    wait_ev(LIVE_LC_EXEC, p);
    expect_managed_by(p, 4);
    CHECK_EQ(find_ev(LIVE_LC_EXIT, p), -1);
    pid_t f = pcmd(0, P_FORK, 3, true);
    wait_ev(LIVE_LC_FORK, f);
    expect_managed_by(f, 4);
    CHECK_EQ(live_lifecycle_list(g_lc, 4, list, 8), 4);
    live_lifecycle_close(g_lc);
    return 0;
}
