/*
 * Feature probes (see probe.h): kernel version, real probes of MADV_COLLAPSE (local and
 * remote), PAGEMAP_SCAN with guard detection, PROCMAP_QUERY, PR_THP_DISABLE_EXCEPT_ADVISED and
 * anonymous VMA names, capabilities and THP sysfs. Everything goes through the OS layer. The
 * report text is probe_report.c's.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THP_DIR    "/sys/kernel/mm/transparent_hugepage"
#define PROBE_PMD  (2ul << 20) /* the probes' block size; x86-64's PMD */
#define PROBE_PAGE 4096ul

/* --- kernel version and privileges --------------------------------------------------------- */

static void probe_kernel(const struct live_os *os, struct live_features *f)
{
    struct utsname u;
    if (os->uname(&u) < 0)
        return;
    snprintf(f->release, sizeof(f->release), "%s", u.release);
    unsigned a = 0, b = 0, c = 0;
    sscanf(u.release, "%u.%u.%u", &a, &b, &c);
    f->kmajor = a;
    f->kminor = b;
    f->kpatch = c;
    f->kver = LIVE_KVER(a, b, c > 255 ? 255 : c);
}

static void probe_caps(const struct live_os *os, struct live_features *f)
{
    f->root = os->geteuid() == 0;
    uint64_t caps = 0;
    if (os->capget_effective(&caps) == 0)
        f->caps = caps;
#define HAS(c) (!!(f->caps & (1ull << (c))))
    f->can_collapse_others = HAS(LIVE_CAP_SYS_NICE) && HAS(LIVE_CAP_SYS_PTRACE);
    f->can_lifecycle_bpf = (HAS(LIVE_CAP_BPF) && HAS(LIVE_CAP_PERFMON)) || HAS(LIVE_CAP_SYS_ADMIN);
#undef HAS
}

/* --- THP sysfs ----------------------------------------------------------------------------- */

int live_sysfs_choice(const char *text, char *out, size_t size)
{
    const char *l = strchr(text, '['), *r = l ? strchr(l, ']') : NULL;
    if (!l || !r || (size_t)(r - l - 1) >= size)
        return -EINVAL;
    memcpy(out, l + 1, (size_t)(r - l - 1));
    out[r - l - 1] = 0;
    return 0;
}

static void read_choice(const struct live_os *os, const char *path, char *out, size_t size)
{
    char buf[256];
    out[0] = 0;
    if (live_os_read_small(os, path, buf, sizeof(buf)) >= 0)
        live_sysfs_choice(buf, out, size);
}

