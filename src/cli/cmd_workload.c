/*
 * `bpfmm workload`: a built-in target process for tests, the demo and benchmarks. It maps one
 * PMD-aligned anonymous region, fills it with 4 KiB pages (every page, or one per 2 MiB),
 * optionally with a verifiable pattern, guard pages or MADV_(NO)HUGEPAGE, prints a
 * machine-readable "ready" line saying where the region is, then optionally does random
 * 8-byte accesses (reporting the rate) and holds until killed.
 *
 * For the demo and the agent benchmark (src/live/experiment.h) it can also: advise the region
 * MADV_HUGEPAGE only after filling it with 4 KiB pages (so khugepaged, which ignores unadvised
 * memory under enabled=madvise, may collapse it, and the comparison with the agent is fair);
 * map a sparse region (one page per 2 MiB) above the dense one, in a VMA of its own, to show
 * bloat; and run a fault-latency probe: a thread that keeps faulting fresh 4 KiB pages in a
 * 2 MiB block at the end of the dense region's VMA (faults in the same VMA stall behind
 * MADV_COLLAPSE's mmap write lock; faults elsewhere barely notice) and reports the worst.
 *
 * THP at fault: the region must start as 4 KiB pages so that collapse has work to do, but it
 * must stay collapsible - MADV_NOHUGEPAGE would make MADV_COLLAPSE fail with EINVAL. With THP
 * `enabled=madvise` (these machines) and no per-size control set to "always", plain anonymous
 * memory gets 4 KiB pages at fault and nothing needs doing. Otherwise the workload sets
 * prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED) (Linux 6.18): no THP at fault
 * outside MADV_HUGEPAGE regions, MADV_COLLAPSE still allowed. Where neither holds it says so
 * (thp_at_fault=1 in the ready line).
 *
 * Owns the workload process only; the fault probe is in cmd_workload_probe.c. It uses no
 * bpfmm library code but the size parser (bpfmm_policy_parse_size).
 */
#include "cli.h"
#include "workload.h"

#include <bpfmm/policy.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA           0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define WL_THPDIR "/sys/kernel/mm/transparent_hugepage"

static volatile sig_atomic_t want_verify, want_stop;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        want_verify = 1;
    else
        want_stop = 1;
}

