/*
 * live_agent_fake_ebusy: EBUSY (memory cgroup charge failed, or a userfaultfd-armed range)
 * backs the range off for ebusy_backoff_ms (2 s), doubling: retried after 2 s and 4 s.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 4ull << 20);
    fa_set(p, BASE, 512, FA_PRESENT);
    fa_inject(p, BASE, -EBUSY, 2, true);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 10000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 3);
    CHECK_EQ(fa.calls[0].ret, -EBUSY);
    CHECK_EQ(fa.calls[1].ret, -EBUSY);
    CHECK_EQ(fa.calls[2].ret, (long)FA_PMD);
    uint64_t g1 = fa.calls[1].at - fa.calls[0].at, g2 = fa.calls[2].at - fa.calls[1].at;
    CHECK_MSG(g1 >= 2000 * MSEC && g1 < 2050 * MSEC, "first retry after %llu ms",
              (unsigned long long)(g1 / MSEC));
    CHECK_MSG(g2 >= 4000 * MSEC && g2 < 4050 * MSEC, "second retry after %llu ms",
              (unsigned long long)(g2 / MSEC));
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.c.failed[LIVE_AGENT_E_BUSY], 2);
    CHECK(fa_block_huge(p, BASE));
    live_agent_free(a);
    fa_fini();
    return 0;
}
