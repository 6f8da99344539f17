/*
 * live_agent_fake_einval: EINVAL marks the range ineligible until its VMA changes; it is not
 * retried before (no retry storm), and is retried once the VMA is different. A VMA whose every
 * block fails with EINVAL (e.g. MADV_NOHUGEPAGE applied since the last smaps read) costs at
 * most 3 calls: the coalesced one, then two single blocks, after which the whole VMA is
 * marked.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define W    0x7f0100000000ull
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    struct fa_vma *v = fa_vma_add(p, BASE, 16ull << 20);
    fa_set(p, BASE, 8 * 512, FA_PRESENT);
    const uint64_t X = BASE + 3 * FA_PMD;
    fa_inject(p, X, -EINVAL, -1, false);
    fa_vma_add(p, W, 32ull << 20);
    fa_set(p, W, 16 * 512, FA_PRESENT);
    for (int i = 0; i < 16; i++)
        fa_inject(p, W + i * FA_PMD, -EINVAL, -1, true);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 8;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 120000 * MSEC, 10 * MSEC); /* two minutes: several full rescans */

    CHECK_EQ(fa_calls_touching(100, X), 2); /* in its coalesced iovec, then alone */
    for (int i = 0; i < 8; i++)
        CHECK(fa_block_huge(p, BASE + i * FA_PMD) == (i != 3));
    /* Failed attempts in W: the failing iovec of a call is the first one when it returned an
     * errno, else the one its byte count stops at. */
    unsigned w = 0;
    for (unsigned i = 0; i < fa.ncalls; i++) {
        const struct fa_call *c = &fa.calls[i];
        unsigned k = 0;
        for (long left = c->ret; left > 0 && k < c->n; k++)
            left -= (long)c->len[k];
        if (k < c->n && c->start[k] >= W && c->start[k] < W + (32ull << 20))
            w++;
    }
    CHECK_LE(w, 3);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.candidates, 0);
    CHECK_GE(st.marked, 2); /* X, and the VMA W */
    CHECK_LE(st.c.failed[LIVE_AGENT_E_INVAL], 5);

    /* The VMA of X changes (it grows): X is tried again, once. */
    uint8_t *pages = realloc(v->pages, (18ull << 20) / FA_PAGE);
    CHECK(pages);
    memset(pages + (16ull << 20) / FA_PAGE, 0, (2ull << 20) / FA_PAGE);
    v->pages = pages;
    v->end += 2ull << 20;
    fa_run(a, fa.now + 60000 * MSEC, 10 * MSEC);
    CHECK_EQ(fa_calls_touching(100, X), 3);
    live_agent_free(a);
    fa_fini();
    return 0;
}