static void usage(FILE *o)
{
    fputs("usage: bpfmm workload [OPTIONS]\n\n"
          "A target process for tests, the demo and benchmarks: maps a 2 MiB-aligned anonymous\n"
          "region, fills it with 4 KiB pages, prints a ready line, then optionally accesses it\n"
          "at random and holds until killed.\n\n"
          "options:\n"
          "  --size SIZE            region size (default 1G; K, M, G suffixes; rounded up to 2M)\n"
          "  --sparse               touch one page (the first) per 2 MiB instead of every page\n"
          "  --touch write|read     write each touched page (default), or only read it (read\n"
          "                         faults map the shared zero page)\n"
          "  --pattern              fill with a verifiable pattern; verify every byte on SIGUSR1\n"
          "                         and at exit (untouched pages must read as zero); exit 1 on a\n"
          "                         mismatch\n"
          "  --guard N              install a guard page (MADV_GUARD_INSTALL) in N ranges, spread\n"
          "                         evenly (ready line: guard_stride, guard_page)\n"
          "  --hugepage             MADV_HUGEPAGE the region before filling (THP at fault)\n"
          "  --hugepage-after-fill  MADV_HUGEPAGE the region after filling it with 4 KiB pages\n"
          "                         (khugepaged may then collapse it; with enabled=madvise it\n"
          "                         ignores unadvised memory)\n"
          "  --nohugepage           MADV_NOHUGEPAGE the region (collapse will be refused)\n"
          "  --sparse-size SIZE     also map a sparse region of SIZE above the region, in a VMA\n"
          "                         of its own, with one written page per 2 MiB (advised like the\n"
          "                         region; never accessed at random)\n"
          "  --fault-probe US       a thread faults a fresh 4 KiB page every US microseconds in a\n"
          "                         2 MiB block at the end of the region's VMA (vma=same), and\n"
          "                         another, the control, in a block in a VMA of its own\n"
          "                         (vma=other); each reports its worst fault every --report-ms\n"
          "                         (MADV_DONTNEED of its pages every 128 faults; SCHED_FIFO if\n"
          "                         allowed)\n"
          "  --thp-at-fault allow   do not prevent THP at fault (default: prevent it, see below)\n"
          "  --name NAME            name the region [anon:NAME] (needs CONFIG_ANON_VMA_NAME)\n"
          "  --random-access SECS   after the fill, random 8-byte accesses for SECS seconds\n"
          "                         (read-modify-write; read-only with --pattern or --touch read)\n"
          "  --report-ms MS         print a rate line every MS ms while accessing, and a probe\n"
          "                         line as often (default 1000; 0: only the final line)\n"
          "  --ready-fd FD          also write the ready line to FD, then close it\n"
          "  --hold                 wait until SIGTERM/SIGINT after everything (SIGUSR1 verifies)\n"
          "  --nondumpable          prctl(PR_SET_DUMPABLE, 0) first: only root may then read\n"
          "                         or act on its memory (tests of the agent's permissions)\n\n"
          "output (stdout, one line each, key=value):\n"
          "  ready pid= addr= size= page_size= pmd_size= ranges= touched_pages= thp_at_fault=\n"
          "        guards= guard_stride= guard_page= pattern= advised= sparse_addr= sparse_size=\n"
          "        sparse_touched_pages= probe_addr= probe_other_addr= probe_sched=\n"
          "        (addresses 0x0 when absent; probe_sched: fifo when the probes could run\n"
          "        SCHED_FIFO, other, or none)\n"
          "  rate t= accesses= accesses_per_s= mono= dt= cpu= accesses_per_cpu_s=\n"
          "                                                (periodically while accessing)\n"
          "  probe mono= dt= faults= max_us= vma=same|other   (periodically with --fault-probe)\n"
          "  random_access seconds= accesses= accesses_per_s=\n"
          "  verify ok bytes=  |  verify FAIL offset= expected= got=\n"
          "mono= is CLOCK_MONOTONIC in seconds at the end of the dt= seconds the line covers,\n"
          "cpu= the accessing thread's CPU seconds in that time;\n"
          "max_us= is the worst single fault in that time.\n\n"
          "THP at fault is prevented so that the region starts as 4 KiB pages yet stays\n"
          "collapsible: nothing is needed when THP enabled=madvise/never (plain anonymous\n"
          "memory then gets 4 KiB pages); otherwise prctl(PR_SET_THP_DISABLE,\n"
          "PR_THP_DISABLE_EXCEPT_ADVISED) is used (Linux 6.18). MADV_NOHUGEPAGE is not used for\n"
          "this because MADV_COLLAPSE refuses such regions.\n",
          o);
}

/* A region size: the common size syntax (bpfmm_policy_parse_size), above 0, at most 1 TiB. */
static int parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    if (bpfmm_policy_parse_size(s, &v) || v == 0 || v > (1ull << 40))
        return -EINVAL;
    *out = v;
    return 0;
}

/* --- THP at fault -------------------------------------------------------------------------- */

static bool read_choice(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "re");
    char buf[256];
    if (!f)
        return false;
    bool ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    char *l = ok ? strchr(buf, '[') : NULL, *r = l ? strchr(l, ']') : NULL;
    if (!r || (size_t)(r - l) > size)
        return false;
    memcpy(out, l + 1, (size_t)(r - l - 1));
    out[r - l - 1] = 0;
    return true;
}

/* Would a plain anonymous fault in a 2 MiB-aligned region get a large folio? */
static bool thp_at_fault_possible(void)
{
    char top[32], c[32], path[128];
    if (!read_choice(WL_THPDIR "/enabled", top, sizeof(top)))
        return false; /* no THP at all */
    bool any_size = false;
    for (unsigned kb = 8; kb <= 2048; kb *= 2) {
        snprintf(path, sizeof(path), WL_THPDIR "/hugepages-%ukB/enabled", kb);
        if (!read_choice(path, c, sizeof(c)))
            continue;
        any_size = true;
        if (!strcmp(c, "always") || (!strcmp(c, "inherit") && !strcmp(top, "always")))
            return true;
    }
    return !any_size && !strcmp(top, "always");
}

