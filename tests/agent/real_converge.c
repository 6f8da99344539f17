/*
 * live_agent_converge: a target with 1 GiB populated by 4 KiB pages reaches at least 95 % THP
 * under the default policy, driven by the engine in-process (the test waits up to 60 s). THP
 * share is measured with a scanner of the test's own, not from the agent's bookkeeping; the
 * agent's status must agree. Under ASan the region is 256 MiB.
 *
 * The budget is the default one except the mmap-lock time, raised to 1 s/s: the lock
 * estimate is each call's wall time, which grows with the machine's load (a preempted collapse
 * still holds the lock), and a test must not depend on a quiet machine. The lock budget itself
 * is tested on a fake clock (live_agent_fake_lock); time to converge with every default is a
 * benchmark figure (docs/agent.md).
 */
#include "agent_test.h"

struct ctx {
    pid_t pid;
    uint64_t addr, size;
};

static bool converged(void *arg)
{
    struct ctx *c = arg;
    return at_huge_bytes(c->pid, c->addr, c->size) * 100 >= c->size * 95;
}

int main(void)
{
    at_require("collapses a workload's memory");
    struct workload w;
    workload_start(&w, "--size", AT_ASAN ? "256M" : "1G", "--hold", NULL);
    CHECK_MSG(!w.thp_at_fault, "the workload could not prevent THP at fault here");
    CHECK_LT(at_huge_bytes(w.pid, w.addr, w.size), w.size / 100);

    struct live_agent_budget b = {.sz = sizeof(b), .proc_lock_us_per_s = 1000000};
    struct live_agent_opts o = {.budget = &b};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "default", &id);
    char err[512];
    CHECK_MSG(live_agent_attach(a, id, w.pid, NULL, err, sizeof(err)) == 0, "%s", err);
    double t0 = at_now_s();
    struct ctx c = {w.pid, w.addr, w.size};
    bool ok = at_run(a, 60, converged, &c);
    double dt = at_now_s() - t0;
    uint64_t huge = at_huge_bytes(w.pid, w.addr, w.size);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, w.pid, &st), 0);
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    printf("%s of 4 KiB pages: %.1f %% huge after %.2f s; %llu calls, %llu collapses, "
           "lock %.1f ms, agent cpu %.2f ms (%.2f ms/GiB scanned, %llu MiB scanned), "
           "collapse cpu %.1f ms, thp_share %.3f\n",
           AT_ASAN ? "256 MiB" : "1 GiB", 100.0 * (double)huge / (double)w.size, dt,
           (unsigned long long)st.c.calls, (unsigned long long)st.c.collapses,
           (double)st.c.lock_ns / 1e6, (double)gs.cpu_ns / 1e6, gs.cpu_ms_per_gib_scanned,
           (unsigned long long)(gs.c.bytes_scanned >> 20), (double)gs.c.collapse_cpu_ns / 1e6,
           st.thp_share);
    CHECK_MSG(ok, "only %.1f %% of the region is huge after 60 s",
              100.0 * (double)huge / (double)w.size);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(st.policy_id, id);
    CHECK_GE(st.c.collapse_bytes, w.size * 95 / 100);
    CHECK_MSG(st.thp_share > 0.9, "status thp_share %.3f", st.thp_share);
    CHECK_EQ(at_failed_calls(), 0);
    live_agent_free(a);
    CHECK_EQ(workload_stop(&w), 0);
    return 0;
}
