/*
 * live_agent_sparse: a sparse range (one written 4 KiB page per 2 MiB) is not collapsed under
 * the default policy (max_ptes_none 255: mainline MADV_COLLAPSE would turn each page into
 * 2 MiB), but is under "always". The agent never submits the refused ranges: no call at all.
 */
#include "agent_test.h"

struct ctx {
    pid_t pid;
    uint64_t addr, size;
};

static bool all_huge(void *arg)
{
    struct ctx *c = arg;
    return at_huge_bytes(c->pid, c->addr, c->size) == c->size;
}

int main(void)
{
    at_require("collapses a workload's memory");
    struct workload w;
    workload_start(&w, "--size", "64M", "--sparse", "--hold", NULL);
    CHECK_MSG(!w.thp_at_fault, "the workload could not prevent THP at fault here");
    CHECK_EQ(w.touched_pages, w.ranges);

    struct live_agent_opts o = {.check_interval_ms = 200, .scan_interval_ms = 500};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "default", &id);
    char err[512];
    CHECK_MSG(live_agent_attach(a, id, w.pid, NULL, err, sizeof(err)) == 0, "%s", err);
    at_run(a, 3, NULL, NULL); /* several full scans and decisions */
    CHECK_EQ(at_huge_bytes(w.pid, w.addr, w.size), 0);
    CHECK_EQ(at_calls_touching(w.addr, w.size), 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, w.pid, &st), 0);
    CHECK_GE(st.c.scans, 2);
    CHECK_GE(st.c.refused, w.ranges);
    CHECK_EQ(st.candidates, 0);

    /* The same process under "always": every range becomes huge. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/policies/always.bpf.o", test_build_dir());
    CHECK_MSG(live_agent_policy_update(a, id, path, NULL, 0, err, sizeof(err)) == 0, "%s", err);
    struct ctx c = {w.pid, w.addr, w.size};
    CHECK_MSG(at_run(a, 30, all_huge, &c), "only %llu of %llu bytes huge under always",
              (unsigned long long)at_huge_bytes(w.pid, w.addr, w.size), (unsigned long long)w.size);
    CHECK_EQ(live_agent_proc_status(a, w.pid, &st), 0);
    CHECK_GE(st.c.collapses, w.ranges); /* (an ASan-built target has more to collapse) */
    live_agent_free(a);
    CHECK_EQ(workload_stop(&w), 0);
    return 0;
}
