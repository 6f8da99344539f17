/*
 * BPF ring buffer overflow: with a one-page ring, a managed process forks and reaps hundreds
 * of children without the test reading events, so records are dropped. The next poll notices
 * the drop counter and rebuilds the userspace state from the kernel map: afterwards the
 * lifecycle's table, the kernel map and the live processes agree.
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    char *args[] = {argv[0], "bpf"};
    struct live_lifecycle_opts o = {.ringbuf_kib = 4};
    open_mode(2, args, &o);
    char err[256];

    pid_t p = puppet_spawn(0);
    CHECK_EQ(live_lifecycle_attach(g_lc, p, 2, err, sizeof(err)), 0);
    CHECK_EQ(pcmd(0, P_FORK_EXIT, 400, true), 0);
    pid_t c = pcmd(0, P_FORK, 1, true);
    expect_managed_by(c, 2);
    CHECK_GE(live_lifecycle_poll(g_lc, 0), 0);
    wait_ev(LIVE_LC_FORK, c);

    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    CHECK_EQ(live_lifecycle_get_stats(g_lc, &st), 0);
    CHECK_MSG(st.lost > 0, "no record was lost: the test did not overflow the ring");
    CHECK_GE(st.reconciles, 1);
    CHECK_EQ(st.managed, 2);
    struct live_lc_proc list[8];
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 2);
    CHECK_EQ(list[0].tgid < list[1].tgid ? list[0].tgid : list[1].tgid, p < c ? p : c);
    CHECK_GE(live_lifecycle_pidfd(g_lc, c), 0);
    CHECK_GE(live_lifecycle_pidfd(g_lc, p), 0);
    printf("lost %llu records, %llu reconcile(s)\n", (unsigned long long)st.lost,
           (unsigned long long)st.reconciles);

    /* Tracking goes on normally. */
    pcmd(1, P_EXIT, 0, false);
    CHECK_EQ(pcmd(0, P_WAIT, c, true), c);
    expect_not_managed(c);
    wait_ev(LIVE_LC_EXIT, c);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, list, 8), 1);
    live_lifecycle_close(g_lc);
    return 0;
}
