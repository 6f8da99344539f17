/*
 * Lifecycle events -> scope (live_lifecycle_scope_apply) with synthetic events: a FORK makes
 * the child governed by the event's policy through scope's own inheritance, and repairs a
 * scope that missed the parent or holds a stale entry; a reconciled FORK (parent unknown)
 * attaches; EXEC keeps; EXIT removes; an event for a policy the scope destroyed says -ENOENT.
 */
#include "test.h"
#include "live/lifecycle_scope.h"

static int prog_a, prog_b;

static struct live_lc_event ev(enum live_lc_event_type t, pid_t tgid, pid_t parent, uint32_t id,
                               uint32_t flags)
{
    return (struct live_lc_event){
        .type = t, .flags = flags, .tgid = tgid, .parent = parent, .policy_id = id, .pidfd = -1};
}

static void expect_local(bpfmm_scope_t *s, int32_t tgid, uint32_t id)
{
    uint32_t got = 0;
    CHECK_EQ(bpfmm_scope_policy_of(s, tgid, &got), BPFMM_SCOPE_LOCAL);
    CHECK_EQ(got, id);
}

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    uint32_t a, b;
    CHECK_EQ(bpfmm_scope_policy_create(s, "a", &prog_a, NULL, NULL, &a), 0);
    CHECK_EQ(bpfmm_scope_policy_create(s, "b", &prog_b, NULL, NULL, &b), 0);
    CHECK_EQ(bpfmm_scope_attach(s, a, 10), 0);

    struct live_lc_event e = ev(LIVE_LC_FORK, 20, 10, a, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    expect_local(s, 20, a);
    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, a, &info), 0);
    CHECK_EQ(info.inherits, 1); /* through scope's fork rule */

    /* The scope never saw 15's attach (or its parent's fork): repaired. */
    e = ev(LIVE_LC_FORK, 16, 15, a, LIVE_LC_EV_RESCAN);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    expect_local(s, 16, a);

    /* A stale local entry under the child's pid (a missed exit) is replaced. */
    CHECK_EQ(bpfmm_scope_attach(s, b, 30), 0);
    e = ev(LIVE_LC_FORK, 30, 20, a, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    expect_local(s, 30, a);

    e = ev(LIVE_LC_FORK, 40, 0, b, LIVE_LC_EV_RECONCILE);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    expect_local(s, 40, b);

    e = ev(LIVE_LC_EXEC, 20, 0, a, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    expect_local(s, 20, a);

    e = ev(LIVE_LC_EXIT, 20, 0, a, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), 0);
    CHECK_EQ(bpfmm_scope_policy_of(s, 20, NULL), BPFMM_SCOPE_NONE);
    int32_t procs[8];
    CHECK_EQ(bpfmm_scope_policy_procs(s, a, procs, 8), 3); /* 10, 16, 30 */

    CHECK_EQ(bpfmm_scope_policy_destroy(s, b), 0);
    e = ev(LIVE_LC_FORK, 41, 40, b, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), -ENOENT);
    e = ev(LIVE_LC_EXIT, -1, 0, a, 0);
    CHECK_EQ(live_lifecycle_scope_apply(s, &e), -EINVAL);
    bpfmm_scope_free(s);
    return 0;
}
