/*
 * live_agent_fake_hot: hot processes are served first. Hotness is the CPU time a process used
 * lately (/proc/PID/stat utime + stime, ticks per 100 s, smoothed): a busy process gains the
 * most from fewer TLB misses, and it is the cheapest signal Linux gives. With the budget off,
 * every call for the busy process comes before any for the idle one.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MIB  (1ull << 20)
#define MSEC 1000000ull

int main(void)
{
    fa_init();
    struct fa_proc *idle = fa_proc_add(100, "idle"), *busy = fa_proc_add(101, "busy");
    struct fa_proc *all[] = {idle, busy};
    for (int i = 0; i < 2; i++) {
        fa_vma_add(all[i], BASE, 64 * MIB);
        fa_set(all[i], BASE, 32 * 512, FA_PRESENT);
    }
    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    o.batch_blocks = 4;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "never", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, 101, NULL, NULL, 0), 0);
    /* 3 s under "never": checks learn that 101 burns CPU and 100 does not. */
    for (int s = 0; s < 30; s++) {
        busy->ticks += 10;
        fa_run(a, fa.now + 100 * MSEC, MSEC);
    }
    CHECK_EQ(fa.ncalls, 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 101, &st), 0);
    CHECK_GT(st.hot, 0);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.hot, 0);

    char err[512], path[4096];
    snprintf(path, sizeof(path), "%s/policies/always.bpf.o", test_build_dir());
    CHECK_MSG(live_agent_policy_update(a, id, path, NULL, 0, err, sizeof(err)) == 0, "%s", err);
    fa_run(a, fa.now + 1000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 16);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(fa.calls[i].pid, 101);
    for (unsigned i = 8; i < 16; i++)
        CHECK_EQ(fa.calls[i].pid, 100);
    live_agent_free(a);
    fa_fini();
    return 0;
}
