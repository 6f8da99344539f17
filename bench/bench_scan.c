/*
 * `bpfmm bench scan`: the agent-side CPU cost of scanning a target with 4 GiB resident (user
 * + system time of this process, CLOCK_PROCESS_CPUTIME_ID: PAGEMAP_SCAN's page-table walk runs
 * in our context and is charged to us), as 4 KiB pages and after collapsing everything to
 * THPs, against a baseline in the same run: reading the same range of /proc/PID/pagemap
 * (8 bytes per page) and counting present entries. Also the smaps refresh (the slow path),
 * the VMA listing, the pagemap fallback scanner, the shared-page count and the "unchanged?"
 * check. The target is `bpfmm workload` (this executable), one at a time, killed at the end.
 *
 * Metrics (CPU ms, medians of SCAN_REPS repetitions inside one run):
 *   scan_cpu_ms_4g_4k, scan_cpu_ms_4g_thp, scan_cpu_ms_per_gib (4 KiB case / GiB),
 *   smaps_cpu_ms_4g, pagemap_read_cpu_ms_4g, scan_speedup_vs_pagemap,
 *   fallback_scan_cpu_ms_4g_4k, shared_scan_cpu_ms_4g_4k, vma_read_cpu_ms,
 *   unchanged_check_cpu_us, collapse_wall_s_4g, thp_fraction_after_collapse, size_gib.
 * --quick uses 256 MiB (size_gib 0.25): the *_4g keys then hold the 256 MiB figures.
 */
#include "bench.h"

#include "live/probe.h"
#include "live/proc.h"
#include "live/scan.h"
#include "live/smaps.h"
#include "live/vma.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCAN_REPS 7

struct target {
    pid_t pid;
    FILE *out;
    uint64_t addr, size;
};

static int start_target(struct target *t, uint64_t size)
{
    char exe[4096], sz[32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0) {
        fprintf(stderr, "bench scan: cannot find my own executable: %s\n", strerror(errno));
        return -1;
    }
    exe[n] = 0;
    snprintf(sz, sizeof(sz), "%" PRIu64 "M", size >> 20);
    int fds[2];
    if (pipe(fds))
        return -1;
    t->pid = fork();
    if (t->pid < 0)
        return -1;
    if (t->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(exe, exe, "workload", "--size", sz, "--hold", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    t->out = fdopen(fds[0], "r");
    char line[1024];
    if (!t->out || !fgets(line, sizeof(line), t->out) || strncmp(line, "ready ", 6)) {
        fprintf(stderr, "bench scan: the workload target did not start\n");
        return -1;
    }
    const char *a = strstr(line, " addr="), *s = strstr(line, " size=");
    const char *thp = strstr(line, " thp_at_fault=");
    t->addr = a ? strtoull(a + 6, NULL, 0) : 0;
    t->size = s ? strtoull(s + 6, NULL, 0) : 0;
    if (thp && thp[14] == '1')
        fprintf(stderr, "bench scan: warning: the target may have THPs from the start\n");
    return t->addr && t->size ? 0 : -1;
}

static void stop_target(struct target *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
    if (t->out)
        fclose(t->out);
    t->pid = 0;
    t->out = NULL;
}

static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "MemAvailable:", 13))
            kb = strtoull(line + 13, NULL, 10);
    if (f)
        fclose(f);
    return kb << 10;
}

/* --- the measured operations (each returns CPU ns, or 0 on failure) ------------------------ */

struct ctx {
    struct live_scanner *sc;
    struct live_proc *p;
    struct live_vma_list vmas;
    struct live_scan_result res;
    const struct target *t;
    bool verbose;
};

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* VMA listing + full scan, as the agent does it each cycle. */
static uint64_t op_scan(struct ctx *c, const struct live_scan_opts *o)
{
    uint64_t t0 = bench_cpu_ns();
    if (live_vma_read(c->p, true, &c->vmas) ||
        live_scan_process(c->sc, c->p, &c->vmas, o, &c->res)) {
        fprintf(stderr, "bench scan: %s\n", live_proc_error(c->p));
        return 0;
    }
    return bench_cpu_ns() - t0;
}

static uint64_t op_vma_read(struct ctx *c)
{
    uint64_t t0 = bench_cpu_ns();
    if (live_vma_read(c->p, true, &c->vmas))
        return 0;
    return bench_cpu_ns() - t0;
}

