/*
 * live_agent_fake_enomem: ENOMEM (no huge page could be allocated) backs off globally: no
 * process gets a call for enomem_backoff_ms (10 s), like khugepaged's alloc_sleep_millisecs,
 * doubling on repeated failures. An ENOMEM that means "this range is no longer mapped" (madvise
 * says ENOMEM for unmapped ranges too) is told apart by re-reading the VMAs: the range is
 * dropped, nobody backs off.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "one"), *q = fa_proc_add(101, "two");
    fa_vma_add(p, BASE, 16ull << 20);
    fa_set(p, BASE, 4 * 512, FA_PRESENT);
    fa_vma_add(q, BASE, 8ull << 20);
    fa_set(q, BASE, 4 * 512, FA_PRESENT);
    fa.enomem = 1;

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, 101, NULL, NULL, 0), 0);
    uint64_t t0 = fa.now;
    fa_run(a, t0 + 9000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 1);
    CHECK_EQ(fa.calls[0].ret, -ENOMEM);
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_GE(gs.enomem_until_ns, t0 + 10000 * MSEC);
    CHECK_EQ(gs.c.failed[LIVE_AGENT_E_NOMEM], 1);

    fa_run(a, t0 + 12000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 3); /* both processes, right after the backoff */
    CHECK_GE(fa.calls[1].at, t0 + 10000 * MSEC);
    for (int i = 0; i < 4; i++)
        CHECK(fa_block_huge(p, BASE + i * FA_PMD) && fa_block_huge(q, BASE + i * FA_PMD));

    /* Repeated ENOMEM doubles the wait (20 s after the second in a row). */
    fa_set(p, BASE + 4 * FA_PMD, 512, FA_PRESENT);
    fa.enomem = 1;
    unsigned c0 = fa.ncalls;
    fa_run(a, fa.now + 3000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, c0 + 1);
    CHECK_EQ(fa.calls[c0].ret, -ENOMEM);
    uint64_t t1 = fa.calls[c0].at;
    /* the first success reset the count: 10 s again */
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_U64_EQ(gs.enomem_until_ns, t1 + 10000 * MSEC);
    fa.enomem = 1;
    fa_run(a, t1 + 10500 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, c0 + 2);
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_U64_EQ(gs.enomem_until_ns, fa.calls[c0 + 1].at + 20000 * MSEC);
    fa_run(a, fa.calls[c0 + 1].at + 21000 * MSEC, MSEC);
    CHECK(fa_block_huge(p, BASE + 4 * FA_PMD));

    /* Unmapped after the decision: one call (slice ends after it: blocks cost 60 ms), then the
     * VMA goes; the next call gets ENOMEM for the gap: dropped, no backoff. */
    live_agent_free(a);
    fa_fini();
    fa_init();
    p = fa_proc_add(100, "one");
    fa_vma_add(p, BASE, 4ull << 20);
    fa_vma_add(p, BASE + (16ull << 20), 4ull << 20);
    fa_set(p, BASE, 2 * 512, FA_PRESENT);
    fa_set(p, BASE + (16ull << 20), 2 * 512, FA_PRESENT);
    fa.block_cost_ns = 60 * MSEC;
    o = fa_opts(&b);
    o.batch_blocks = 2;
    a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    uint64_t next;
    CHECK_EQ(live_agent_step(a, &next), 0);
    CHECK_EQ(fa.ncalls, 1);
    fa_vma_remove(p, BASE + (16ull << 20));
    CHECK_EQ(live_agent_step(a, &next), 0);
    CHECK_EQ(fa.ncalls, 2);
    CHECK_EQ(fa.calls[1].ret, -ENOMEM);
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_EQ(gs.enomem_until_ns, 0);
    fa_run(a, fa.now + 5000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 2);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.candidates, 0);
    live_agent_free(a);
    fa_fini();
    return 0;
}
