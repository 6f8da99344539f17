/*
 * live_agent_vanish: a target that exits, or unmaps its memory, while the engine collapses it
 * causes neither an error storm (a bounded number of failed calls) nor a crash.
 *   exit:   a 512 MiB target is SIGKILLed (and reaped) 30 ms into large collapse batches;
 *           the process becomes "gone" and is then forgotten (also by the scope);
 *   unmap:  a child of the test unmaps its 256 MiB region 2 MiB at a time while the engine
 *           works on it; ENOMEM for an unmapped range is not mistaken for an allocation
 *           failure (no global backoff), and the process stays active.
 */
#include "agent_test.h"

#include <pthread.h>
#include <sys/mman.h>

struct killer {
    pid_t pid;
    int ms;
    int status;
};

static void *kill_later(void *arg)
{
    struct killer *k = arg;
    poll(NULL, 0, k->ms);
    kill(k->pid, SIGKILL);
    waitpid(k->pid, &k->status, 0);
    return NULL;
}

static bool forgotten(void *arg)
{
    live_agent_t *a = arg;
    return live_agent_procs(a, NULL, 0) == 0;
}

static void exit_midway(void)
{
    struct workload w;
    workload_start(&w, "--size", AT_ASAN ? "256M" : "512M", "--hold", NULL);
    struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    struct live_agent_opts o = {.budget = &off, .batch_blocks = 64};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, w.pid, NULL, NULL, 0), 0);
    unsigned calls0 = at_ncalls;
    struct killer k = {w.pid, 30, 0};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, kill_later, &k), 0);
    CHECK_MSG(at_run(a, 10, forgotten, a), "the exited target is still followed");
    pthread_join(t, NULL);
    fclose(w.out);
    /* Failures in the region or for the whole process (other VMAs of an ASan-built target
     * may refuse MADV_COLLAPSE on their own account). */
    unsigned failed = at_failed_calls_in(w.addr, w.size, true);
    printf("exit: %u calls, %u failed\n", at_ncalls - calls0, failed);
    CHECK_LE(failed, 2);
    CHECK_EQ(bpfmm_scope_policy_of(live_agent_scope(a), w.pid, NULL), BPFMM_SCOPE_NONE);
    live_agent_free(a);
}

static void unmap_midway(void)
{
    const uint64_t pmd = 2u << 20, size = 256ull << 20;
    int ready[2], go[2];
    CHECK_EQ(pipe(ready), 0);
    CHECK_EQ(pipe(go), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char *raw =
            mmap(NULL, size + pmd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED)
            _exit(2);
        char *r = (char *)(((uintptr_t)raw + pmd - 1) & ~(pmd - 1));
        for (uint64_t off = 0; off < size; off += 4096)
            r[off] = 1;
        uint64_t addr = (uintptr_t)r;
        if (write(ready[1], &addr, sizeof(addr)) != sizeof(addr))
            _exit(3);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(4);
        /* Unmap every other block first (splitting the VMA), then the rest. */
        for (int pass = 0; pass < 2; pass++)
            for (uint64_t off = pass * pmd; off < size; off += 2 * pmd) {
                munmap(r + off, pmd);
                usleep(300);
            }
        if (write(ready[1], &addr, sizeof(addr)) != sizeof(addr))
            _exit(5);
        pause();
        _exit(0);
    }
    uint64_t addr;
    CHECK_EQ(read(ready[0], &addr, sizeof(addr)), sizeof(addr));
    struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    struct live_agent_opts o = {.budget = &off, .batch_blocks = 16, .check_interval_ms = 20};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, pid, NULL, NULL, 0), 0);
    unsigned calls0 = at_ncalls;
    CHECK_EQ(write(go[1], "g", 1), 1);
    at_run(a, 3, NULL, NULL);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, pid, &st), 0);
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    unsigned failed = at_failed_calls_in(addr, size, true);
    printf("unmap: %u calls, %u failed (ENOMEM %llu, EINVAL %llu), %llu blocks collapsed\n",
           at_ncalls - calls0, failed, (unsigned long long)st.c.failed[LIVE_AGENT_E_NOMEM],
           (unsigned long long)st.c.failed[LIVE_AGENT_E_INVAL], (unsigned long long)st.c.collapses);
    CHECK_LE(failed, 16);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_EQ(gs.enomem_until_ns, 0);
    CHECK_EQ(st.candidates, 0);
    uint64_t done;
    CHECK_EQ(read(ready[0], &done, sizeof(done)), sizeof(done)); /* the child finished */
    live_agent_free(a);
    kill(pid, SIGKILL);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* it did not crash before */
}

int main(void)
{
    at_require("collapses a workload's memory");
    exit_midway();
    unmap_midway();
    return 0;
}
