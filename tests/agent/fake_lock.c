/*
 * live_agent_fake_lock: the estimated mmap write-lock hold per process per second is bounded
 * (the estimate is each call's duration): 20 ms/s with blocks that take 2 ms each lets about
 * 10 blocks a second through, plus the bucket depth and at most one batch of overshoot.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MIB  (1ull << 20)
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    fa.block_cost_ns = 2 * MSEC;
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 256 * MIB);
    fa_set(p, BASE, 128 * 512, FA_PRESENT);
    struct live_agent_budget b = {
        .sz = sizeof(b),
        .global_bytes_per_s = LIVE_AGENT_UNLIMITED,
        .proc_bytes_per_s = LIVE_AGENT_UNLIMITED,
        .proc_lock_us_per_s = 20000,
    };
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 8;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    uint64_t t0 = fa.now;
    fa_run(a, t0 + 3000 * MSEC, MSEC);

    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_U64_EQ(st.c.lock_ns, st.c.collapses * 2 * MSEC);
    /* 3 s * 20 ms + 5 ms depth + one batch (8 blocks, 16 ms) */
    CHECK_MSG(st.c.lock_ns <= 81 * MSEC, "%llu ms of lock in 3 s at 20 ms/s",
              (unsigned long long)(st.c.lock_ns / MSEC));
    CHECK_GE(st.c.collapses, 20);
    CHECK_GT(st.c.budget_waits, 0);
    /* Spread out, not in one burst: no 1 s window holds more than 20 ms + depth + a batch. */
    for (unsigned i = 0; i < fa.ncalls; i++) {
        uint64_t blocks = 0;
        for (unsigned k = i; k < fa.ncalls && fa.calls[k].at < fa.calls[i].at + 1000 * MSEC; k++)
            blocks += (uint64_t)fa.calls[k].ret / FA_PMD;
        CHECK_LE(blocks * 2, 20 + 5 + 16);
    }
    live_agent_free(a);
    fa_fini();
    return 0;
}
