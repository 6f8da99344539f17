/*
 * live_agent_fake_global: under a global policy the engine finds processes itself, by
 * listing /proc every discover_interval: every process with memory and no local policy is
 * followed (not the agent itself; kernel threads, which have no memory, are remembered and not
 * opened again); a new process is found at the next listing; one that exits is forgotten.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

static bool followed(live_agent_t *a, pid_t pid)
{
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    return live_agent_proc_status(a, pid, &st) == 0;
}

int main(void)
{
    fa_init();
    struct fa_proc *self = fa_proc_add(1, "agent");
    struct fa_proc *p = fa_proc_add(100, "app");
    fa_proc_add(101, "kthread"); /* no VMAs */
    struct fa_proc *l = fa_proc_add(102, "local");
    struct fa_proc *mem[] = {self, p, l};
    for (int i = 0; i < 3; i++) {
        fa_vma_add(mem[i], BASE, 8ull << 20);
        fa_set(mem[i], BASE, 4 * 512, FA_PRESENT);
    }
    struct live_agent_opts o = fa_opts(NULL);
    uint32_t gid, lid;
    live_agent_t *a = fa_agent(&o, "default", &gid);
    char err[512], path[4096];
    snprintf(path, sizeof(path), "%s/policies/never.bpf.o", test_build_dir());
    CHECK_EQ(live_agent_policy_add(a, "local", path, NULL, 0, &lid, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_attach(a, lid, 102, NULL, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_global_set(a, gid, NULL, err, sizeof(err)), 0);
    fa_run(a, fa.now + 1000 * MSEC, MSEC);

    CHECK(followed(a, 100));
    CHECK(!followed(a, 1));
    CHECK(!followed(a, 101));
    CHECK(followed(a, 102));
    CHECK(fa_block_huge(p, BASE));
    CHECK(!fa_block_huge(self, BASE));
    CHECK(!fa_block_huge(l, BASE)); /* its local "never" wins */
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_EQ(gs.global_id, gid);
    CHECK_EQ(gs.nr_procs, 2);

    /* A new process shows up: found by the next listing (5 s). */
    struct fa_proc *n = fa_proc_add(103, "new");
    fa_vma_add(n, BASE, 8ull << 20);
    fa_set(n, BASE, 4 * 512, FA_PRESENT);
    fa_run(a, fa.now + 6000 * MSEC, 10 * MSEC);
    CHECK(followed(a, 103));
    CHECK(fa_block_huge(n, BASE));
    /* An exited one is forgotten (it was reaped: no /proc entry). */
    p->exists = false;
    fa_run(a, fa.now + 2000 * MSEC, 10 * MSEC);
    CHECK(!followed(a, 100));
    live_agent_global_clear(a);
    CHECK(!followed(a, 103));
    CHECK(followed(a, 102));
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_EQ(gs.global_id, 0);
    live_agent_free(a);
    fa_fini();
    return 0;
}
