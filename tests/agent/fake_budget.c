/*
 * live_agent_fake_budget: collapse bytes per second are bounded overall and per process
 * (token buckets on the OS clock: rate * t + bucket depth), and budget.off lifts the bounds.
 *   global 64 MiB/s, per process 40 MiB/s, depth 250 ms (at least one batch of 16 MiB);
 *   two processes with 256 MiB each; 2 s of fake time in 1 ms steps.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MIB  (1ull << 20)
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    fa.block_cost_ns = 100000;
    for (pid_t pid = 100; pid <= 101; pid++) {
        struct fa_proc *p = fa_proc_add(pid, "target");
        fa_vma_add(p, BASE, 256 * MIB);
        fa_set(p, BASE, 128 * 512, FA_PRESENT);
    }
    struct live_agent_budget b = {
        .sz = sizeof(b),
        .global_bytes_per_s = 64 * MIB,
        .proc_bytes_per_s = 40 * MIB,
        .proc_lock_us_per_s = LIVE_AGENT_UNLIMITED,
    };
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 8;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, 101, NULL, NULL, 0), 0);
    uint64_t t0 = fa.now;
    fa_run(a, t0 + 2000 * MSEC, MSEC);
    double secs = (double)(fa.now - t0) / 1e9;

    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_U64_EQ(gs.budget.global_bytes_per_s, 64 * MIB);
    CHECK_EQ(gs.budget.burst_ms, 250);
    uint64_t total = gs.c.collapse_bytes;
    CHECK_MSG(total <= (uint64_t)(64 * MIB * secs) + 16 * MIB,
              "%llu MiB collapsed in %.2f s at 64 MiB/s", (unsigned long long)(total / MIB), secs);
    CHECK_GE(total, 96 * MIB); /* and the budget is used, not wasted */
    for (pid_t pid = 100; pid <= 101; pid++) {
        struct live_agent_proc_status st = {.sz = sizeof(st)};
        CHECK_EQ(live_agent_proc_status(a, pid, &st), 0);
        CHECK_MSG(st.c.collapse_bytes <= (uint64_t)(40 * MIB * secs) + 16 * MIB,
                  "process %d: %llu MiB in %.2f s at 40 MiB/s", (int)pid,
                  (unsigned long long)(st.c.collapse_bytes / MIB), secs);
        CHECK_GT(st.c.collapse_bytes, 0);
        CHECK_GT(st.candidates, 0);
    }
    CHECK_GT(gs.c.budget_waits, 0);

    /* Per-window check: no 1 s window exceeded rate * 1 s + depth. */
    for (unsigned i = 0; i < fa.ncalls; i++) {
        uint64_t in = 0;
        for (unsigned k = i; k < fa.ncalls && fa.calls[k].at < fa.calls[i].at + 1000 * MSEC; k++)
            in += fa.calls[k].ret > 0 ? (uint64_t)fa.calls[k].ret : 0;
        CHECK_LE(in, 64 * MIB + 16 * MIB);
    }

    /* Off: the rest goes at once. */
    struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    CHECK_EQ(live_agent_set_budget(a, &off), 0);
    fa_run(a, fa.now + 200 * MSEC, MSEC);
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_U64_EQ(gs.c.collapse_bytes, 2 * 256 * MIB);
    CHECK(gs.budget.off);
    live_agent_free(a);
    fa_fini();
    return 0;
}
