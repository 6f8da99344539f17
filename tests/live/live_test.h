/*
 * Helpers for the live tests that run on the real kernel: starting a workload target (the
 * live_workload program, i.e. `bpfmm workload`) and reading its ready line, stopping it,
 * requiring root and kernel features (skip 77 with the reason), and small pagemap helpers.
 * Owns no test logic.
 */
#ifndef BPFMM_LIVE_TEST_H
#define BPFMM_LIVE_TEST_H

#include "test.h"

#include "live/probe.h"
#include "live/proc.h"
#include "live/scan.h"
#include "live/smaps.h"
#include "live/vma.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

struct workload {
    pid_t pid;
    FILE *out; /* the workload's stdout, after the ready line */
    uint64_t addr, size, ranges, touched_pages, guard_stride;
    unsigned guards;
    int thp_at_fault;
};

static inline const struct live_features *require_live(const char *why)
{
    test_require_root(why);
    const struct live_features *f = live_probe_cached(&live_os_linux);
    if (!f->pagemap_scan)
        test_skip("PAGEMAP_SCAN is missing (Linux %s; needs 6.7): %s", f->release, why);
    return f;
}

static inline uint64_t kv_u64(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *s = strstr(line, pat);
    CHECK_MSG(s, "no %s in the ready line: %s", key, line);
    return strtoull(s + strlen(pat), NULL, 0);
}

/* Starts `live_workload ARGS... ` (a NULL-terminated list) and waits for its ready line. */
static inline void workload_start(struct workload *w, ...)
{
    const char *argv[32];
    int n = 0;
    static char exe[4096];
    snprintf(exe, sizeof(exe), "%s/tests/live/live_workload", test_build_dir());
    argv[n++] = exe;
    va_list ap;
    va_start(ap, w);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 30)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    memset(w, 0, sizeof(*w));
    w->pid = fork();
    CHECK_GE(w->pid, 0);
    if (w->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(exe, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    w->out = fdopen(fds[0], "r");
    CHECK(w->out);
    char line[1024];
    CHECK_MSG(fgets(line, sizeof(line), w->out), "workload %s exited before it was ready",
              argv[1] ? argv[1] : "");
    CHECK_MSG(!strncmp(line, "ready ", 6), "unexpected first line from the workload: %s", line);
    w->addr = kv_u64(line, "addr");
    w->size = kv_u64(line, "size");
    w->ranges = kv_u64(line, "ranges");
    w->touched_pages = kv_u64(line, "touched_pages");
    w->guards = (unsigned)kv_u64(line, "guards");
    w->guard_stride = kv_u64(line, "guard_stride");
    w->thp_at_fault = (int)kv_u64(line, "thp_at_fault");
    CHECK_EQ(kv_u64(line, "pid"), w->pid);
    CHECK_EQ(w->addr % (2u << 20), 0);
}

/* Reads the workload's next output line into buf (fails the test at EOF). */
static inline void workload_line(struct workload *w, char *buf, size_t size)
{
    CHECK_MSG(fgets(buf, (int)size, w->out), "the workload closed its output");
}

/* SIGTERM, reap; returns the exit code (or 128 + signal). */
static inline int workload_stop(struct workload *w)
{
    int st = 0;
    kill(w->pid, SIGTERM);
    CHECK_EQ(waitpid(w->pid, &st, 0), w->pid);
    fclose(w->out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline struct live_proc *open_target(pid_t pid)
{
    char msg[256];
    struct live_proc *p = live_proc_open(&live_os_linux, pid, 0, msg, sizeof(msg));
    CHECK_MSG(p, "live_proc_open(%d): %s", (int)pid, msg);
    return p;
}

/* Reads the target's VMAs and scans them; fails the test on error. */
static inline void scan_target(struct live_scanner *sc, struct live_proc *p,
                               struct live_vma_list *l, const struct live_scan_opts *o,
                               struct live_scan_result *res)
{
    int err = live_vma_read(p, true, l);
    CHECK_MSG(err == 0, "vma read: %s", live_proc_error(p));
    err = live_scan_process(sc, p, l, o, res);
    CHECK_MSG(err == 0, "scan: %d %s", err, live_proc_error(p));
}

/* The ranges of res inside [addr, addr + size), in order; returns how many. */
static inline size_t ranges_in(const struct live_scan_result *res, uint64_t addr, uint64_t size,
                               const struct live_range **first)
{
    size_t n = 0;
    *first = NULL;
    for (size_t i = 0; i < res->nr; i++)
        if (res->r[i].start >= addr && res->r[i].start < addr + size) {
            if (!n)
                *first = &res->r[i];
            n++;
        }
    return n;
}

static inline int collapse_remote(pid_t pid, uint64_t addr, uint64_t len)
{
    struct live_proc *p = open_target(pid);
    struct iovec iov = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
    ssize_t r = live_proc_madvise(p, &iov, 1, MADV_COLLAPSE);
    int err = r < 0 ? (int)r : (r == (ssize_t)len ? 0 : -EIO);
    if (err)
        fprintf(stderr, "collapse: %s\n", live_proc_error(p));
    live_proc_close(p);
    return err;
}

#endif
