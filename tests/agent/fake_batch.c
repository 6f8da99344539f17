/*
 * live_agent_fake_batch: candidates go to the kernel in batches of batch_blocks 2 MiB blocks
 * per process_madvise call, adjacent blocks coalesced into one iovec, non-adjacent ones in
 * separate iovecs of the same call; a block without pages is never submitted. Every
 * collapsed block is counted once, from the returned byte count.
 *
 *   VMA 64 MiB: blocks 0..31 full, except block 10 (empty)
 *   batch 8:    call 1: [0-7]        one iovec, 16 MiB
 *               call 2: [8-9][11-16] two iovecs
 *               call 3: [17-24]      call 4: [25-31]
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 64ull << 20);
    fa_set(p, BASE, 32 * 512, FA_PRESENT);
    fa_set(p, BASE + 10 * FA_PMD, 512, 0);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 8;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    char err[512];
    CHECK_MSG(live_agent_attach(a, id, 100, NULL, err, sizeof(err)) == 0, "%s", err);
    fa_run(a, fa.now + 5000000000ull, 1000000);

    CHECK_EQ(fa.ncalls, 4);
    CHECK_EQ(fa.calls[0].n, 1);
    CHECK_U64_EQ(fa.calls[0].start[0], BASE);
    CHECK_U64_EQ(fa.calls[0].len[0], 8 * FA_PMD);
    CHECK_EQ(fa.calls[1].n, 2);
    CHECK_U64_EQ(fa.calls[1].start[0], BASE + 8 * FA_PMD);
    CHECK_U64_EQ(fa.calls[1].len[0], 2 * FA_PMD);
    CHECK_U64_EQ(fa.calls[1].start[1], BASE + 11 * FA_PMD);
    CHECK_U64_EQ(fa.calls[1].len[1], 6 * FA_PMD);
    CHECK_EQ(fa.calls[2].n, 1);
    CHECK_U64_EQ(fa.calls[2].len[0], 8 * FA_PMD);
    CHECK_EQ(fa.calls[3].n, 1);
    CHECK_U64_EQ(fa.calls[3].start[0], BASE + 25 * FA_PMD);
    CHECK_U64_EQ(fa.calls[3].len[0], 7 * FA_PMD);
    for (int i = 0; i < 32; i++)
        CHECK_MSG(fa_block_huge(p, BASE + i * FA_PMD) == (i != 10), "block %d", i);
    CHECK_EQ(fa_calls_touching(100, BASE + 10 * FA_PMD), 0);

    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.c.calls, 4);
    CHECK_EQ(st.c.collapses, 31);
    CHECK_U64_EQ(st.c.collapse_bytes, 31 * FA_PMD);
    CHECK_EQ(st.c.partial, 0);
    CHECK_EQ(st.candidates, 0);
    CHECK_U64_EQ(st.c.lock_ns, 31 * fa.block_cost_ns); /* the calls' durations */
    CHECK(st.thp_share > 0.99);
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_EQ(gs.c.collapses, 31);
    CHECK_GT(gs.c.bytes_scanned, 0);

    /* Nothing left: more time brings no further call (the check sees no change). */
    unsigned calls = fa.ncalls;
    fa_run(a, fa.now + 60000000000ull, 100000000);
    CHECK_EQ(fa.ncalls, calls);
    live_agent_free(a);
    fa_fini();
    return 0;
}