static void prevent_thp_at_fault(struct wl *w)
{
    w->thp_at_fault = w->hugepage || thp_at_fault_possible();
    if (!w->prevent_thp || !w->thp_at_fault || w->hugepage)
        return;
    if (prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) == 0) {
        w->thp_at_fault = false;
        return;
    }
    fprintf(stderr,
            "bpfmm workload: warning: THP at fault is enabled system-wide and this kernel lacks "
            "PR_THP_DISABLE_EXCEPT_ADVISED (Linux 6.18): the region may start with huge pages\n");
}

/* --- the region ---------------------------------------------------------------------------- */

static uint64_t pattern_word(uint64_t off)
{
    return (off * 0x9E3779B97F4A7C15ull) ^ 0xB5ADB5ADB5ADB5ADull;
}

static bool is_guard_page(const struct wl *w, uint64_t page)
{
    if (!w->guards)
        return false;
    uint64_t range = page / (WL_PMD / WL_PAGE), in = page % (WL_PMD / WL_PAGE);
    return in == 1 && range % w->guard_stride == 0 && range / w->guard_stride < w->guards;
}

static bool is_touched_page(const struct wl *w, uint64_t page)
{
    if (is_guard_page(w, page))
        return false;
    return !w->sparse || page % (WL_PMD / WL_PAGE) == 0;
}

/* The VMA holding the region: the region, then the fault probe's block. */
static uint64_t vma_len(const struct wl *w)
{
    return w->size + (w->probe_us ? WL_PMD : 0);
}

