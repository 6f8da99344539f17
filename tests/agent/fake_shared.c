/*
 * live_agent_fake_shared: nr_shared is gathered only when the policy reads it, and then
 * exactly. "default" (max_ptes_shared 256) refuses a range with 300 pages shared with another
 * process and collapses one whose pages are all its own; "always" does not read nr_shared:
 * no pagemap entry is read for it. A fork voids what was decided (the pages are now shared
 * with the child): the parent is re-decided with fresh counts.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 16ull << 20);
    const uint64_t A = BASE, B = BASE + 2 * FA_PMD;
    fa_set(p, A, 512, FA_PRESENT);
    fa_set(p, A, 300, FA_PRESENT | FA_SHARED);
    fa_set(p, B, 512, FA_PRESENT);

    struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    struct live_agent_opts o = fa_opts(&off);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK(fa_block_huge(p, B));
    CHECK(!fa_block_huge(p, A));
    CHECK_EQ(fa_calls_touching(100, A), 0);
    CHECK_GT(fa.preads, 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_GE(st.c.refused, 1);

    /* A fork: block C, decided as a candidate while it was the parent's own (its collapse
     * then waits out a global ENOMEM backoff), becomes mostly shared with the child. What was
     * decided before the fork must not be collapsed after it. */
    const uint64_t C = BASE + 4 * FA_PMD;
    fa_set(p, C, 512, FA_PRESENT);
    fa.enomem = 1;
    unsigned calls = fa.ncalls;
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, calls + 1);
    CHECK_EQ(fa_calls_touching(100, C), 1);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.candidates, 1);
    struct fa_proc *child = fa_proc_add(150, "child");
    fa_vma_add(child, BASE, 16ull << 20);
    fa_set(p, C, 400, FA_PRESENT | FA_SHARED); /* the fork happens now */
    CHECK_EQ(live_agent_on_fork(a, 100, 150, 0), 0);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.candidates, 0);
    fa_run(a, fa.now + 30000 * MSEC, 10 * MSEC); /* well past the backoff */
    CHECK_EQ(fa_calls_touching(100, C), 1);
    CHECK(!fa_block_huge(p, C));
    live_agent_free(a);

    /* "always" does not read nr_shared: not one pagemap read. */
    fa_fini();
    fa_init();
    p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 16ull << 20);
    fa_set(p, A, 512, FA_PRESENT);
    fa_set(p, A, 300, FA_PRESENT | FA_SHARED);
    o = fa_opts(&off);
    a = fa_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK(fa_block_huge(p, A));
    CHECK_EQ(fa.preads, 0);
    live_agent_free(a);
    fa_fini();
    return 0;
}