static uint64_t op_smaps(struct ctx *c)
{
    struct live_vma_list l = {0};
    uint64_t t0 = bench_cpu_ns();
    int err = live_smaps_read(c->p, &l);
    uint64_t dt = bench_cpu_ns() - t0;
    live_vma_list_free(&l);
    return err ? 0 : dt;
}

/* The baseline: read the target range's pagemap entries and count the present ones. */
static uint64_t op_pagemap_read(struct ctx *c, uint64_t *present)
{
    static uint64_t buf[32768];
    uint64_t t0 = bench_cpu_ns(), n = 0;
    for (uint64_t a = c->t->addr; a < c->t->addr + c->t->size;) {
        uint64_t pages = (c->t->addr + c->t->size - a) / 4096;
        if (pages > 32768)
            pages = 32768;
        ssize_t r = live_proc_pagemap_pread(c->p, buf, pages * 8, (off_t)(a / 4096 * 8));
        if (r <= 0)
            return 0;
        for (ssize_t i = 0; i < r / 8; i++)
            n += buf[i] >> 63;
        a += (uint64_t)r / 8 * 4096;
    }
    *present = n;
    return bench_cpu_ns() - t0;
}

static uint64_t op_unchanged(struct ctx *c, const struct live_scan_result *prev)
{
    uint64_t t0 = bench_cpu_ns();
    bool same = live_scan_unchanged(c->p, &c->vmas, prev);
    uint64_t dt = bench_cpu_ns() - t0;
    return same ? dt : 0;
}

static double median_of(uint64_t (*op)(struct ctx *), struct ctx *c)
{
    double v[SCAN_REPS];
    for (int i = 0; i < SCAN_REPS; i++) {
        uint64_t ns = op(c);
        if (!ns)
            return -1;
        v[i] = ms(ns);
    }
    return bench_median(v, SCAN_REPS);
}

static double median_scan(struct ctx *c, const struct live_scan_opts *o)
{
    double v[SCAN_REPS];
    for (int i = 0; i < SCAN_REPS; i++) {
        uint64_t ns = op_scan(c, o);
        if (!ns)
            return -1;
        v[i] = ms(ns);
    }
    return bench_median(v, SCAN_REPS);
}

/* Pages of the target's region the last scan saw as present and as huge. */
static void region_counts(const struct ctx *c, uint64_t *present, uint64_t *huge)
{
    *present = *huge = 0;
    for (size_t i = 0; i < c->res.nr; i++)
        if (c->res.r[i].start >= c->t->addr && c->res.r[i].start < c->t->addr + c->t->size) {
            *present += c->res.r[i].nr_present;
            *huge += c->res.r[i].nr_huge;
        }
}

static int collapse_all(struct ctx *c, double *wall_s)
{
    uint64_t t0 = bench_now_ns();
    const uint64_t step = 64ull << 20; /* 32 blocks per call: every call drains LRU caches */
    for (uint64_t a = c->t->addr; a < c->t->addr + c->t->size; a += step) {
        struct iovec iov = {.iov_base = (void *)(uintptr_t)a, .iov_len = step};
        for (int tries = 0; tries < 5; tries++) {
            ssize_t r = live_proc_madvise(c->p, &iov, 1, MADV_COLLAPSE);
            if (r == (ssize_t)step)
                break;
            if (r < 0 && r != -EAGAIN && r != -ENOMEM) {
                fprintf(stderr, "bench scan: collapse: %s\n", live_proc_error(c->p));
                return -1;
            }
            usleep(10000);
        }
    }
    *wall_s = (double)(bench_now_ns() - t0) / 1e9;
    return 0;
}

