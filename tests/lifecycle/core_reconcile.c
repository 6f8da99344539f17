/*
 * Lifecycle core, BPF mode: kernel records mirrored (pidfd identity pinned by the start time,
 * stale generations ignored) and the mirror rebuilt from a kernel snapshot after lost records:
 * EXIT for what is gone or was replaced under the same pid, FORK for what is new, EXEC for
 * survivors; a late record for an entry reconciliation already added is ignored.
 */
#include "fake_sys.h"

static bool kernel_says_no_60;

static int f_kernel_has(void *backend, pid_t tgid, uint32_t id, uint64_t gen)
{
    return !(kernel_says_no_60 && tgid == 60);
}

static uint64_t start_ns(pid_t pid)
{
    return fake_find(pid)->start_ticks * 10000000ull + 1234;
}

/* Finds (and marks as checked) one event among all recorded after `from`. */
static void expect_any(int from, enum live_lc_event_type type, pid_t tgid, uint32_t flags,
                       bool *used)
{
    for (int i = from; i < fk.nevs; i++) {
        if (!used[i] && fk.evs[i].type == type && fk.evs[i].tgid == tgid &&
            fk.evs[i].flags == flags) {
            used[i] = true;
            return;
        }
    }
    TEST_FAIL("no %s %d (flags %u) among the reconcile events", live_lc_event_name(type), (int)tgid,
              flags);
}

int main(void)
{
    struct lc_core c;
    fake_init(&c, false);
    c.sys.kernel_has = f_kernel_has;
    fake_spawn(10, 1);
    fake_attach(&c, 10, 7, false);
    uint64_t gen = lc_core_policy_gen(&c, 7, false);
    CHECK_NE(gen, 0);

    fake_spawn(20, 10);
    lc_core_kernel_fork(&c, 20, 10, 7, gen, start_ns(20));
    expect_ev(LIVE_LC_FORK, 20, 10, 7, 0);
    CHECK_GE(fk.evs[ev_next - 1].pidfd, 0);
    CHECK_EQ(fk.evs[ev_next - 1].start_time, fake_find(20)->start_ticks);

    /* A record from before a detach/re-attach of the policy. */
    fake_spawn(41, 10);
    lc_core_kernel_fork(&c, 41, 10, 7, gen + 100, start_ns(41));
    expect_unmanaged(&c, 41);
    expect_no_more_events();

    /* Gone before its record was read: FORK without a pidfd, then its EXIT. */
    fake_spawn(42, 10);
    uint64_t s42 = start_ns(42);
    fake_reap(42);
    lc_core_kernel_fork(&c, 42, 10, 7, gen, s42);
    expect_ev(LIVE_LC_FORK, 42, 10, 7, 0);
    CHECK_EQ(fk.evs[ev_next - 1].pidfd, -1);
    lc_core_exit(&c, 42, 0);
    expect_ev(LIVE_LC_EXIT, 42, 0, 7, 0);

    /* The pid belongs to a newer process by the time the record is read. */
    fake_spawn(50, 10);
    uint64_t s50 = start_ns(50);
    fake_reap(50);
    fk.now_ticks += 3;
    fake_spawn(50, 1);
    lc_core_kernel_fork(&c, 50, 10, 7, gen, s50);
    expect_ev(LIVE_LC_FORK, 50, 10, 7, 0);
    CHECK_EQ(fk.evs[ev_next - 1].pidfd, -1);

    /* Records are lost. Meanwhile: 20 forked 30, 20 exited, 50 exited, 10 exited and a new
     * managed process reuses pid 10, 60 appeared but is gone again by the time it is opened. */
    fake_spawn(30, 20);
    fake_reap(20);
    fake_reap(10);
    fake_spawn(10, 30);
    fake_spawn(60, 30);
    kernel_says_no_60 = true;
    struct lc_kentry snap[] = {
        {.tgid = 10, .parent = 30, .policy_id = 7, .gen = gen},
        {.tgid = 30, .parent = 20, .policy_id = 7, .gen = gen},
        {.tgid = 60, .parent = 30, .policy_id = 7, .gen = gen},
    };
    int from = fk.nevs;
    lc_core_reconcile(&c, snap, 3);
    bool used[FAKE_MAX_EVS] = {0};
    expect_any(from, LIVE_LC_EXIT, 10, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_EXIT, 20, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_EXIT, 50, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_FORK, 10, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_FORK, 30, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_FORK, 60, LIVE_LC_EV_RECONCILE, used);
    CHECK_EQ(fk.nevs - from, 6);
    /* Exits come before the new entries (a reused pid: EXIT old, then FORK new). */
    for (int i = from; i < from + 3; i++)
        CHECK_EQ(fk.evs[i].type, LIVE_LC_EXIT);
    for (int i = from; i < fk.nevs; i++) {
        if (fk.evs[i].tgid == 60)
            CHECK_EQ(fk.evs[i].pidfd, -1); /* not confirmed by the kernel map */
        else if (fk.evs[i].type == LIVE_LC_FORK)
            CHECK_GE(fk.evs[i].pidfd, 0);
    }
    ev_next = fk.nevs;
    expect_managed(&c, 10, 7);
    expect_managed(&c, 30, 7);
    expect_unmanaged(&c, 20);
    expect_unmanaged(&c, 50);

    /* The FORK record of 30, consumed after the snapshot that already had it. */
    lc_core_kernel_fork(&c, 30, 20, 7, gen, start_ns(30));
    expect_no_more_events();

    /* Survivors get an EXEC (they may have exec'ed while records were lost). */
    from = fk.nevs;
    lc_core_reconcile(&c, snap, 2);
    memset(used, 0, sizeof(used));
    expect_any(from, LIVE_LC_EXEC, 10, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_EXEC, 30, LIVE_LC_EV_RECONCILE, used);
    expect_any(from, LIVE_LC_EXIT, 60, LIVE_LC_EV_RECONCILE, used);
    CHECK_EQ(fk.nevs - from, 3);
    CHECK_EQ(c.st.reconciles, 2);
    lc_core_fini(&c);
    CHECK_EQ(fk.open_fds, 0);
    return 0;
}
