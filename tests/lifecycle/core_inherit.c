/*
 * Lifecycle core, proc connector rules, with synthetic events on a fake system: a new child of
 * a managed process inherits (grandchildren too), an existing child does not, threads and
 * unmanaged parents do not, a child gone before its event or a pid reused since is not taken,
 * exec keeps, exit removes (pidfd closed and unwatched), detaching a policy releases all.
 *
 *   10 (attached, policy 7) ── 11 (existed before the attach: stays unmanaged)
 *      └── 20 (forked after) ── 30
 *   12 (unmanaged) ── 40
 */
#include "fake_sys.h"

int main(void)
{
    struct lc_core c;
    fake_init(&c, true);
    fake_spawn(10, 1);
    fake_spawn(11, 10);
    fake_spawn(12, 1);
    fake_attach(&c, 10, 7, true);
    expect_managed(&c, 10, 7);

    /* The FORK event of a child forked before the attach can be read after it. */
    CHECK(!lc_core_fork(&c, 10, 11, fake_now_ns()));
    expect_unmanaged(&c, 11);
    /* A new thread is not a process. */
    CHECK(!lc_core_fork(&c, 10, 10, fake_now_ns()));

    fake_spawn(20, 10);
    CHECK(lc_core_fork(&c, 10, 20, fake_now_ns()));
    expect_ev(LIVE_LC_FORK, 20, 10, 7, 0);
    CHECK_EQ(fk.evs[ev_next - 1].start_time, fake_find(20)->start_ticks);
    expect_managed(&c, 20, 7);
    fake_spawn(30, 20);
    CHECK(lc_core_fork(&c, 20, 30, fake_now_ns()));
    expect_ev(LIVE_LC_FORK, 30, 20, 7, 0);
    /* The same event twice (or after a rescan adopted it) changes nothing. */
    CHECK(!lc_core_fork(&c, 20, 30, fake_now_ns()));

    fake_spawn(40, 12);
    CHECK(!lc_core_fork(&c, 12, 40, fake_now_ns()));
    expect_unmanaged(&c, 40);

    /* Exited and reaped before its event was read: nothing to manage. */
    fake_spawn(21, 10);
    fake_reap(21);
    CHECK(!lc_core_fork(&c, 10, 21, fake_now_ns()));
    expect_unmanaged(&c, 21);

    /* The child exited and its pid went to a process started after the event. */
    fake_spawn(22, 10);
    uint64_t t = fake_now_ns();
    fake_reap(22);
    fk.now_ticks += 5;
    fake_spawn(22, 12);
    CHECK(!lc_core_fork(&c, 10, 22, t));
    expect_unmanaged(&c, 22);

    lc_core_exec(&c, 20, 0);
    expect_ev(LIVE_LC_EXEC, 20, 0, 7, 0);
    expect_managed(&c, 20, 7);
    lc_core_exec(&c, 12, 0); /* unmanaged: no event */

    fake_reap(30);
    lc_core_exit(&c, 30, 0);
    expect_ev(LIVE_LC_EXIT, 30, 0, 7, 0);
    expect_unmanaged(&c, 30);
    lc_core_exit(&c, 30, 0);
    expect_no_more_events();

    CHECK_EQ(fk.open_fds, 2); /* 10 and 20 */
    CHECK_EQ(lc_core_remove_policy(&c, 7), 2);
    expect_unmanaged(&c, 10);
    expect_unmanaged(&c, 20);
    CHECK_EQ(fk.open_fds, 0);
    /* After the detach the children of 20 no longer inherit. */
    fake_spawn(23, 20);
    CHECK(!lc_core_fork(&c, 20, 23, fake_now_ns()));
    expect_no_more_events();
    lc_core_fini(&c);
    return 0;
}
