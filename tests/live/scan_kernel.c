/*
 * live_scan_{full,sparse,guard,collapsed,zero,swapped}: range counts of a real workload
 * target, one behaviour per program (the mode is the argument):
 *   full       every page written          -> 512 present per range, nothing else
 *   sparse     one page per 2 MiB          -> 1 present per range
 *   guard      guard pages in some ranges  -> nr_guard 1 there (511 present), VMA GUARD flag
 *   collapsed  the test collapses 2 ranges -> nr_huge 512 there, 0 elsewhere
 *   zero       read-only touches           -> nr_zero 512 (and present)
 *   swapped    the test pages a range out  -> nr_swapped > 0 (where no swap is configured,
 *              a root test adds a temporary 64 MiB swap file and removes it at exit; it
 *              skips only where that cannot be done)
 * Each mode also scans through the /proc/PID/pagemap fallback, which must agree exactly.
 */
#include "live_test.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/swap.h>
#include <unistd.h>

#define PPB 512u

struct exp {
    uint32_t present, swapped, huge, zero, guard;
};

static void check(const struct live_range *r, size_t idx, struct exp e, const char *path)
{
    CHECK_MSG(r->nr_present == e.present && r->nr_swapped == e.swapped && r->nr_huge == e.huge &&
                  r->nr_zero == e.zero && r->nr_guard == e.guard,
              "%s: range %zu: present %u swapped %u huge %u zero %u guard %u; expected %u %u %u "
              "%u %u",
              path, idx, r->nr_present, r->nr_swapped, r->nr_huge, r->nr_zero, r->nr_guard,
              e.present, e.swapped, e.huge, e.zero, e.guard);
}

/* The temporary swap file: added by this test, so removed by it (atexit, and on the signals
 * ctest's timeout sends), never a swap area the machine had. */
static char swapfile[64];

static void swapfile_remove(void)
{
    if (!swapfile[0])
        return;
    if (swapoff(swapfile))
        fprintf(stderr, "live_scan_swapped: swapoff %s: %s (remove it by hand)\n", swapfile,
                strerror(errno));
    else
        unlink(swapfile);
    swapfile[0] = 0;
}

static void swapfile_on_signal(int sig)
{
    swapfile_remove();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* 0, or a reason to skip. The file is written in full (swap files must have no holes) on
 * /var/tmp, which is on disk where /tmp may be tmpfs (which cannot hold swap). */
static const char *swapfile_add(void)
{
    if (geteuid() != 0)
        return "adding a temporary swap file needs root";
    snprintf(swapfile, sizeof(swapfile), "/var/tmp/bpfmm-test-swap.%d", (int)getpid());
    int fd = open(swapfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        swapfile[0] = 0;
        return "cannot create a swap file in /var/tmp";
    }
    static char zero[1 << 20];
    bool ok = true;
    for (int i = 0; i < 64 && ok; i++)
        ok = write(fd, zero, sizeof(zero)) == (ssize_t)sizeof(zero);
    ok = ok && fsync(fd) == 0;
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "mkswap -q %s >/dev/null 2>&1", swapfile);
    if (!ok || system(cmd) != 0) {
        unlink(swapfile);
        swapfile[0] = 0;
        return ok ? "mkswap failed (is util-linux installed?)" : "cannot write the swap file";
    }
    if (swapon(swapfile, 0)) {
        int e = errno;
        unlink(swapfile);
        swapfile[0] = 0;
        return e == EPERM    ? "swapon: not permitted here (a container?)"
               : e == EINVAL ? "swapon: /var/tmp's file system cannot hold a swap file"
                             : "swapon failed";
    }
    atexit(swapfile_remove);
    signal(SIGTERM, swapfile_on_signal);
    signal(SIGINT, swapfile_on_signal);
    signal(SIGALRM, swapfile_on_signal);
    printf("live_scan_swapped: added a temporary swap file %s (64 MiB)\n", swapfile);
    return NULL;
}

