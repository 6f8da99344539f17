/*
 * The agent's step (agent.h: live_agent_step): the slow clocks (MemAvailable for policies,
 * /proc discovery under a global policy), the processes due for a check, then collapse work
 * for at most slice_ms, and when to run next. The agent's own CPU is measured here: the step's
 * thread CPU time minus the time spent inside process_madvise (the kernel's collapse work,
 * which the budget bounds), per GiB of resident memory scanned.
 */
#include "agent_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

uint64_t agent_mem_available(void *arg)
{
    live_agent_t *a = arg;
    return a->mem_available;
}

static void read_meminfo(live_agent_t *a, uint64_t now)
{
    a->meminfo_ns = now;
    char buf[4096];
    int fd = a->os->open("/proc/meminfo", 0);
    if (fd < 0)
        return;
    ssize_t n = a->os->read(fd, buf, sizeof(buf) - 1);
    a->os->close(fd);
    if (n <= 0)
        return;
    buf[n] = 0;
    const char *s = strstr(buf, "MemAvailable:");
    if (s)
        a->mem_available = strtoull(s + 13, NULL, 10) << 10;
}

static int cmp_pid(const void *x, const void *y)
{
    pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;
    return a < b ? -1 : a > b;
}

static bool ignored(const live_agent_t *a, pid_t pid)
{
    return a->nignored && bsearch(&pid, a->ignored, a->nignored, sizeof(pid_t), cmp_pid);
}

/* Processes the global policy covers: everything listed in /proc that has no local policy,
 * has memory (kernel threads have none) and is not the agent itself. Known pids cost a
 * binary search; only new ones are opened. */
static void discover(live_agent_t *a, uint64_t now)
{
    a->discover_ns = now;
    int n = a->o.list_pids(a->o.arg, a->listbuf, a->listcap);
    if (n > 0 && (size_t)n > a->listcap) {
        size_t cap = (size_t)n + 256;
        pid_t *nb = realloc(a->listbuf, cap * sizeof(*nb));
        if (!nb)
            return;
        a->listbuf = nb;
        a->listcap = cap;
        n = a->o.list_pids(a->o.arg, a->listbuf, a->listcap);
    }
    if (n < 0) {
        agent_log(a, LIVE_AGENT_LOG_WARN, "cannot list processes for the global policy: %s",
                  strerror(-n));
        return;
    }
    size_t cnt = (size_t)n < a->listcap ? (size_t)n : a->listcap;
    if (cnt > 1)
        qsort(a->listbuf, cnt, sizeof(pid_t), cmp_pid);
    /* Forget ignored pids that are gone (their pid may come back as a real process). */
    size_t keep = 0;
    for (size_t i = 0; i < a->nignored; i++)
        if (cnt && bsearch(&a->ignored[i], a->listbuf, cnt, sizeof(pid_t), cmp_pid))
            a->ignored[keep++] = a->ignored[i];
    a->nignored = keep;
    size_t added_ignored = 0;
    for (size_t i = 0; i < cnt; i++) {
        pid_t pid = a->listbuf[i];
        if (pid == a->o.self_pid || agent_proc_find(a, pid) || ignored(a, pid) ||
            bpfmm_scope_policy_of(a->scope, pid, NULL) != BPFMM_SCOPE_GLOBAL)
            continue;
        if (a->nprocs >= a->o.max_procs)
            break;
        struct agent_proc *p = agent_proc_add(a, pid, 0);
        struct live_statm st;
        bool no_mm = p && p->h && live_proc_statm(p->h, &st) == 0 && st.size == 0;
        if (p && !no_mm) {
            /* A new child shares its parent's pages until either writes them. */
            int ppid = p->h ? agent_proc_ppid(p->h) : -1;
            struct agent_proc *par = ppid > 0 ? agent_proc_find(a, ppid) : NULL;
            if (par)
                agent_proc_forked(a, par);
            continue;
        }
        if (p) {
            p->drop = true;
            agent_proc_sweep(a);
        }
        if (!no_mm)
            continue; /* gone meanwhile */
        if (a->nignored == a->capignored) {
            size_t cap = a->capignored ? a->capignored * 2 : 256;
            pid_t *ni = realloc(a->ignored, cap * sizeof(*ni));
            if (!ni)
                continue;
            a->ignored = ni;
            a->capignored = cap;
        }
        a->ignored[a->nignored++] = pid;
        added_ignored++;
    }
    if (added_ignored && a->nignored > 1)
        qsort(a->ignored, a->nignored, sizeof(pid_t), cmp_pid);
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int live_agent_step(live_agent_t *a, uint64_t *next_ns)
{
    uint64_t cpu0 = agent_cpu(a), coll0 = a->total.collapse_cpu_ns;
    uint64_t now = agent_now(a);
    uint64_t deadline = now + a->o.slice_ms * MS;
    uint32_t gid;
    bool global = bpfmm_scope_global_get(a->scope, &gid) == 0;

    if (now - a->meminfo_ns >= a->o.meminfo_interval_ms * MS || !a->meminfo_ns)
        read_meminfo(a, now);
    if (global && (!a->discover_ns || now - a->discover_ns >= a->o.discover_interval_ms * MS))
        discover(a, now);

    /* Checks, round robin so that a slow process cannot starve the others; at least one,
     * then only while the slice lasts. */
    size_t n = a->nprocs, done = 0;
    for (size_t k = 0; k < n; k++) {
        struct agent_proc *p = a->procs[(a->rr + k) % n];
        if (p->drop || p->next_check_ns > now)
            continue;
        if (done && agent_now(a) >= deadline) {
            a->rr = (a->rr + k) % n;
            break;
        }
        agent_proc_check(a, p, now);
        done++;
    }
    agent_proc_sweep(a);

    agent_act(a, deadline);
    agent_proc_sweep(a);

    /* When to come back: the next check, the next batch that is ready (budget, backoff,
     * ENOMEM), the slow clocks. */
    now = agent_now(a);
    uint64_t next = a->meminfo_ns + a->o.meminfo_interval_ms * MS;
    if (global)
        next = earlier(next, a->discover_ns + a->o.discover_interval_ms * MS);
    for (size_t i = 0; i < a->nprocs; i++) {
        next = earlier(next, a->procs[i]->next_check_ns);
        next = earlier(next, agent_proc_ready_at(a, a->procs[i], now));
    }
    if (next_ns)
        *next_ns = next;

    uint64_t cpu = agent_cpu(a) - cpu0, coll = a->total.collapse_cpu_ns - coll0;
    a->cpu_ns += cpu > coll ? cpu - coll : 0;
    return 0;
}

int live_agent_timeout_ms(live_agent_t *a, uint64_t next_ns)
{
    uint64_t now = agent_now(a);
    if (next_ns <= now)
        return 0;
    uint64_t ms = (next_ns - now + MS - 1) / MS;
    return ms > 3600000 ? 3600000 : (int)ms;
}
