/*
 * The fake OS layer of fake_os.h. PAGEMAP_SCAN follows the kernel's documented contract:
 * pages matching category_anyof_mask are reported as regions of identical (categories &
 * return_mask), merged while contiguous; the walk stops when vec is full and another region
 * would start (walk_end = its address); otherwise walk_end = end - except that, as on Linux
 * 6.18, a call that gathered more than FAKE_KBUF regions reports a stale walk_end (the start
 * of the last internal buffer flush).
 */
#include "fake_os.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_state fake;
struct live_os fake_os;

enum { FD_PIDFD = 100, FD_DIR, FD_PAGEMAP, FD_STAT, FD_STATM, FD_KPF, FD_SELFPM, FD_COMM };

static struct {
    const char *text;
    size_t pos;
} files[16];

static const char stat_text[] =
    "4242 (fake prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000000 "
    "250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
static const char statm_text[] = "25000 1234 100 10 0 2000 0\n";

static int f_pidfd_open(pid_t pid, unsigned flags)
{
    return pid == FAKE_PID ? FD_PIDFD : -ESRCH;
}

static int f_pidfd_send_signal(int fd, int sig)
{
    return fake.alive ? 0 : -ESRCH;
}

static int open_text(int fd, const char *text)
{
    files[fd - FD_PIDFD].text = text;
    files[fd - FD_PIDFD].pos = 0;
    return fd;
}

static int f_open(const char *path, int flags)
{
    char want[32];
    snprintf(want, sizeof(want), "/proc/%d", FAKE_PID);
    if (!strcmp(path, want))
        return fake.alive ? FD_DIR : -ENOENT;
    if (!strcmp(path, "/proc/kpageflags"))
        return FD_KPF;
    if (!strcmp(path, "/proc/self/pagemap"))
        return FD_SELFPM;
    return -ENOENT;
}

static int f_openat(int dirfd, const char *name, int flags)
{
    if (dirfd != FD_DIR || !fake.alive)
        return -ENOENT;
    if (!strcmp(name, "pagemap")) {
        fake.pagemap_opens++;
        return FD_PAGEMAP;
    }
    if (!strcmp(name, "stat"))
        return open_text(FD_STAT, stat_text);
    if (!strcmp(name, "statm"))
        return open_text(FD_STATM, statm_text);
    if (!strcmp(name, "comm"))
        return open_text(FD_COMM, "fake prog\n");
    return -ENOENT;
}

static ssize_t f_read(int fd, void *buf, size_t n)
{
    if (fd < FD_PIDFD || fd > FD_COMM || !files[fd - FD_PIDFD].text)
        return -EBADF;
    const char *t = files[fd - FD_PIDFD].text + files[fd - FD_PIDFD].pos;
    size_t len = strlen(t);
    if (len > n)
        len = n;
    memcpy(buf, t, len);
    files[fd - FD_PIDFD].pos += len;
    return (ssize_t)len;
}

static uint64_t entry_of(const struct fake_page *p)
{
    uint64_t e = 0;
    if (p->cat & PAGE_IS_PRESENT)
        e |= PM_ENTRY_PRESENT | (p->pfn & PM_ENTRY_PFN_MASK) | (p->excl ? PM_ENTRY_EXCLUSIVE : 0);
    if (p->cat & PAGE_IS_SWAPPED)
        e |= PM_ENTRY_SWAPPED;
    if (p->cat & PAGE_IS_GUARD)
        e |= PM_ENTRY_GUARD;
    return e;
}

static ssize_t f_pread(int fd, void *buf, size_t n, off_t off)
{
    if (fd == FD_SELFPM) { /* the scanner learning the zero page's PFN */
        uint64_t e = PM_ENTRY_PRESENT | FAKE_ZERO_PFN;
        memcpy(buf, &e, 8);
        return 8;
    }
    if (fd == FD_KPF) {
        uint64_t pfn = (uint64_t)off / 8, flags = 0;
        if (pfn >= fake.thp_pfn_lo && pfn < fake.thp_pfn_hi)
            flags = 1ull << KPF_BIT_THP;
        memcpy(buf, &flags, 8);
        return 8;
    }
    if (fd != FD_PAGEMAP)
        return -EBADF;
    fake.pread_calls++;
    if (fake.esrch_once) {
        fake.esrch_once--;
        return -ESRCH;
    }
    if (!fake.alive)
        return -ESRCH;
    uint64_t *out = buf;
    for (size_t i = 0; i < n / 8; i++) {
        uint64_t addr = ((uint64_t)off / 8 + i) * FAKE_PAGE;
        const struct fake_page *p = fake_at(addr);
        out[i] = p ? entry_of(p) : 0;
    }
    return (ssize_t)(n / 8 * 8);
}

