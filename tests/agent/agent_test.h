/*
 * Helpers for the agent tests that run on the real kernel: an agent on the real OS layer
 * wrapped to count process_madvise calls, a loop that runs its steps like the daemon's epoll
 * loop would, and an independent measure of how much of a workload's region is huge (a
 * scanner of its own, not the agent's bookkeeping). Workloads come from tests/live's
 * live_test.h. Owns no test logic.
 */
#ifndef BPFMM_AGENT_TEST_H
#define BPFMM_AGENT_TEST_H

#include "live_test.h"

#include "live/agent.h"

#include <poll.h>
#include <time.h>

/* Sizes under ASan (everything the test process touches is checked) are kept modest. */
#ifdef BPFMM_SANITIZE_ADDRESS
#define AT_ASAN 1
#else
#define AT_ASAN 0
#endif

/* process_madvise calls the agent made, with the iovecs (first 64 of each call). */
#define AT_MAX_CALLS 8192
struct at_call {
    pid_t pid;
    unsigned n;
    uint64_t start[64], len[64];
    long ret;
};
static struct at_call at_calls[AT_MAX_CALLS];
static volatile unsigned at_ncalls;
static struct live_os at_os;
static pid_t at_pidfd_pid[4096]; /* pidfd -> pid, learnt at pidfd_open */

static int at_pidfd_open(pid_t pid, unsigned flags)
{
    int fd = live_os_linux.pidfd_open(pid, flags);
    if (fd >= 0 && fd < 4096)
        at_pidfd_pid[fd] = pid;
    return fd;
}

static ssize_t at_process_madvise(int pidfd, const struct iovec *iov, size_t n, int advice,
                                  unsigned flags)
{
    ssize_t r = live_os_linux.process_madvise(pidfd, iov, n, advice, flags);
    unsigned i = at_ncalls;
    if (i < AT_MAX_CALLS) {
        struct at_call *c = &at_calls[i];
        c->pid = pidfd >= 0 && pidfd < 4096 ? at_pidfd_pid[pidfd] : 0;
        c->n = (unsigned)n;
        for (size_t k = 0; k < n && k < 64; k++) {
            c->start[k] = (uintptr_t)iov[k].iov_base;
            c->len[k] = iov[k].iov_len;
        }
        c->ret = (long)r;
    }
    at_ncalls = i + 1;
    return r;
}

/* Calls with an iovec overlapping [addr, addr + size). */
static inline unsigned at_calls_touching(uint64_t addr, uint64_t size)
{
    unsigned n = 0;
    for (unsigned i = 0; i < at_ncalls && i < AT_MAX_CALLS; i++)
        for (unsigned k = 0; k < at_calls[i].n && k < 64; k++)
            if (at_calls[i].start[k] < addr + size &&
                at_calls[i].start[k] + at_calls[i].len[k] > addr) {
                n++;
                break;
            }
    return n;
}

/* Failed calls whose failing iovec (the first if the call returned an errno, else the one the
 * byte count stops at) overlaps [addr, addr + size); with esrch, also every ESRCH. */
static inline unsigned at_failed_calls_in(uint64_t addr, uint64_t size, bool esrch)
{
    unsigned n = 0;
    for (unsigned i = 0; i < at_ncalls && i < AT_MAX_CALLS; i++) {
        const struct at_call *c = &at_calls[i];
        unsigned k = 0;
        for (long left = c->ret; left > 0 && k < c->n; k++)
            left -= (long)c->len[k];
        if (k >= c->n || k >= 64)
            continue;
        if ((esrch && c->ret == -ESRCH) ||
            (c->start[k] < addr + size && c->start[k] + c->len[k] > addr))
            n++;
    }
    return n;
}

static inline unsigned at_failed_calls(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < at_ncalls && i < AT_MAX_CALLS; i++)
        n += at_calls[i].ret < 0;
    return n;
}

