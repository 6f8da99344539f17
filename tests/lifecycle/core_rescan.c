/*
 * Lifecycle core, proc connector repair path: children whose FORK events were lost are
 * adopted by the /proc rescan, recursively, except the attach root's pre-existing children;
 * a pid reused by a new child of the root is adopted (the exclusion remembers start times); a
 * late FORK event for an adopted child is ignored.
 *
 *   10 (attached) ── 11 (pre-existing)
 *      └── 20 ── 21 ── 22   (forks missed)
 */
#include "fake_sys.h"

int main(void)
{
    struct lc_core c;
    fake_init(&c, true);
    fake_spawn(10, 1);
    fake_spawn(11, 10);
    fake_attach(&c, 10, 3, true);

    fake_spawn(20, 10);
    fake_spawn(21, 20);
    fake_spawn(22, 21);
    CHECK_EQ(lc_core_rescan(&c), 3);
    expect_ev(LIVE_LC_FORK, 20, 10, 3, LIVE_LC_EV_RESCAN);
    expect_ev(LIVE_LC_FORK, 21, 20, 3, LIVE_LC_EV_RESCAN);
    expect_ev(LIVE_LC_FORK, 22, 21, 3, LIVE_LC_EV_RESCAN);
    expect_unmanaged(&c, 11);
    CHECK_EQ(lc_core_rescan(&c), 0);
    expect_no_more_events();

    /* A late FORK event for an adopted child changes nothing. */
    CHECK(!lc_core_fork(&c, 20, 21, fake_now_ns()));
    expect_no_more_events();

    /* The pre-existing child exits; a new child of the root gets its pid. */
    fake_reap(11);
    fake_spawn(11, 10);
    CHECK_EQ(lc_core_rescan(&c), 1);
    expect_ev(LIVE_LC_FORK, 11, 10, 3, LIVE_LC_EV_RESCAN);

    struct live_lifecycle_stats st = c.st;
    CHECK_EQ(st.rescans, 3);
    CHECK_EQ(st.rescan_found, 4);
    CHECK_EQ(st.managed, 5);
    struct live_lc_proc list[8];
    CHECK_EQ(lc_core_list(&c, 3, list, 8), 5);
    CHECK_EQ(list[0].tgid, 10);
    CHECK_EQ(list[0].parent, 0);
    CHECK_EQ(list[4].tgid, 22);
    CHECK_EQ(list[4].parent, 21);
    CHECK_EQ(lc_core_list(&c, 4, list, 8), 0);
    lc_core_fini(&c);
    CHECK_EQ(fk.open_fds, 0);
    return 0;
}
