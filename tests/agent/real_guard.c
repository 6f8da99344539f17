/*
 * live_agent_guard: a VMA with guard regions (MADV_GUARD_INSTALL) keeps its guards and its
 * other ranges are still collapsed. The policy is "always", so it is the engine, not the
 * policy, that keeps guarded ranges out of every call (one would abort the call with EINVAL):
 * no call fails in the region. Guards are checked with PAGEMAP_SCAN (PAGE_IS_GUARD) by the test itself.
 */
#include "agent_test.h"

struct ctx {
    struct workload *w;
    uint64_t want;
};

static bool done(void *arg)
{
    struct ctx *c = arg;
    return at_huge_bytes(c->w->pid, c->w->addr, c->w->size) >= c->want;
}

int main(void)
{
    const struct live_features *f = at_require("collapses a workload's memory");
    if (!f->pagemap_scan_guard)
        test_skip("guard detection (PAGE_IS_GUARD) needs Linux 6.15; this is %s", f->release);
    struct workload w;
    workload_start(&w, "--size", "64M", "--guard", "4", "--hold", NULL);
    CHECK_EQ(w.guards, 4);
    CHECK_EQ(at_guard_pages(w.pid, w.addr, w.size), 4);
    const uint64_t pmd = 2u << 20;

    struct live_agent_opts o = {0};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, w.pid, NULL, NULL, 0), 0);
    struct ctx c = {&w, w.size - w.guards * pmd};
    CHECK_MSG(at_run(a, 30, done, &c), "only %llu of %llu bytes huge",
              (unsigned long long)at_huge_bytes(w.pid, w.addr, w.size), (unsigned long long)c.want);
    at_run(a, 1, NULL, NULL);

    CHECK_EQ(at_guard_pages(w.pid, w.addr, w.size), 4); /* every guard kept */
    CHECK_EQ(at_huge_bytes(w.pid, w.addr, w.size), w.size - w.guards * pmd);
    for (unsigned g = 0; g < w.guards; g++)
        CHECK_EQ(at_calls_touching(w.addr + g * w.guard_stride * pmd, pmd), 0);
    CHECK_EQ(at_failed_calls_in(w.addr, w.size, false), 0);
    CHECK_GT(at_ncalls, 0);
    live_agent_free(a);
    CHECK_EQ(workload_stop(&w), 0);
    return 0;
}
