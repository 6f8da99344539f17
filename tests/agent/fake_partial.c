/*
 * live_agent_fake_partial: partial progress of one process_madvise call is read from its
 * byte count, and a failed iovec of several blocks is rescanned to credit the blocks the
 * kernel collapsed before it gave up.
 *
 * 1. blocks 0 2 4 6 8 (separate iovecs); block 4 fails once (EAGAIN, skipped by the kernel):
 *      call 1 returns 4 MiB: 0 and 2 done, 4's errno unknown -> 4 goes first, alone;
 *      call 2: [4] [6] [8] -> all done.
 * 2. blocks 20..27 (one coalesced iovec); block 23 fails once: the call returns EAGAIN, yet
 *    the kernel collapsed the 7 others: a rescan credits them; 23 is retried alone.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE   0x7f0000000000ull
#define BLK(i) (BASE + (uint64_t)(i)*FA_PMD)

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 64ull << 20);
    for (int i = 0; i <= 8; i += 2)
        fa_set(p, BLK(i), 512, FA_PRESENT);
    fa_inject(p, BLK(4), -EAGAIN, 1, false);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 8;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 1000000000ull, 1000000);

    CHECK_EQ(fa.ncalls, 2);
    CHECK_EQ(fa.calls[0].n, 5);
    CHECK_EQ(fa.calls[0].ret, (long)(2 * FA_PMD));
    CHECK_EQ(fa.calls[1].n, 3);
    CHECK_U64_EQ(fa.calls[1].start[0], BLK(4));
    CHECK_EQ(fa.calls[1].ret, (long)(3 * FA_PMD));
    for (int i = 0; i <= 8; i += 2)
        CHECK(fa_block_huge(p, BLK(i)));
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.c.collapses, 5);
    CHECK_EQ(st.c.partial, 1);
    CHECK_EQ(st.c.failed[LIVE_AGENT_E_AGAIN], 0);

    /* 2: a coalesced iovec that fails with an errno after collapsing most of its blocks. */
    fa_set(p, BLK(20), 8 * 512, FA_PRESENT);
    fa_inject(p, BLK(23), -EAGAIN, 1, false);
    unsigned before = fa.ncalls;
    fa_run(a, fa.now + 2000000000ull, 1000000); /* the check notices the new pages */
    CHECK_EQ(fa.ncalls - before, 2);
    CHECK_EQ(fa.calls[before].n, 1);
    CHECK_U64_EQ(fa.calls[before].len[0], 8 * FA_PMD);
    CHECK_EQ(fa.calls[before].ret, -EAGAIN);
    CHECK_EQ(fa.calls[before + 1].n, 1);
    CHECK_U64_EQ(fa.calls[before + 1].start[0], BLK(23));
    CHECK_U64_EQ(fa.calls[before + 1].len[0], FA_PMD);
    for (int i = 20; i < 28; i++)
        CHECK(fa_block_huge(p, BLK(i)));
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.c.collapses, 13); /* each block counted once */
    CHECK_EQ(st.c.failed[LIVE_AGENT_E_AGAIN], 1);
    live_agent_free(a);
    fa_fini();
    return 0;
}
