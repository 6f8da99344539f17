/*
 * live_agent_nohuge: a MADV_NOHUGEPAGE range is left alone, without retry storms. The target
 * has one MADV_NOHUGEPAGE region (where MADV_COLLAPSE fails with EINVAL) and the test's
 * process_madvise counter (a wrapping OS layer) shows at most 3 calls ever touched it, over
 * many rescans and a smaps refresh; a second target without it is collapsed meanwhile.
 */
#include "agent_test.h"

struct ctx {
    struct workload *w;
};

static bool done(void *arg)
{
    struct ctx *c = arg;
    return at_huge_bytes(c->w->pid, c->w->addr, c->w->size) == c->w->size;
}

int main(void)
{
    at_require("collapses a workload's memory");
    struct workload nh, ok;
    workload_start(&nh, "--size", "32M", "--nohugepage", "--hold", NULL);
    workload_start(&ok, "--size", "32M", "--hold", NULL);

    /* Fast clocks: a check every 50 ms, a full rescan every 200 ms, smaps every second. */
    struct live_agent_opts o = {.check_interval_ms = 50,
                                .scan_interval_ms = 200,
                                .smaps_interval_ms = 1000,
                                .smaps_min_interval_ms = 500};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, nh.pid, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, ok.pid, NULL, NULL, 0), 0);
    struct ctx c = {&ok};
    CHECK(at_run(a, 30, done, &c));
    at_run(a, 4, NULL, NULL);

    unsigned touching = at_calls_touching(nh.addr, nh.size);
    printf("calls touching the MADV_NOHUGEPAGE region: %u of %u\n", touching, at_ncalls);
    CHECK_LE(touching, 3);
    CHECK_EQ(at_huge_bytes(nh.pid, nh.addr, nh.size), 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, nh.pid, &st), 0);
    CHECK_GE(st.c.scans, 10);
    CHECK_GE(st.c.smaps_reads, 2);
    CHECK_LE(at_failed_calls_in(nh.addr, nh.size, false), 3);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    live_agent_free(a);
    CHECK_EQ(workload_stop(&nh), 0);
    CHECK_EQ(workload_stop(&ok), 0);
    return 0;
}
