/*
 * live_agent_fake_process: ESRCH and EPERM/EACCES concern the whole process. A process whose
 * collapse says ESRCH is "gone": nothing more is submitted, and once it is reaped the agent
 * (and the scope) forget it. EPERM makes it "not permitted" with a message saying what to do;
 * it is retried only after perm_retry_ms. Other processes are not affected.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *g = fa_proc_add(100, "exits"), *d = fa_proc_add(101, "denied");
    struct fa_proc *ok = fa_proc_add(102, "fine");
    struct fa_proc *all[] = {g, d, ok};
    for (int i = 0; i < 3; i++) {
        fa_vma_add(all[i], BASE, 16ull << 20);
        fa_set(all[i], BASE, 8 * 512, FA_PRESENT);
    }
    fa_inject(g, BASE, -ESRCH, -1, true);
    fa_inject(d, BASE, -EPERM, 1, true);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    for (pid_t pid = 100; pid <= 102; pid++)
        CHECK_EQ(live_agent_attach(a, id, pid, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 30000 * MSEC, 10 * MSEC);

    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(fa_calls_of(100), 1);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_GONE);
    CHECK_STR_CONTAINS(st.state_msg, "exited");
    CHECK_EQ(st.c.failed[LIVE_AGENT_E_SRCH], 1);

    CHECK_EQ(fa_calls_of(101), 1);
    CHECK_EQ(live_agent_proc_status(a, 101, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_NOT_PERMITTED);
    CHECK_STR_CONTAINS(st.state_msg, "EPERM");
    CHECK_STR_CONTAINS(st.state_msg, "CAP_SYS_NICE");

    CHECK_EQ(live_agent_proc_status(a, 102, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.c.collapses, 8);

    /* Reaped: forgotten, by the agent and by the scope. */
    g->exists = false;
    fa_run(a, fa.now + 3000 * MSEC, 10 * MSEC);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), -ENOENT);
    CHECK_EQ(bpfmm_scope_policy_of(live_agent_scope(a), 100, NULL), BPFMM_SCOPE_NONE);
    CHECK_EQ(fa_calls_of(100), 1);

    /* After perm_retry_ms (60 s) the denied one is tried again, and now it works. */
    fa_run(a, fa.now + 40000 * MSEC, 10 * MSEC);
    CHECK_EQ(live_agent_proc_status(a, 101, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.c.collapses, 8);
    CHECK_EQ(fa_calls_of(101), 2);
    live_agent_free(a);
    fa_fini();
    return 0;
}
