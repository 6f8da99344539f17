/*
 * live_agent_fake_own_mm: with opts.fork_events (a lifecycle feeds forks and execs), a process
 * seen to exec and not to fork since shares no anonymous page, so a policy that reads
 * nr_shared ("default") is answered without one pagemap read - and collapses its memory.
 * Each way that proof can fail brings the exact count back:
 *   - no exec seen (attached by pid): pagemap is read;
 *   - a fork: pagemap is read again, and a range now shared with the child is refused;
 *   - live_agent_events_lost (a gap in the events): read again until the next exec;
 *   - KSM running, or a merged page anywhere: read;
 *   - without opts.fork_events an exec proves nothing: read.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

static live_agent_t *a;
static struct fa_proc *p;
static uint32_t id;

/* Fills block k (of 8) with 4 KiB pages, `shared` of them mapped by another process too. */
static uint64_t fill(unsigned k, unsigned shared)
{
    uint64_t b = BASE + (uint64_t)k * FA_PMD;
    fa_set(p, b, 512, FA_PRESENT);
    if (shared)
        fa_set(p, b, shared, FA_PRESENT | FA_SHARED);
    return b;
}

static void start(bool fork_events)
{
    fa_init();
    p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 8 * FA_PMD);
    static struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    struct live_agent_opts o = fa_opts(&off);
    o.fork_events = fork_events;
    a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
}

static void run_s(unsigned s)
{
    fa_run(a, fa.now + (uint64_t)s * 1000 * MSEC, MSEC);
}

static uint64_t unread_scans(void)
{
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    return st.c.shared_unread_scans;
}

int main(void)
{
    /* Attached by pid: its history is unknown, nr_shared is read. */
    start(true);
    uint64_t b0 = fill(0, 0);
    run_s(2);
    CHECK(fa_block_huge(p, b0));
    CHECK_GT(fa.preads, 0);
    CHECK_EQ(unread_scans(), 0);

    /* It execs (a new mm, its pages all its own): not one pagemap read. */
    fa_set(p, BASE, 8 * 512, 0);
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    uint64_t b1 = fill(1, 0);
    fa.preads = 0;
    run_s(2);
    CHECK(fa_block_huge(p, b1));
    CHECK_EQ(fa.preads, 0);
    CHECK_GT(unread_scans(), 0);

    /* It forks: 300 pages of block 2 are now shared with the child - counted, and refused
     * (max_ptes_shared 256); block 3, all its own, is still collapsed. */
    fa_proc_add(150, "child");
    uint64_t b2 = fill(2, 300), b3 = fill(3, 0);
    CHECK_EQ(live_agent_on_fork(a, 100, 150, 0), 0);
    fa.preads = 0;
    run_s(2);
    CHECK_GT(fa.preads, 0);
    CHECK(!fa_block_huge(p, b2));
    CHECK_EQ(fa_calls_touching(100, b2), 0);
    CHECK(fa_block_huge(p, b3));

    /* An exec again, then a gap in the events: read again. */
    fa_set(p, BASE, 8 * 512, 0);
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    run_s(1);
    live_agent_events_lost(a);
    uint64_t b4 = fill(4, 0);
    fa.preads = 0;
    run_s(2);
    CHECK(fa_block_huge(p, b4));
    CHECK_GT(fa.preads, 0);

    /* KSM: running, or merged pages left from a run, defeat the proof. */
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    fa.ksm_run = 1;
    uint64_t b5 = fill(5, 0);
    fa.preads = 0;
    run_s(2);
    CHECK(fa_block_huge(p, b5));
    CHECK_GT(fa.preads, 0);
    fa.ksm_run = 0;
    fa.ksm_pages_shared = 7;
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    uint64_t b6 = fill(6, 0);
    fa.preads = 0;
    run_s(2);
    CHECK(fa_block_huge(p, b6));
    CHECK_GT(fa.preads, 0);
    /* no KSM in the kernel at all: nothing to fear */
    fa.ksm_pages_shared = 0;
    fa.ksm_absent = true;
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    uint64_t b7 = fill(7, 0);
    fa.preads = 0;
    run_s(2);
    CHECK(fa_block_huge(p, b7));
    CHECK_EQ(fa.preads, 0);
    live_agent_free(a);

    /* Without fork_events an exec proves nothing (a fork could have gone unseen). */
    start(false);
    CHECK_EQ(live_agent_on_exec(a, 100), 0);
    uint64_t c0 = fill(0, 0);
    run_s(2);
    CHECK(fa_block_huge(p, c0));
    CHECK_GT(fa.preads, 0);
    CHECK_EQ(unread_scans(), 0);
    live_agent_free(a);
    fa_fini();
    printf("ok\n");
    return 0;
}