static int run(const struct bench_args *args, struct bench_metrics *out)
{
    if (geteuid() != 0) {
        printf("bench scan: needs root (it scans and collapses another process's memory)\n");
        return 77;
    }
    const struct live_features *f = live_probe_cached(&live_os_linux);
    if (!f->pagemap_scan || !f->madv_collapse_remote) {
        printf("bench scan: needs PAGEMAP_SCAN (Linux 6.7) and remote MADV_COLLAPSE; %s has %s\n",
               f->release, f->pagemap_scan ? "no remote collapse" : "no PAGEMAP_SCAN");
        return 77;
    }
    uint64_t size = args->quick ? 256ull << 20 : 4ull << 30;
    if (mem_available() < size + (1ull << 30)) {
        printf("bench scan: needs %" PRIu64 " MiB of available memory for the target (have %" PRIu64
               " MiB); try --quick\n",
               (size >> 20) + 1024, mem_available() >> 20);
        return 77;
    }
    struct target t = {0};
    struct ctx c = {.t = &t, .verbose = args->verbose};
    int rc = 1;
    if (start_target(&t, size))
        goto out;
    char msg[256];
    c.p = live_proc_open(&live_os_linux, t.pid, 0, msg, sizeof(msg));
    c.sc = live_scanner_new(&live_os_linux, f);
    if (!c.p || !c.sc) {
        fprintf(stderr, "bench scan: %s\n", c.p ? "out of memory" : msg);
        goto out;
    }
    double gib = (double)size / (1ull << 30);
    struct live_scan_opts plain = {.sz = sizeof(plain)};
    struct live_scan_opts fallback = {.sz = sizeof(plain), .force_pagemap = true};
    struct live_scan_opts shared = {.sz = sizeof(plain), .shared = LIVE_SHARED_ALWAYS};

    /* 4 KiB pages. */
    double scan_4k = median_scan(&c, &plain);
    uint64_t present, huge, pm_present = 0;
    region_counts(&c, &present, &huge);
    if (scan_4k < 0 || present != size / 4096 || huge) {
        fprintf(stderr,
                "bench scan: the target is not all 4 KiB pages (%" PRIu64 " present, %" PRIu64
                " huge of %" PRIu64 ")\n",
                present, huge, size / 4096);
        goto out;
    }
    struct live_scan_result prev = c.res;
    memset(&c.res, 0, sizeof(c.res));
    double v[SCAN_REPS];
    for (int i = 0; i < SCAN_REPS; i++)
        v[i] = (double)op_unchanged(&c, &prev) / 1e3;
    double unchanged_us = bench_median(v, SCAN_REPS);
    live_scan_result_free(&prev);
    for (int i = 0; i < SCAN_REPS; i++)
        v[i] = ms(op_pagemap_read(&c, &pm_present));
    double pm_read = bench_median(v, SCAN_REPS);
    double fb_4k = median_scan(&c, &fallback);
    double shared_4k = median_scan(&c, &shared);
    double smaps_4k = median_of(op_smaps, &c);
    double vma_read = median_of(op_vma_read, &c);
    if (args->verbose)
        fprintf(stderr,
                "4K: scan %.2f ms, pagemap read %.2f ms (%" PRIu64 " present), smaps %.2f ms\n",
                scan_4k, pm_read, pm_present, smaps_4k);

    /* All THP. */
    double collapse_s = 0;
    if (collapse_all(&c, &collapse_s))
        goto out;
    double scan_thp = median_scan(&c, &plain);
    region_counts(&c, &present, &huge);
    double thp_fraction = (double)huge / (double)(size / 4096);
    if (args->verbose)
        fprintf(stderr, "THP: collapse %.2f s, scan %.3f ms, %.1f%% huge\n", collapse_s, scan_thp,
                100 * thp_fraction);

    bench_metric(out, "scan_cpu_ms_4g_4k", scan_4k);
    bench_metric(out, "scan_cpu_ms_4g_thp", scan_thp);
    bench_metric(out, "scan_cpu_ms_per_gib", scan_4k / gib);
    bench_metric(out, "smaps_cpu_ms_4g", smaps_4k);
    bench_metric(out, "pagemap_read_cpu_ms_4g", pm_read);
    bench_metric(out, "scan_speedup_vs_pagemap", scan_4k > 0 ? pm_read / scan_4k : 0);
    bench_metric(out, "fallback_scan_cpu_ms_4g_4k", fb_4k);
    bench_metric(out, "shared_scan_cpu_ms_4g_4k", shared_4k);
    bench_metric(out, "vma_read_cpu_ms", vma_read);
    bench_metric(out, "unchanged_check_cpu_us", unchanged_us);
    bench_metric(out, "collapse_wall_s_4g", collapse_s);
    bench_metric(out, "thp_fraction_after_collapse", thp_fraction);
    bench_metric(out, "size_gib", gib);
    rc = 0;
out:
    live_scan_result_free(&c.res);
    live_vma_list_free(&c.vmas);
    live_scanner_free(c.sc);
    live_proc_close(c.p);
    stop_target(&t);
    return rc;
}

static const struct bench_def scan_bench = {
    .name = "scan",
    .summary = "agent CPU to scan a 4 GiB target (4K and THP) vs reading pagemap",
    .default_runs = 1,
    .run = run,
};
BENCH_REGISTER(scan_bench);
