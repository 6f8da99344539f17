/*
 * live_agent_fake_nohuge: what the kernel refuses with EINVAL is not retried in a storm.
 *   - A process with THP disabled by prctl (/proc/PID/status THP_enabled: 0, a few us to read)
 *     is detected up front: no call at all, and its status says why.
 *   - A MADV_NOHUGEPAGE VMA is known from smaps VmFlags "nh", read on its slow clock (smaps
 *     walks every page table: 12 ms per GiB of 4 KiB pages). Before that read, the VMA costs
 *     at most 3 failed calls (each returns at once, before any work), then it is marked until
 *     it changes; after it, it is not even scanned. The process's other VMAs are collapsed.
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
    fa_run(a, fa.now + 60000000000ull, 10000000);

    unsigned touching = 0;
    for (int i = 0; i < 4; i++) {
        CHECK(fa_block_huge(p, BASE + i * FA_PMD));
        CHECK(!fa_block_huge(p, NH + i * FA_PMD));
        touching += fa_calls_touching(100, NH + i * FA_PMD);
    }
    CHECK_LE(fa_calls_touching(100, NH), 3);
    CHECK_LE(fa_calls_touching(100, NH + FA_PMD), 3);
    CHECK_EQ(fa_calls_of(101), 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_LE(st.c.failed[LIVE_AGENT_E_INVAL], 2);
    CHECK_EQ(st.candidates, 0);
    /* Past the smaps clock (120 s) and several rescans: not one more call. */
    unsigned smaps0 = fa.smaps_reads;
    fa_run(a, fa.now + 300000000000ull, 100000000);
    CHECK_GT(fa.smaps_reads, smaps0);
    unsigned after = 0;
    for (int i = 0; i < 4; i++)
        after += fa_calls_touching(100, NH + i * FA_PMD);
    CHECK_EQ(after, touching);
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