static void probe_sysfs(const struct live_os *os, struct live_features *f)
{
    char buf[256];
    read_choice(os, THP_DIR "/enabled", f->thp_enabled, sizeof(f->thp_enabled));
    f->thp_sysfs = f->thp_enabled[0] != 0;
    read_choice(os, THP_DIR "/defrag", f->thp_defrag, sizeof(f->thp_defrag));
    read_choice(os, THP_DIR "/shmem_enabled", f->thp_shmem_enabled, sizeof(f->thp_shmem_enabled));
    uint64_t v;
    if (live_os_read_u64(os, THP_DIR "/use_zero_page", &v) == 0)
        f->thp_use_zero_page = v != 0;
    if (live_os_read_u64(os, THP_DIR "/hpage_pmd_size", &v) == 0 && v >= f->page_size) {
        f->hpage_pmd_size = v;
        unsigned o = 0;
        while ((uint64_t)f->page_size << o < v)
            o++;
        f->pmd_order = o;
    }

    /* Per-size (mTHP) controls: hugepages-<kB>kB/enabled, orders 1..PMD (and above). An absent
     * per-size directory (kernels before 6.8) leaves the PMD size following the top level. */
    bool top_on = f->thp_enabled[0] && strcmp(f->thp_enabled, "never") != 0;
    bool any = false;
    for (unsigned o = 1; o <= 20; o++) {
        uint64_t kb = ((uint64_t)f->page_size << o) >> 10;
        char path[128], choice[16];
        snprintf(path, sizeof(path), THP_DIR "/hugepages-%llukB/enabled", (unsigned long long)kb);
        if (live_os_read_small(os, path, buf, sizeof(buf)) < 0 ||
            live_sysfs_choice(buf, choice, sizeof(choice)) < 0)
            continue;
        any = true;
        f->thp_orders_supported |= 1ull << o;
        bool on = !strcmp(choice, "inherit") ? top_on : strcmp(choice, "never") != 0;
        if (on)
            f->thp_orders_enabled |= 1ull << o;
    }
    if (!any && f->pmd_order) {
        f->thp_orders_supported = 1ull << f->pmd_order;
        if (top_on)
            f->thp_orders_enabled = 1ull << f->pmd_order;
    }

    struct live_khugepaged *k = &f->khugepaged;
    static const struct {
        const char *name;
        size_t off;
    } kf[] = {
        {"pages_to_scan", offsetof(struct live_khugepaged, pages_to_scan)},
        {"scan_sleep_millisecs", offsetof(struct live_khugepaged, scan_sleep_millisecs)},
        {"alloc_sleep_millisecs", offsetof(struct live_khugepaged, alloc_sleep_millisecs)},
        {"max_ptes_none", offsetof(struct live_khugepaged, max_ptes_none)},
        {"max_ptes_swap", offsetof(struct live_khugepaged, max_ptes_swap)},
        {"max_ptes_shared", offsetof(struct live_khugepaged, max_ptes_shared)},
        {"defrag", offsetof(struct live_khugepaged, defrag)},
    };
    k->valid = true;
    for (size_t i = 0; i < sizeof(kf) / sizeof(kf[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), THP_DIR "/khugepaged/%s", kf[i].name);
        if (live_os_read_u64(os, path, (uint64_t *)((char *)k + kf[i].off)) < 0)
            k->valid = false;
    }
}

/* --- PAGEMAP_SCAN, guards, PROCMAP_QUERY, PFN visibility (our own memory) ------------------ */

static int own_scan(const struct live_os *os, int fd, uint64_t start, uint64_t end, uint64_t mask,
                    struct page_region *vec, unsigned n)
{
    struct pm_scan_arg a = {
        .size = sizeof(a),
        .start = start,
        .end = end,
        .vec = (uintptr_t)vec,
        .vec_len = n,
        .category_anyof_mask = mask,
        .return_mask = mask,
    };
    return os->pagemap_scan(fd, &a);
}

static void probe_own_memory(const struct live_os *os, struct live_features *f)
{
    const size_t len = 4 * PROBE_PAGE;
    volatile char *p = os->mmap_anon(len);
    if (!p)
        return;
    p[0] = 1; /* page 0 present; page 1 absent; page 2 guarded (if supported) */
    uint64_t base = (uintptr_t)p;
    f->guard_install = os->madvise((char *)p + 2 * PROBE_PAGE, PROBE_PAGE, MADV_GUARD_INSTALL) == 0;

    int fd = os->open("/proc/self/pagemap", O_RDONLY);
    if (fd >= 0) {
        struct page_region vec[8];
        int n = own_scan(os, fd, base, base + len, PAGE_IS_PRESENT, vec, 8);
        if (n >= 1 && vec[0].start == base && vec[0].end == base + PROBE_PAGE &&
            (vec[0].categories & PAGE_IS_PRESENT)) {
            f->pagemap_scan = true;
        } else {
            f->pagemap_scan_err = n < 0 ? -n : EPROTO;
        }
        if (f->pagemap_scan && f->guard_install) {
            /* An older kernel refuses the unknown category bit with EINVAL. */
            n = own_scan(os, fd, base, base + len, PAGE_IS_PRESENT | PAGE_IS_GUARD, vec, 8);
            for (int i = 0; i < n; i++)
                if ((vec[i].categories & PAGE_IS_GUARD) && vec[i].start <= base + 2 * PROBE_PAGE &&
                    vec[i].end > base + 2 * PROBE_PAGE)
                    f->pagemap_scan_guard = true;
        }
        uint64_t ent = 0;
        if (os->pread(fd, &ent, sizeof(ent), (off_t)(base / f->page_size * 8)) == sizeof(ent))
            f->pagemap_pfn = (ent & PM_ENTRY_PRESENT) && (ent & PM_ENTRY_PFN_MASK);
        os->close(fd);
    } else {
        f->pagemap_scan_err = -fd;
    }

    fd = os->open("/proc/self/maps", O_RDONLY);
    if (fd >= 0) {
        struct procmap_query q = {.size = sizeof(q), .query_addr = base};
        f->procmap_query =
            os->procmap_query(fd, &q) == 0 && q.vma_start <= base && q.vma_end >= base + PROBE_PAGE;
        os->close(fd);
    }
    os->munmap((void *)p, len); /* also removes the guard marker */
}

