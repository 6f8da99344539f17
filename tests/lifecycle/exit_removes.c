/*
 * Exit removes the entry: checked in the kernel map right after waitpid (BPF), and by the
 * EXIT event. A multi-threaded process whose leader exits first stays managed until its last
 * thread is gone. Run with "legacy" to use the pre-6.16 exit detection (signal->live).
 *
 *   P (attached) ──fork──> C ──exit
 *                └─fork──> M: leader exits, its last thread exits later
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
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 6, err, sizeof(err)), 0);
    pid_t c = pcmd(0, P_FORK, 1, true);
    wait_ev(LIVE_LC_FORK, c);
    pcmd(1, P_EXIT, 0, false);
    CHECK_EQ(pcmd(0, P_WAIT, c, true), c);
    if (is_bpf())
        expect_not_managed(c); /* the kernel map, before any event is read */
    int i = wait_ev(LIVE_LC_EXIT, c);
    CHECK_EQ(evs[i].policy_id, 6);
    expect_not_managed(c);
    CHECK_EQ(live_lifecycle_pidfd(g_lc, c), -ENOENT);

    pid_t m = pcmd(0, P_FORK, 2, true);
    wait_ev(LIVE_LC_FORK, m);
    pcmd(2, P_THREAD, 0, true);
    pcmd(2, P_LEADER_EXIT, 0, true);
    /* Wait for the leader to be a zombie while its other threads run. */
    uint64_t end = mono_ms() + 10000;
    while (task_state(m, m) != 'Z') {
        CHECK_MSG(mono_ms() < end, "leader of %d did not exit", (int)m);
        usleep(1000);
    }
    settle(100);
    expect_managed_by(m, 6);
    CHECK_EQ(find_ev(LIVE_LC_EXIT, m), -1);
    CHECK_EQ(pcmd(2, P_PING, 0, true), m); /* still serving, from its second thread */

    pcmd(2, P_EXIT, 0, false); /* exit_group from a non-leader thread */
    CHECK_EQ(pcmd(0, P_WAIT, m, true), m);
    if (is_bpf())
        expect_not_managed(m);
    wait_ev(LIVE_LC_EXIT, m);
    expect_not_managed(m);

    /* The last thread of a process leaves by pthread_exit after its leader. */
    pid_t n = pcmd(0, P_FORK, 3, true);
    wait_ev(LIVE_LC_FORK, n);
    pcmd(3, P_LEADER_EXIT, 0, true);
#if defined(BPFMM_SANITIZE_THREAD)
    /* TSan's runtime keeps a background thread in the puppet: pthread_exit would not end it. */
    pcmd(3, P_EXIT, 0, false);
#else
    pcmd(3, P_LAST_EXIT, 0, false);
#endif
    CHECK_EQ(pcmd(0, P_WAIT, n, true), n);
    if (is_bpf())
        expect_not_managed(n);
    wait_ev(LIVE_LC_EXIT, n);

    /* The attach root's own exit. */
    pcmd(0, P_EXIT, 0, false);
    CHECK_EQ(waitpid(p, NULL, 0), p);
    if (is_bpf())
        expect_not_managed(p);
    wait_ev(LIVE_LC_EXIT, p);
    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    CHECK_EQ(live_lifecycle_get_stats(g_lc, &st), 0);
    CHECK_EQ(st.managed, 0);
    /* Not exactly 4: under ASan, LeakSanitizer forks a helper process at exit, which is
     * (rightly) a managed child too. */
    CHECK_GE(st.exits, 4);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, NULL, 0), 0);
    live_lifecycle_close(g_lc);
    return 0;
}