static int f_close(int fd)
{
    return 0;
}

static int f_pagemap_scan(int fd, struct pm_scan_arg *a)
{
    if (fd != FD_PAGEMAP || a->size != sizeof(*a))
        return -EINVAL;
    fake.scan_calls++;
    if (fake.esrch_once) {
        fake.esrch_once--;
        return -ESRCH;
    }
    if (!fake.alive)
        return -ESRCH;
    struct page_region *vec = (void *)(uintptr_t)a->vec;
    size_t n = 0;
    bool full = false;
    a->walk_end = a->end;
    for (uint64_t addr = a->start; addr < a->end; addr += FAKE_PAGE) {
        const struct fake_page *p = fake_at(addr);
        uint64_t cat = p ? p->cat : 0;
        if (!(cat & a->category_anyof_mask))
            continue;
        cat &= a->return_mask;
        if (n && vec[n - 1].end == addr && vec[n - 1].categories == cat) {
            vec[n - 1].end += FAKE_PAGE;
            continue;
        }
        if (n == a->vec_len) {
            a->walk_end = addr;
            full = true;
            break;
        }
        vec[n++] = (struct page_region){addr, addr + FAKE_PAGE, cat};
    }
    if (!full && fake.stale_walk_end && n > FAKE_KBUF)
        a->walk_end = vec[(n - 1) / FAKE_KBUF * FAKE_KBUF].start;
    return (int)n;
}

static uint64_t f_now_ns(void)
{
    static uint64_t t = 1000;
    return t += 1000;
}

static int f_capget(uint64_t *caps)
{
    *caps = 0;
    return 0;
}

static uid_t f_geteuid(void)
{
    return 0;
}

struct fake_page *fake_at(uint64_t addr)
{
    if (addr < fake.base || addr >= fake.base + fake.npages * FAKE_PAGE)
        return NULL;
    return &fake.pages[(addr - fake.base) / FAKE_PAGE];
}

void fake_set(uint64_t addr, size_t n, uint64_t cat)
{
    static uint64_t next_pfn = 0x100001; /* odd: never accidentally PMD-aligned runs */
    if (cat & PAGE_IS_GUARD)
        cat |= PAGE_IS_SWAPPED; /* as Linux reports a guard marker */
    for (size_t i = 0; i < n; i++) {
        struct fake_page *p = fake_at(addr + i * FAKE_PAGE);
        p->cat = cat;
        p->excl = true;
        p->pfn = (cat & PAGE_IS_PFNZERO) ? FAKE_ZERO_PFN : next_pfn;
        if (cat & PAGE_IS_PFNZERO)
            p->excl = false; /* the zero page is never exclusive */
        next_pfn += 3;
    }
}

void fake_set_huge(uint64_t addr)
{
    static uint64_t next = 0x200000; /* 512-aligned PFNs */
    for (size_t i = 0; i < FAKE_PMD / FAKE_PAGE; i++) {
        struct fake_page *p = fake_at(addr + i * FAKE_PAGE);
        p->cat = PAGE_IS_PRESENT | PAGE_IS_HUGE;
        p->excl = true;
        p->pfn = next + i;
    }
    if (!fake.thp_pfn_lo)
        fake.thp_pfn_lo = next;
    next += 512;
    fake.thp_pfn_hi = next;
}

void fake_init(uint64_t base, size_t npages)
{
    memset(&fake, 0, sizeof(fake));
    fake.base = base;
    fake.npages = npages;
    fake.pages = calloc(npages, sizeof(*fake.pages));
    fake.alive = true;
    fake.stale_walk_end = true;
    fake_os = live_os_linux; /* anything not faked (mmap for probes...) is real */
    fake_os.name = "fake";
    fake_os.pidfd_open = f_pidfd_open;
    fake_os.pidfd_send_signal = f_pidfd_send_signal;
    fake_os.open = f_open;
    fake_os.openat = f_openat;
    fake_os.read = f_read;
    fake_os.pread = f_pread;
    fake_os.close = f_close;
    fake_os.pagemap_scan = f_pagemap_scan;
    fake_os.now_ns = f_now_ns;
    fake_os.capget_effective = f_capget;
    fake_os.geteuid = f_geteuid;
}

void fake_fini(void)
{
    free(fake.pages);
    fake.pages = NULL;
}
