/*
 * live_agent_fake_eagain: EAGAIN (transient) is retried with a doubling backoff for that range
 * only: 200 ms, 400 ms, 800 ms (eagain_backoff_ms); other ranges of the process go on at once.
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
    const uint64_t A = BASE, B = BASE + 4 * FA_PMD;
    fa_set(p, A, 512, FA_PRESENT);
    fa_set(p, B, 512, FA_PRESENT);
    fa_inject(p, A, -EAGAIN, 3, true);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 5000 * MSEC, MSEC);

    /* call 0: [A][B] -> EAGAIN (A first; B not attempted); call 1: [B] at once; then A alone
     * after 200, 400 and 800 ms. */
    CHECK_EQ(fa.ncalls, 5);
    CHECK_EQ(fa.calls[0].ret, -EAGAIN);
    CHECK_EQ(fa.calls[1].n, 1);
    CHECK_U64_EQ(fa.calls[1].start[0], B);
    CHECK_EQ(fa.calls[1].ret, (long)FA_PMD);
    CHECK_LT(fa.calls[1].at - fa.calls[0].at, 10 * MSEC);
    const uint64_t want[] = {200, 400, 800};
    uint64_t prev = fa.calls[0].at;
    for (int i = 0; i < 3; i++) {
        const struct fa_call *c = &fa.calls[2 + i];
        CHECK_EQ(c->n, 1);
        CHECK_U64_EQ(c->start[0], A);
        uint64_t gap = c->at - prev;
        CHECK_MSG(gap >= want[i] * MSEC && gap < want[i] * MSEC + 20 * MSEC,
                  "retry %d came %llu ms after the previous attempt (backoff %llu ms)", i + 1,
                  (unsigned long long)(gap / MSEC), (unsigned long long)want[i]);
        prev = c->at;
    }
    CHECK_EQ(fa.calls[4].ret, (long)FA_PMD);
    CHECK(fa_block_huge(p, A) && fa_block_huge(p, B));
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.c.failed[LIVE_AGENT_E_AGAIN], 3);
    CHECK_EQ(st.c.collapses, 2);
    CHECK_EQ(st.marked, 0); /* the success cleared the range's backoff */
    live_agent_free(a);
    fa_fini();
    return 0;
}