static uint64_t swap_total(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "SwapTotal:", 10))
            kb = strtoull(line + 10, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    CHECK_EQ(argc, 2);
    const char *mode = argv[1];
    const struct live_features *f = require_live("scans another process's page tables");
    if (!strcmp(mode, "guard") && !f->pagemap_scan_guard)
        test_skip("guard detection (PAGE_IS_GUARD) needs Linux 6.15; this is %s", f->release);
    if (!strcmp(mode, "swapped") && !swap_total()) {
        const char *why = swapfile_add();
        if (why)
            test_skip("no swap is configured here (SwapTotal 0) and %s", why);
    }

    struct workload w;
    if (!strcmp(mode, "full"))
        workload_start(&w, "--size", "32M", "--hold", NULL);
    else if (!strcmp(mode, "sparse"))
        workload_start(&w, "--size", "32M", "--sparse", "--hold", NULL);
    else if (!strcmp(mode, "guard"))
        workload_start(&w, "--size", "32M", "--guard", "4", "--hold", NULL);
    else if (!strcmp(mode, "collapsed") || !strcmp(mode, "swapped"))
        workload_start(&w, "--size", "16M", "--hold", NULL);
    else if (!strcmp(mode, "zero"))
        workload_start(&w, "--size", "16M", "--touch", "read", "--hold", NULL);
    else
        TEST_FAIL("unknown mode %s", mode);
    CHECK_MSG(!w.thp_at_fault, "the workload could not prevent THP at fault here");

    const uint64_t pmd = 2u << 20;
    if (!strcmp(mode, "collapsed"))
        CHECK_EQ(collapse_remote(w.pid, w.addr + 2 * pmd, 2 * pmd), 0);
    if (!strcmp(mode, "swapped")) {
        struct live_proc *p = open_target(w.pid);
        struct iovec iov = {.iov_base = (void *)(uintptr_t)w.addr, .iov_len = pmd};
        CHECK_EQ(live_proc_madvise(p, &iov, 1, MADV_PAGEOUT), (ssize_t)pmd);
        live_proc_close(p);
    }

    struct live_scanner *sc = live_scanner_new(&live_os_linux, f);
    CHECK(sc);
    struct live_proc *p = open_target(w.pid);
    for (int fallback = 0; fallback < 2; fallback++) {
        const char *path = fallback ? "pagemap fallback" : "PAGEMAP_SCAN";
        struct live_scan_opts o = {.sz = sizeof(o), .force_pagemap = fallback};
        struct live_vma_list l = {0};
        struct live_scan_result res = {0};
        scan_target(sc, p, &l, &o, &res);
        CHECK_EQ(res.used_pagemap_scan, !fallback);
        CHECK(res.huge_known && res.zero_known);
        const struct live_range *r;
        size_t n = ranges_in(&res, w.addr, w.size, &r);
        CHECK_EQ(n, w.ranges);
        uint64_t swapped = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK_U64_EQ(r[i].start, w.addr + i * pmd);
            if (!strcmp(mode, "full")) {
                check(&r[i], i, (struct exp){PPB, 0, 0, 0, 0}, path);
            } else if (!strcmp(mode, "sparse")) {
                check(&r[i], i, (struct exp){1, 0, 0, 0, 0}, path);
            } else if (!strcmp(mode, "guard")) {
                bool g = i % w.guard_stride == 0 && i / w.guard_stride < w.guards;
                check(&r[i], i,
                      g ? (struct exp){PPB - 1, 0, 0, 0, 1} : (struct exp){PPB, 0, 0, 0, 0}, path);
            } else if (!strcmp(mode, "collapsed")) {
                bool h = i == 2 || i == 3;
                check(&r[i], i, (struct exp){PPB, 0, h ? PPB : 0, 0, 0}, path);
            } else if (!strcmp(mode, "zero")) {
                /* A huge zero page (THP at fault with use_zero_page) would also be "huge". */
                CHECK_EQ(r[i].nr_zero, PPB);
                CHECK_EQ(r[i].nr_present, PPB);
                CHECK_EQ(r[i].nr_guard + r[i].nr_swapped, 0);
            } else if (!strcmp(mode, "swapped")) {
                swapped += r[i].nr_swapped;
                CHECK_EQ(r[i].nr_present + r[i].nr_swapped, PPB);
            }
        }
        const struct live_vma *v = live_vma_find(&l, w.addr);
        CHECK(v);
        CHECK(v->scan.scanned_ns);
        if (!strcmp(mode, "guard")) {
            CHECK(v->flags & BPFMM_VMA_GUARD);
            CHECK_GE(v->scan.guard, w.guards);
        } else {
            CHECK_EQ(v->scan.guard, 0);
        }
        if (!strcmp(mode, "swapped")) {
            CHECK_MSG(swapped > 0, "%s: MADV_PAGEOUT swapped nothing out", path);
            printf("%s: %llu pages swapped\n", path, (unsigned long long)swapped);
        }
        if (!strcmp(mode, "collapsed"))
            CHECK_GE(v->scan.huge, 2 * PPB);
        printf("%s: %zu ranges, %llu ioctls, %llu preads, %llu pagemap bytes\n", path, n,
               (unsigned long long)res.ioctls, (unsigned long long)res.preads,
               (unsigned long long)res.pagemap_bytes);
        live_scan_result_free(&res);
        live_vma_list_free(&l);
    }
    live_proc_close(p);
    live_scanner_free(sc);
    CHECK_EQ(workload_stop(&w), 0);
    return 0;
}