/* MADV_HUGEPAGE or MADV_NOHUGEPAGE on the region's VMA and the sparse region. */
static int advise(struct wl *w, int advice, const char *what)
{
    if (madvise(w->region, vma_len(w), advice) ||
        (w->sparse_size && madvise(w->sparse_region, w->sparse_size, advice))) {
        cli_error("workload: %s failed: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

/* Layout, low to high:
 *     [region][probe block] [hole][control probe block] [hole][sparse region]
 *     \___ one VMA _______/       \___ its own VMA ___/        \__ its own VMA _/
 * The region comes first because khugepaged scans a process in address order; the holes keep
 * the control probe and the sparse region in VMAs of their own. */
static int setup_region(struct wl *w)
{
    w->ranges = w->size / WL_PMD;
    uint64_t total = vma_len(w) + (w->probe_us ? 2 * WL_PMD : 0) +
                     (w->sparse_size ? WL_PMD + w->sparse_size : 0);
    char *m =
        mmap(NULL, total + WL_PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        cli_error("workload: cannot map %" PRIu64 " bytes: %s", total, strerror(errno));
        return -1;
    }
    char *a = (char *)(((uintptr_t)m + WL_PMD - 1) & ~(WL_PMD - 1));
    if (a > m)
        munmap(m, (size_t)(a - m));
    munmap(a + total, (size_t)(m + WL_PMD - a));
    w->region = a;
    char *next = a + vma_len(w);
    if (w->probe_us) {
        w->probes[0] = (struct probe){.w = w, .block = a + w->size, .vma = "same"};
        munmap(next, WL_PMD);
        w->probes[1] = (struct probe){.w = w, .block = next + WL_PMD, .vma = "other"};
        next += 2 * WL_PMD;
        /* Before any MADV_HUGEPAGE: the blocks get a page table, never a THP at fault. */
        for (int i = 0; i < 2; i++)
            *(volatile char *)w->probes[i].block = 1;
    }
    if (w->sparse_size) {
        munmap(next, WL_PMD);
        w->sparse_region = next + WL_PMD;
    }
    if (w->hugepage && advise(w, MADV_HUGEPAGE, "MADV_HUGEPAGE"))
        return -1;
    if (w->nohugepage && advise(w, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"))
        return -1;
    if (w->name && prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)a, vma_len(w),
                         (unsigned long)w->name)) {
        cli_error("workload: cannot name the region '%s': %s (is CONFIG_ANON_VMA_NAME set?)",
                  w->name, strerror(errno));
        return -1;
    }
    if (w->guards) {
        if (w->guards > w->ranges) {
            cli_error("workload: --guard %u is more than the region's %" PRIu64 " ranges",
                      w->guards, w->ranges);
            return -1;
        }
        w->guard_stride = w->ranges / w->guards;
        for (unsigned i = 0; i < w->guards; i++) {
            char *g = a + (uint64_t)i * w->guard_stride * WL_PMD + WL_PAGE;
            if (madvise(g, WL_PAGE, MADV_GUARD_INSTALL)) {
                cli_error("workload: MADV_GUARD_INSTALL failed: %s (needs Linux 6.13)",
                          strerror(errno));
                return -1;
            }
        }
    }
    return 0;
}

static uint64_t fill(struct wl *w)
{
    uint64_t touched = 0, pages = w->size / WL_PAGE;
    for (uint64_t pg = 0; pg < pages; pg++) {
        if (!is_touched_page(w, pg))
            continue;
        touched++;
        volatile uint64_t *p = (volatile uint64_t *)(w->region + pg * WL_PAGE);
        if (w->read_touch) {
            (void)p[0];
        } else if (w->pattern) {
            for (uint64_t i = 0; i < WL_PAGE / 8; i++)
                p[i] = pattern_word(pg * WL_PAGE + i * 8);
        } else {
            p[0] = pg + 1;
        }
    }
    for (uint64_t off = 0; off < w->sparse_size; off += WL_PMD) {
        volatile uint64_t *p = (volatile uint64_t *)(w->sparse_region + off);
        if (w->read_touch)
            (void)p[0];
        else
            p[0] = off + 1;
        w->sparse_touched++;
    }
    return touched;
}

static bool verify(struct wl *w)
{
    uint64_t pages = w->size / WL_PAGE, checked = 0;
    for (uint64_t pg = 0; pg < pages; pg++) {
        if (is_guard_page(w, pg))
            continue;
        const uint64_t *p = (const uint64_t *)(w->region + pg * WL_PAGE);
        bool touched = is_touched_page(w, pg);
        for (uint64_t i = 0; i < WL_PAGE / 8; i++) {
            uint64_t off = pg * WL_PAGE + i * 8;
            uint64_t want = touched ? pattern_word(off) : 0;
            if (p[i] != want) {
                printf("verify FAIL offset=0x%" PRIx64 " expected=0x%016" PRIx64
                       " got=0x%016" PRIx64 "\n",
                       off, want, p[i]);
                fflush(stdout);
                w->verify_failed = true;
                return false;
            }
        }
        checked += WL_PAGE;
    }
    printf("verify ok bytes=%" PRIu64 "\n", checked);
    fflush(stdout);
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This thread's CPU time: a rate per CPU second does not count the time other load on the
 * machine took the CPU away. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void random_access(struct wl *w)
{
    uint64_t x = 0x2545F4914F6CDD1Dull ^ (uint64_t)getpid();
    uint64_t accesses = 0, last_acc = 0, sink = 0;
    uint64_t words = w->size / 8;
    bool rmw = !w->pattern && !w->read_touch;
    double t0 = now_s(), last = t0, end = t0 + w->random_s, last_cpu = thread_cpu_s();
    for (;;) {
        for (int i = 0; i < 4096; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint64_t word;
            if (w->sparse) /* only the touched page of a random range */
                word = (x % w->ranges) * (WL_PMD / 8) + (x >> 40) % (WL_PAGE / 8);
            else
                word = x % words;
            uint64_t page = word * 8 / WL_PAGE;
            if (w->guards && is_guard_page(w, page))
                continue;
            volatile uint64_t *p = (volatile uint64_t *)w->region + word;
            if (rmw)
                *p += 1;
            else
                sink += *p;
            accesses++;
        }
        double t = now_s();
        if (w->report_ms && (t - last) * 1000.0 >= w->report_ms) {
            double cpu = thread_cpu_s();
            printf("rate t=%.2f accesses=%" PRIu64 " accesses_per_s=%.0f mono=%.3f dt=%.3f "
                   "cpu=%.3f accesses_per_cpu_s=%.0f\n",
                   t - t0, accesses - last_acc, (double)(accesses - last_acc) / (t - last), t,
                   t - last, cpu - last_cpu,
                   cpu > last_cpu ? (double)(accesses - last_acc) / (cpu - last_cpu) : 0.0);
            fflush(stdout);
            last = t;
            last_cpu = cpu;
            last_acc = accesses;
        }
        if (t >= end || want_stop)
            break;
        if (want_verify && w->pattern) {
            want_verify = 0;
            verify(w);
        }
    }
    double el = now_s() - t0;
    printf("random_access seconds=%.3f accesses=%" PRIu64 " accesses_per_s=%.0f\n", el, accesses,
           el > 0 ? (double)accesses / el : 0.0);
    fflush(stdout);
    __asm__ volatile("" ::"r"(sink));
}

static int ready(struct wl *w, uint64_t touched)
{
    char line[768];
    int n =
        snprintf(line, sizeof(line),
                 "ready pid=%d addr=0x%" PRIxPTR " size=%" PRIu64 " page_size=%lu "
                 "pmd_size=%lu ranges=%" PRIu64 " touched_pages=%" PRIu64
                 " thp_at_fault=%d guards=%u guard_stride=%" PRIu64 " guard_page=%d "
                 "pattern=%d advised=%d sparse_addr=0x%" PRIxPTR " sparse_size=%" PRIu64
                 " sparse_touched_pages=%" PRIu64 " probe_addr=0x%" PRIxPTR
                 " probe_other_addr=0x%" PRIxPTR " probe_sched=%s\n",
                 (int)getpid(), (uintptr_t)w->region, w->size, WL_PAGE, WL_PMD, w->ranges, touched,
                 w->thp_at_fault, w->guards, w->guard_stride, w->guards ? 1 : -1, w->pattern,
                 w->hugepage || w->advise_after, (uintptr_t)w->sparse_region, w->sparse_size,
                 w->sparse_touched, (uintptr_t)w->probes[0].block, (uintptr_t)w->probes[1].block,
                 !w->probe_us  ? "none"
                 : w->probe_rt ? "fifo"
                               : "other");
    fputs(line, stdout);
    fflush(stdout);
    if (w->ready_fd >= 0) {
        if (write(w->ready_fd, line, (size_t)n) != n) {
            cli_error("workload: cannot write the ready line to fd %d: %s", w->ready_fd,
                      strerror(errno));
            return -1;
        }
        close(w->ready_fd);
    }
    return 0;
}

static int parse_args(struct wl *w, int argc, char **argv)
{
    enum {
        O_SIZE = 256,
        O_SPARSE,
        O_TOUCH,
        O_PATTERN,
        O_GUARD,
        O_HUGE,
        O_NOHUGE,
        O_THP,
        O_NAME,
        O_RANDOM,
        O_REPORT,
        O_READY,
        O_HOLD,
        O_NONDUMPABLE,
        O_HUGE_AFTER,
        O_SPARSE_SIZE,
        O_PROBE
    };
    static const struct option opts[] = {
        {"size", required_argument, NULL, O_SIZE},
        {"sparse", no_argument, NULL, O_SPARSE},
        {"touch", required_argument, NULL, O_TOUCH},
        {"pattern", no_argument, NULL, O_PATTERN},
        {"guard", required_argument, NULL, O_GUARD},
        {"hugepage", no_argument, NULL, O_HUGE},
        {"nohugepage", no_argument, NULL, O_NOHUGE},
        {"thp-at-fault", required_argument, NULL, O_THP},
        {"name", required_argument, NULL, O_NAME},
        {"random-access", required_argument, NULL, O_RANDOM},
        {"report-ms", required_argument, NULL, O_REPORT},
        {"ready-fd", required_argument, NULL, O_READY},
        {"hold", no_argument, NULL, O_HOLD},
        {"nondumpable", no_argument, NULL, O_NONDUMPABLE},
        {"hugepage-after-fill", no_argument, NULL, O_HUGE_AFTER},
        {"sparse-size", required_argument, NULL, O_SPARSE_SIZE},
        {"fault-probe", required_argument, NULL, O_PROBE},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char *end;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_SIZE:
            if (parse_size(optarg, &w->size)) {
                cli_error("workload: --size '%s' is not a size (e.g. 64M, 1G)", optarg);
                return -1;
            }
            break;
        case O_SPARSE:
            w->sparse = true;
            break;
        case O_TOUCH:
            if (!strcmp(optarg, "read")) {
                w->read_touch = true;
            } else if (strcmp(optarg, "write")) {
                cli_error("workload: --touch takes 'write' or 'read', not '%s'", optarg);
                return -1;
            }
            break;
        case O_PATTERN:
            w->pattern = true;
            break;
        case O_GUARD:
            w->guards = (unsigned)strtoul(optarg, &end, 10);
            if (*end || !*optarg) {
                cli_error("workload: --guard takes a number of ranges, not '%s'", optarg);
                return -1;
            }
            break;
        case O_HUGE:
            w->hugepage = true;
            break;
        case O_NOHUGE:
            w->nohugepage = true;
            break;
        case O_THP:
            if (!strcmp(optarg, "allow")) {
                w->prevent_thp = false;
            } else if (strcmp(optarg, "prevent")) {
                cli_error("workload: --thp-at-fault takes 'allow' or 'prevent', not '%s'", optarg);
                return -1;
            }
            break;
        case O_NAME:
            w->name = optarg;
            break;
        case O_RANDOM:
            w->random_s = strtod(optarg, &end);
            if (*end || w->random_s <= 0) {
                cli_error("workload: --random-access takes seconds > 0, not '%s'", optarg);
                return -1;
            }
            break;
        case O_REPORT:
            w->report_ms = (unsigned)strtoul(optarg, &end, 10);
            if (*end) {
                cli_error("workload: --report-ms takes milliseconds, not '%s'", optarg);
                return -1;
            }
            break;
        case O_READY:
            w->ready_fd = (int)strtol(optarg, &end, 10);
            if (*end || w->ready_fd < 0) {
                cli_error("workload: --ready-fd takes a file descriptor, not '%s'", optarg);
                return -1;
            }
            break;
        case O_HOLD:
            w->hold = true;
            break;
        case O_NONDUMPABLE:
            w->nondumpable = true;
            break;
        case O_HUGE_AFTER:
            w->advise_after = true;
            break;
        case O_SPARSE_SIZE:
            if (parse_size(optarg, &w->sparse_size)) {
                cli_error("workload: --sparse-size '%s' is not a size (e.g. 256M)", optarg);
                return -1;
            }
            break;
        case O_PROBE: {
            unsigned long us = strtoul(optarg, &end, 10);
            if (*end || !*optarg || us == 0 || us > 1000000) {
                cli_error("workload: --fault-probe takes microseconds from 1 to 1000000 between "
                          "faults, not '%s'",
                          optarg);
                return -1;
            }
            w->probe_us = (unsigned)us;
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            cli_error("workload: unknown or incomplete option '%s'; see `bpfmm workload --help`",
                      argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        cli_error("workload: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (w->hugepage + w->nohugepage + w->advise_after > 1) {
        cli_error("workload: --hugepage, --hugepage-after-fill and --nohugepage exclude each "
                  "other");
        return -1;
    }
    if (w->pattern && w->read_touch) {
        cli_error("workload: --pattern writes the region; it cannot be combined with --touch read");
        return -1;
    }
    w->size = (w->size + WL_PMD - 1) & ~(WL_PMD - 1);
    w->sparse_size = (w->sparse_size + WL_PMD - 1) & ~(WL_PMD - 1);
    return 0;
}

static int cmd_workload(int argc, char **argv)
{
    struct wl w = {.size = 1ull << 30, .ready_fd = -1, .report_ms = 1000, .prevent_thp = true};
    int r = parse_args(&w, argc, argv);
    if (r)
        return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (w.nondumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
        cli_error("workload: prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
        return CLI_EXIT_FAIL;
    }
    prevent_thp_at_fault(&w);
    if (setup_region(&w))
        return CLI_EXIT_FAIL;
    uint64_t touched = fill(&w);
    if (w.advise_after && advise(&w, MADV_HUGEPAGE, "MADV_HUGEPAGE after the fill"))
        return CLI_EXIT_FAIL;
    if (w.probe_us && wl_probe_start(&w))
        return CLI_EXIT_FAIL;
    if (ready(&w, touched)) {
        wl_probe_stop(&w);
        return CLI_EXIT_FAIL;
    }

    if (w.random_s > 0 && !want_stop)
        random_access(&w);
    if (w.hold) {
        /* Block the signals between the checks and sigsuspend so none is lost. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &old);
        while (!want_stop) {
            if (want_verify) {
                want_verify = 0;
                if (w.pattern)
                    verify(&w);
                else
                    printf("verify skipped (no --pattern)\n");
                fflush(stdout);
                continue;
            }
            sigsuspend(&old); /* returns after any handled signal */
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    wl_probe_stop(&w);
    if (w.pattern && !w.verify_failed)
        verify(&w);
    return w.verify_failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static const struct cli_command workload_cmd = {
    .name = "workload",
    .summary = "built-in target process for tests, the demo and benchmarks",
    .run = cmd_workload,
};
CLI_COMMAND(workload_cmd);
