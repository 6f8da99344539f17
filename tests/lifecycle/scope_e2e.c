/*
 * End to end through src/scope, on the real kernel: the lifecycle's events are applied to a
 * bpfmm scope (live_lifecycle_scope_apply), as the agent does.
 *   - a second attach fails with EBUSY (the kernel map refuses it first);
 *   - a child is governed by its parent's policy, exec keeps it, exit removes it;
 *   - update swaps the program for every managed process without touching the kernel map;
 *   - the global policy covers unmanaged processes, a local one overrides it;
 *   - detaching the policy releases all its processes, which fall back to the global.
 */
#include "lc_test.h"
#include "live/lifecycle_scope.h"

static bpfmm_scope_t *s;
static int prog_a1, prog_a2, prog_g;

static void apply(void *arg, const struct live_lc_event *ev)
{
    record(arg, ev);
    int r = live_lifecycle_scope_apply(s, ev);
    CHECK_MSG(r == 0, "apply %s %d: %d %s", live_lc_event_name(ev->type), (int)ev->tgid, r,
              bpfmm_scope_last_error());
}

static void *governing(int32_t tgid)
{
    struct bpfmm_scope_ref ref;
    if (bpfmm_scope_lookup(s, tgid, &ref) != 0)
        return NULL;
    void *p = ref.prog;
    bpfmm_scope_ref_put(&ref);
    return p;
}

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    s = bpfmm_scope_new(NULL);
    CHECK(s);
    uint32_t a, g;
    CHECK_EQ(bpfmm_scope_policy_create(s, "a", &prog_a1, NULL, NULL, &a), 0);
    CHECK_EQ(bpfmm_scope_policy_create(s, "g", &prog_g, NULL, NULL, &g), 0);
    struct live_lifecycle_opts o = {.on_event = apply}; /* record + scope */
    open_mode(argc, argv, &o);
    char err[256] = "";

    pid_t p = puppet_spawn(0);
    CHECK_EQ(live_lifecycle_scope_attach(g_lc, s, a, p, err, sizeof(err)), 0);
    CHECK_EQ(live_lifecycle_scope_attach(g_lc, s, g, p, err, sizeof(err)), -EBUSY);
    CHECK_EQ(live_lifecycle_scope_attach(g_lc, s, 999, p, err, sizeof(err)), -ENOENT);
    CHECK_STR_CONTAINS(err, "no policy with id 999");
    CHECK(governing(p) == &prog_a1);

    pid_t c = pcmd(0, P_FORK, 1, true);
    wait_ev(LIVE_LC_FORK, c);
    CHECK(governing(c) == &prog_a1);
    CHECK_EQ(pcmd(1, P_EXEC, 0, true), c);
    wait_ev(LIVE_LC_EXEC, c);
    CHECK(governing(c) == &prog_a1);

    CHECK_EQ(bpfmm_scope_policy_update(s, a, &prog_a2, NULL, NULL), 0);
    CHECK(governing(p) == &prog_a2);
    CHECK(governing(c) == &prog_a2);
    expect_managed_by(c, a); /* ids are stable: the kernel map did not change */

    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);
    CHECK(governing(getpid()) == &prog_g);
    CHECK(governing(p) == &prog_a2);

    pcmd(1, P_EXIT, 0, false);
    CHECK_EQ(pcmd(0, P_WAIT, c, true), c);
    wait_ev(LIVE_LC_EXIT, c);
    int32_t procs[8];
    CHECK_EQ(bpfmm_scope_policy_procs(s, a, procs, 8), 1);
    CHECK_EQ(procs[0], p);

    pid_t d = pcmd(0, P_FORK, 2, true);
    wait_ev(LIVE_LC_FORK, d);
    CHECK_EQ(live_lifecycle_scope_detach_policy(g_lc, s, a), 2);
    expect_not_managed(p);
    expect_not_managed(d);
    CHECK_EQ(bpfmm_scope_policy_of(s, p, NULL), BPFMM_SCOPE_GLOBAL);
    CHECK(governing(d) == &prog_g);
    live_lifecycle_close(g_lc);
    bpfmm_scope_free(s);
    return 0;
}
