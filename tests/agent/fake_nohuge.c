/*
 * live_agent_fake_nohuge: what the kernel would refuse with EINVAL is detected up front, where
 * it is cheap, and never submitted: a MADV_NOHUGEPAGE VMA (smaps VmFlags "nh") is left alone
 * while the process's other VMAs are collapsed; a process with THP disabled by prctl
 * (/proc/PID/status THP_enabled: 0) gets no call at all and says why in its status.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define NH   0x7f0100000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 8ull << 20);
    fa_set(p, BASE, 4 * 512, FA_PRESENT);
    struct fa_vma *v = fa_vma_add(p, NH, 8ull << 20);
    v->nohuge = true;
    fa_set(p, NH, 4 * 512, FA_PRESENT);
    struct fa_proc *q = fa_proc_add(101, "prctl");
    fa_vma_add(q, BASE, 8ull << 20);
    fa_set(q, BASE, 4 * 512, FA_PRESENT);
    q->thp_enabled = 0;

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, 101, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 120000000000ull, 10000000);

    for (int i = 0; i < 4; i++) {
        CHECK(fa_block_huge(p, BASE + i * FA_PMD));
        CHECK_EQ(fa_calls_touching(100, NH + i * FA_PMD), 0);
        CHECK(!fa_block_huge(p, NH + i * FA_PMD));
    }
    CHECK_EQ(fa_calls_of(101), 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
        CHECK_EQ(st.c.failed[e], 0);
    CHECK_EQ(live_agent_proc_status(a, 101, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_THP_DISABLED);
    CHECK_STR_CONTAINS(st.state_msg, "PR_SET_THP_DISABLE");

    /* THP allowed again (a process can only do it itself): picked up at the next scan. */
    q->thp_enabled = 1;
    fa_run(a, fa.now + 40000000000ull, 10000000);
    CHECK_EQ(live_agent_proc_status(a, 101, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.c.collapses, 4);
    live_agent_free(a);
    fa_fini();
    return 0;
}