static inline void at_log(void *arg, enum live_agent_log_level lvl, const char *msg)
{
    if (lvl <= LIVE_AGENT_LOG_INFO)
        fprintf(stderr, "agent: %s\n", msg);
}

/* An agent on the real kernel (calls counted) with policy `policy` from the build tree. */
static inline live_agent_t *at_agent(struct live_agent_opts *o, const char *policy, uint32_t *id)
{
    at_os = live_os_linux;
    at_os.pidfd_open = at_pidfd_open;
    at_os.process_madvise = at_process_madvise;
    o->sz = sizeof(*o);
    o->os = &at_os;
    o->features = live_probe_cached(&live_os_linux);
    if (!o->log)
        o->log = at_log;
    char err[2048] = "", path[4096];
    live_agent_t *a = live_agent_new(o, err, sizeof(err));
    CHECK_MSG(a, "live_agent_new: %s", err);
    snprintf(path, sizeof(path), "%s/policies/%s.bpf.o", test_build_dir(), policy);
    int r = live_agent_policy_add(a, NULL, path, NULL, 0, id, err, sizeof(err));
    CHECK_MSG(r == 0, "policy_add %s: %d %s", path, r, err);
    return a;
}

static inline double at_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the agent like an event loop for up to secs seconds, or until done(arg) is true
 * (asked every 100 ms at most). Returns true if done() became true. */
static inline bool at_run(live_agent_t *a, double secs, bool (*done)(void *), void *arg)
{
    double end = at_now_s() + secs, last = 0;
    for (;;) {
        uint64_t next;
        CHECK_EQ(live_agent_step(a, &next), 0);
        double t = at_now_s();
        if (done && t - last >= 0.1) {
            last = t;
            if (done(arg))
                return true;
        }
        if (t >= end)
            return done ? done(arg) : false;
        int ms = live_agent_timeout_ms(a, next);
        if (ms > 100)
            ms = 100;
        if (ms > 0)
            poll(NULL, 0, ms);
    }
}

/* Bytes of [addr, addr + size) in process pid mapped by PMDs, measured independently with a
 * scanner of our own. */
static inline uint64_t at_huge_bytes(pid_t pid, uint64_t addr, uint64_t size)
{
    const struct live_features *f = live_probe_cached(&live_os_linux);
    struct live_scanner *sc = live_scanner_new(&live_os_linux, f);
    CHECK(sc);
    struct live_proc *p = open_target(pid);
    struct live_vma_list l = {0};
    struct live_scan_result res = {0};
    struct live_scan_opts o = {.sz = sizeof(o), .all_vmas = true};
    scan_target(sc, p, &l, &o, &res);
    uint64_t huge = 0;
    for (size_t i = 0; i < res.nr; i++)
        if (res.r[i].start >= addr && res.r[i].start < addr + size)
            huge += (uint64_t)res.r[i].nr_huge * f->page_size;
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    return huge;
}

/* The guard pages of [addr, addr + size), counted by our own scan. */
static inline uint64_t at_guard_pages(pid_t pid, uint64_t addr, uint64_t size)
{
    const struct live_features *f = live_probe_cached(&live_os_linux);
    struct live_scanner *sc = live_scanner_new(&live_os_linux, f);
    CHECK(sc);
    struct live_proc *p = open_target(pid);
    struct live_vma_list l = {0};
    struct live_scan_result res = {0};
    struct live_scan_opts o = {.sz = sizeof(o), .all_vmas = true};
    scan_target(sc, p, &l, &o, &res);
    uint64_t g = 0;
    for (size_t i = 0; i < res.nr; i++)
        if (res.r[i].start >= addr && res.r[i].start < addr + size)
            g += res.r[i].nr_guard;
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    return g;
}

static inline const struct live_features *at_require(const char *why)
{
    const struct live_features *f = require_live(why);
    if (!f->madv_collapse_remote)
        test_skip("process_madvise(MADV_COLLAPSE) on another process does not work here (%s): %s",
                  strerror(f->madv_collapse_remote_err), why);
    return f;
}

#endif