/* --- a child of our own: MADV_COLLAPSE local and remote, prctl probes ---------------------- */

struct child_report {
    uint64_t addr; /* a 2 MiB block of the child's, fully populated, for the remote collapse */
    int32_t collapse_err;
    int32_t anon_name_err;
};

static int write_full(const struct live_os *os, int fd, const void *buf, size_t n)
{
    const char *c = buf;
    while (n) {
        ssize_t r = os->write(fd, c, n);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? (int)r : -EIO;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int read_full(const struct live_os *os, int fd, void *buf, size_t n)
{
    char *c = buf;
    while (n) {
        ssize_t r = os->read(fd, c, n);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? (int)r : -EPIPE;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The child: only raw calls through the table (async-signal-safe), then exit_child. */
static void probe_child(const struct live_os *os, int out_fd, int in_fd)
{
    struct child_report rep = {0};
    size_t len = 3 * PROBE_PMD;
    char *m = os->mmap_anon(len);
    if (!m) {
        rep.collapse_err = ENOMEM;
        write_full(os, out_fd, &rep, sizeof(rep));
        os->exit_child(1);
    }
    char *a = (char *)(((uintptr_t)m + PROBE_PMD - 1) & ~(PROBE_PMD - 1)); /* remote block */
    char *b = a + PROBE_PMD;                                               /* local block */
    for (size_t off = 0; off < 2 * PROBE_PMD; off += PROBE_PAGE)
        a[off] = 1;
    int err = os->madvise(b, PROBE_PMD, MADV_COLLAPSE);
    rep.collapse_err = err < 0 ? -err : 0;
    err = os->prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)b, PROBE_PMD,
                    (unsigned long)"bpfmm-probe");
    rep.anon_name_err = err < 0 ? -err : 0;
    rep.addr = (uintptr_t)a;
    if (write_full(os, out_fd, &rep, sizeof(rep)))
        os->exit_child(1);
    char c;
    while (os->read(in_fd, &c, 1) == -EINTR)
        ; /* the parent closes its end when it is done with our memory */
    /* Only now: this changes the child's own THP state for good. */
    err = os->prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0);
    int32_t prctl_err = err < 0 ? -err : 0;
    write_full(os, out_fd, &prctl_err, sizeof(prctl_err));
    os->exit_child(0);
}

static void probe_children(const struct live_os *os, struct live_features *f)
{
    int up[2], down[2];
    f->madv_collapse_err = f->madv_collapse_remote_err = ECHILD;
    if (os->pipe(up) < 0)
        return;
    if (os->pipe(down) < 0) {
        os->close(up[0]);
        os->close(up[1]);
        return;
    }
    pid_t pid = os->fork();
    if (pid == 0) {
        os->close(up[0]);
        os->close(down[1]);
        probe_child(os, up[1], down[0]);
    }
    os->close(up[1]);
    os->close(down[0]);
    if (pid < 0) {
        os->close(up[0]);
        os->close(down[1]);
        return;
    }

    struct child_report rep;
    if (read_full(os, up[0], &rep, sizeof(rep)) == 0) {
        f->madv_collapse = rep.collapse_err == 0;
        f->madv_collapse_err = rep.collapse_err;
        f->anon_vma_name = rep.anon_name_err == 0;
        int pidfd = os->pidfd_open(pid, 0);
        f->pidfd = pidfd >= 0;
        f->madv_collapse_remote_err = pidfd < 0 ? -pidfd : 0;
        if (pidfd >= 0) {
            struct iovec iov = {.iov_base = (void *)(uintptr_t)rep.addr, .iov_len = PROBE_PMD};
            ssize_t r = os->process_madvise(pidfd, &iov, 1, MADV_COLLAPSE, 0);
            f->madv_collapse_remote = r == (ssize_t)PROBE_PMD;
            f->madv_collapse_remote_err = r < 0 ? (int)-r : (r == (ssize_t)PROBE_PMD ? 0 : EIO);
            os->close(pidfd);
        }
    }
    os->close(down[1]); /* lets the child go on to the prctl probe */
    int32_t prctl_err;
    if (read_full(os, up[0], &prctl_err, sizeof(prctl_err)) == 0)
        f->thp_disable_except_advised = prctl_err == 0;
    os->close(up[0]);
    int status;
    os->waitpid(pid, &status);
}

/* --- entry points -------------------------------------------------------------------------- */

void live_probe(const struct live_os *os, struct live_features *f)
{
    memset(f, 0, sizeof(*f));
    f->page_size = PROBE_PAGE; /* x86-64 and arm64-4K; the probes below assume it */
    probe_kernel(os, f);
    probe_caps(os, f);
    probe_sysfs(os, f);
    probe_own_memory(os, f);
    probe_children(os, f);
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct live_features cache;
static bool cache_valid;

const struct live_features *live_probe_cached(const struct live_os *os)
{
    pthread_mutex_lock(&cache_lock);
    if (!cache_valid) {
        live_probe(os, &cache);
        cache_valid = true;
    }
    pthread_mutex_unlock(&cache_lock);
    return &cache;
}

int live_probe_require(const struct live_features *f, char *msg, size_t size)
{
    if (f->kver < LIVE_KVER(6, 1, 0)) {
        snprintf(msg, size,
                 "Linux %s is too old: bpfmm's agent needs Linux 6.1 or later for MADV_COLLAPSE "
                 "(synchronous huge page collapse); upgrade the kernel",
                 f->release[0] ? f->release : "(unknown version)");
        return -ENOTSUP;
    }
    if (!f->madv_collapse) {
        snprintf(msg, size,
                 "MADV_COLLAPSE does not work here (Linux %s, probe failed with %s): is THP "
                 "compiled in (CONFIG_TRANSPARENT_HUGEPAGE) and not disabled for this process "
                 "(prctl PR_SET_THP_DISABLE inherited from a parent)?",
                 f->release, live_errno_name(f->madv_collapse_err));
        return -ENOTSUP;
    }
    if (!f->pidfd) {
        snprintf(msg, size, "pidfd_open is not available (Linux %s): needs Linux 5.3 or later",
                 f->release);
        return -ENOTSUP;
    }
    if (!f->can_collapse_others || !f->madv_collapse_remote) {
        snprintf(msg, size,
                 "not permitted to collapse other processes' memory (process_madvise probe: "
                 "%s): run as root, or grant CAP_SYS_NICE and CAP_SYS_PTRACE",
                 live_errno_name(f->madv_collapse_remote_err));
        return -EPERM;
    }
    if (size)
        msg[0] = 0;
    return 0;
}
