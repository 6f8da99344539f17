/*
 * A child forked right after the attach returns is managed, and so is a grandchild (the
 * BPF-THP series' selftest, on the real kernel):
 *
 *   P (attached) ──fork──> C ──fork──> G        test (attached) ──fork──> T
 *
 * With BPF the child is in the kernel map before it first runs: C, G and T each look
 * themselves up first thing after fork returns in them, and the test looks C up as soon as
 * P's fork returns, without reading any event. With the proc connector (argv[1] "procconn")
 * registration is asynchronous: the test waits for the FORK events instead.
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
    CHECK_EQ(pcmd(0, P_PING, 0, true), p);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 5, err, sizeof(err)), 0);
    uint64_t t0 = mono_ms();
    pid_t c = pcmd(0, P_FORK, 1, true);
    CHECK_GT(c, 0);
    if (is_bpf()) {
        expect_managed_by(c, 5);
        CHECK_EQ(pcmd(1, P_FIRST_LOOKUP, 0, true), 5);
    }
    pid_t g = pcmd(1, P_FORK, 2, true);
    CHECK_GT(g, 0);
    if (is_bpf()) {
        expect_managed_by(g, 5);
        CHECK_EQ(pcmd(2, P_FIRST_LOOKUP, 0, true), 5);
    }
    printf("P %d forked C %d %llu ms after the attach returned; C forked G %d\n", (int)p, (int)c,
           (unsigned long long)(mono_ms() - t0), (int)g);

    int i = wait_ev(LIVE_LC_FORK, c);
    CHECK_EQ(evs[i].parent, p);
    CHECK_EQ(evs[i].policy_id, 5);
    CHECK_EQ(evs[i].flags, 0);
    CHECK_NE(evs[i].start_time, 0);
    i = wait_ev(LIVE_LC_FORK, g);
    CHECK_EQ(evs[i].parent, c);
    CHECK_EQ(evs[i].policy_id, 5);
    expect_managed_by(c, 5);
    expect_managed_by(g, 5);
    CHECK_GE(live_lifecycle_pidfd(g_lc, g), 0);

    /* The test process itself, attached, forks at once. */
    CHECK_EQ(live_lifecycle_attach(g_lc, getpid(), 9, err, sizeof(err)), 0);
    pid_t t = puppet_spawn(3);
    if (is_bpf()) {
        expect_managed_by(t, 9); /* no event read yet */
        CHECK_EQ(pcmd(3, P_FIRST_LOOKUP, 0, true), 9);
    }
    i = wait_ev(LIVE_LC_FORK, t);
    CHECK_EQ(evs[i].parent, getpid());
    CHECK_EQ(evs[i].policy_id, 9);
    CHECK_EQ(live_lifecycle_detach(g_lc, getpid()), 0);
    expect_not_managed(getpid());
    expect_managed_by(t, 9); /* detaching one process leaves its children */

    struct live_lc_proc list[8];
    CHECK_EQ(live_lifecycle_list(g_lc, 5, list, 8), 3);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 4);
    live_lifecycle_close(g_lc);
    return 0;
}
