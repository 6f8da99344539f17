/*
 * live_agent_fake_update: updating a policy swaps the program for all its processes at once.
 * Sparse ranges (one page per 2 MiB) are refused by "default" and allowed by "always"; after
 * an update every process is re-decided with the new program before anything more is
 * submitted, and candidates the old program chose are not collapsed after an update to
 * "never". The update counts in the policy's version; a reload with no source keeps it.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

static void policy_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/policies/%s.bpf.o", test_build_dir(), name);
}

int main(void)
{
    fa_init();
    struct fa_proc *ps[2];
    for (int i = 0; i < 2; i++) {
        ps[i] = fa_proc_add(100 + i, "sparse");
        fa_vma_add(ps[i], BASE, 64ull << 20);
        for (int b = 0; b < 32; b++)
            fa_set(ps[i], BASE + b * FA_PMD, 1, FA_PRESENT);
    }
    /* 4 blocks a second per process: the collapse takes several seconds. */
    struct live_agent_budget bud = {
        .sz = sizeof(bud), .proc_bytes_per_s = 8ull << 20, .burst_ms = 1};
    struct live_agent_opts o = fa_opts(&bud);
    o.batch_blocks = 2;
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "default", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, 101, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 3000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 0);

    char err[512], path[4096];
    policy_path(path, sizeof(path), "always");
    CHECK_EQ(live_agent_policy_update(a, id, path, NULL, 0, err, sizeof(err)), 0);
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    unsigned c1 = fa_calls_of(100), c2 = fa_calls_of(101);
    CHECK_GT(c1, 0);
    CHECK_GT(c2, 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_GT(st.candidates, 0); /* still work to do under "always" */

    policy_path(path, sizeof(path), "never");
    CHECK_EQ(live_agent_policy_update(a, id, path, NULL, 0, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.candidates, 0); /* dropped in the same call as the swap */
    unsigned calls = fa.ncalls;
    fa_run(a, fa.now + 10000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, calls);

    struct live_agent_policy_info info;
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_EQ(info.version, 3);
    CHECK_STR_CONTAINS(info.path, "never.bpf.o");
    CHECK_EQ(info.nr_procs, 2);
    CHECK_EQ(live_agent_policy_update(a, id, NULL, NULL, 0, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_EQ(info.version, 4);
    CHECK_STR_CONTAINS(info.path, "never.bpf.o");
    CHECK(live_agent_policy_get(a, id) != NULL);
    /* A policy that does not load leaves the current one in place. */
    CHECK_LT(live_agent_policy_update(a, id, "/nonexistent.bpf.o", NULL, 0, err, sizeof(err)), 0);
    CHECK_STR_CONTAINS(err, "nonexistent");
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_EQ(info.version, 4);
    CHECK_EQ(live_agent_policy_update(a, 99, NULL, NULL, 0, err, sizeof(err)), -ENOENT);
    live_agent_free(a);
    fa_fini();
    return 0;
}
