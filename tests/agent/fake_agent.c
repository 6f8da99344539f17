/*
 * The fake OS layer of fake_agent.h: an fd table over fake processes, generated /proc text,
 * PAGEMAP_SCAN over page-state arrays, and process_madvise(MADV_COLLAPSE) with the kernel's
 * per-iovec semantics.
 */
#include "fake_agent.h"

#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fa_state fa;
struct live_os fa_os;
struct live_features fa_features;

enum fkind { FK_FREE = 0, FK_PIDFD, FK_DIR, FK_TEXT, FK_PAGEMAP, FK_MAPS, FK_CLEAR_REFS };

#define NFD 512
#define FD0 1000

static struct {
    enum fkind kind;
    pid_t pid;
    char *text;
    size_t len, pos;
} fds[NFD];

struct fa_proc *fa_proc(pid_t pid)
{
    for (int i = 0; i < fa.np; i++)
        if (fa.p[i].pid == pid)
            return &fa.p[i];
    return NULL;
}

static int new_fd(enum fkind k, pid_t pid)
{
    for (int i = 0; i < NFD; i++)
        if (fds[i].kind == FK_FREE) {
            fds[i].kind = k;
            fds[i].pid = pid;
            fds[i].text = NULL;
            fds[i].len = fds[i].pos = 0;
            return FD0 + i;
        }
    return -EMFILE;
}

static int slot(int fd)
{
    return fd >= FD0 && fd < FD0 + NFD && fds[fd - FD0].kind != FK_FREE ? fd - FD0 : -1;
}

/* --- text ---------------------------------------------------------------------------------- */

struct sbuf {
    char *s;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        CHECK(b->s);
    }
}

static uint64_t vma_pages(const struct fa_vma *v)
{
    return (v->end - v->start) / FA_PAGE;
}

static uint64_t count(const struct fa_vma *v, uint8_t bits)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < vma_pages(v); i++)
        n += (v->pages[i] & bits) != 0;
    return n;
}

static void maps_line(struct sbuf *b, const struct fa_vma *v)
{
    sb_printf(b, "%llx-%llx %s 00000000 00:00 0\n", (unsigned long long)v->start,
              (unsigned long long)v->end, v->perms);
}

static char *gen_text(struct fa_proc *p, const char *name)
{
    struct sbuf b = {0};
    sb_printf(&b, "%s", "");
    uint64_t size = 0, res = 0, anon = 0;
    if (!p->zombie)
        for (int i = 0; i < p->nv; i++) {
            size += vma_pages(&p->v[i]);
            res += count(&p->v[i], FA_PRESENT);
        }
    anon = res;
    if (!strcmp(name, "stat")) {
        sb_printf(&b,
                  "%d (%s) S 1 %d %d 0 -1 4194560 100 0 0 0 %llu 0 0 0 20 0 1 0 5000 %llu %llu "
                  "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
                  (int)p->pid, p->comm, (int)p->pid, (int)p->pid, (unsigned long long)p->ticks,
                  (unsigned long long)(size * FA_PAGE), (unsigned long long)res);
    } else if (!strcmp(name, "statm")) {
        sb_printf(&b, "%llu %llu 0 1 0 %llu 0\n", (unsigned long long)size, (unsigned long long)res,
                  (unsigned long long)size);
    } else if (!strcmp(name, "status")) {
        sb_printf(&b,
                  "Name:\t%s\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nRssAnon:\t%llu "
                  "kB\nTHP_enabled:\t%d\n",
                  p->comm, p->uid, p->uid, p->uid, p->uid, p->gid, p->gid, p->gid, p->gid,
                  (unsigned long long)(anon * 4), p->thp_enabled);
    } else if (!strcmp(name, "comm")) {
        sb_printf(&b, "%s\n", p->comm);
    } else if (!strcmp(name, "maps")) {
        for (int i = 0; !p->zombie && i < p->nv; i++)
            maps_line(&b, &p->v[i]);
    } else if (!strcmp(name, "smaps")) {
        fa.smaps_reads++;
        for (int i = 0; !p->zombie && i < p->nv; i++) {
            const struct fa_vma *v = &p->v[i];
            maps_line(&b, v);
            uint64_t present = count(v, FA_PRESENT), huge = count(v, FA_HUGE);
            uint64_t shared = count(v, FA_SHARED);
            sb_printf(&b,
                      "Size: %llu kB\nRss: %llu kB\nAnonymous: %llu kB\nAnonHugePages: %llu "
                      "kB\nShared_Clean: 0 kB\nShared_Dirty: %llu kB\nReferenced: %llu "
                      "kB\nSwap: 0 kB\nVmFlags: rd wr mr mw me ac%s\n",
                      (unsigned long long)(vma_pages(v) * 4), (unsigned long long)(present * 4),
                      (unsigned long long)(present * 4), (unsigned long long)(huge * 4),
                      (unsigned long long)(shared * 4), (unsigned long long)v->referenced_kb,
                      v->nohuge ? " nh" : "");
        }
    } else {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* --- the table ----------------------------------------------------------------------------- */

static int f_pidfd_open(pid_t pid, unsigned flags)
{
    struct fa_proc *p = fa_proc(pid);
    return p && p->exists ? new_fd(FK_PIDFD, pid) : -ESRCH;
}

static int f_pidfd_send_signal(int fd, int sig)
{
    int s = slot(fd);
    if (s < 0)
        return -EBADF;
    struct fa_proc *p = fa_proc(fds[s].pid);
    return p && p->exists ? 0 : -ESRCH;
}

static int f_open(const char *path, int flags)
{
    int pid;
    char rest[64] = "";
    if (!strcmp(path, "/proc/meminfo")) {
        int fd = new_fd(FK_TEXT, 0);
        if (fd >= 0) {
            fds[fd - FD0].text = strdup("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n");
            fds[fd - FD0].len = strlen(fds[fd - FD0].text);
        }
        return fd;
    }
    if (!strncmp(path, "/sys/kernel/mm/ksm/", 19)) {
        unsigned v;
        if (fa.ksm_absent)
            return -ENOENT;
        if (!strcmp(path + 19, "run"))
            v = fa.ksm_run;
        else if (!strcmp(path + 19, "pages_shared"))
            v = fa.ksm_pages_shared;
        else
            return -ENOENT;
        int fd = new_fd(FK_TEXT, 0);
        if (fd >= 0) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%u\n", v);
            fds[fd - FD0].text = strdup(buf);
            fds[fd - FD0].len = strlen(buf);
        }
        return fd;
    }
    if (sscanf(path, "/proc/%d%63s", &pid, rest) >= 1 && !rest[0]) {
        struct fa_proc *p = fa_proc(pid);
        return p && p->exists ? new_fd(FK_DIR, pid) : -ENOENT;
    }
    return -ENOENT;
}

static int f_fstat_owner(int fd, uid_t *uid, gid_t *gid)
{
    int s = slot(fd);
    if (s < 0 || fds[s].kind == FK_FREE || !fds[s].pid)
        return -EBADF;
    struct fa_proc *p = fa_proc(fds[s].pid);
    if (!p || !p->exists)
        return -ENOENT;
    *uid = p->nondumpable ? 0 : p->uid;
    *gid = p->nondumpable ? 0 : p->gid;
    return 0;
}

static int f_openat(int dirfd, const char *name, int flags)
{
    int s = slot(dirfd);
    if (s < 0 || fds[s].kind != FK_DIR)
        return -EBADF;
    struct fa_proc *p = fa_proc(fds[s].pid);
    if (!p || !p->exists)
        return -ENOENT;
    if (!strcmp(name, "pagemap"))
        return p->deny ? -EACCES : new_fd(FK_PAGEMAP, p->pid);
    if (!strcmp(name, "clear_refs")) {
        return new_fd(FK_CLEAR_REFS, p->pid);
    }
    char *text = gen_text(p, name);
    if (!text)
        return -ENOENT;
    int fd = new_fd(!strcmp(name, "maps") ? FK_MAPS : FK_TEXT, p->pid);
    if (fd < 0) {
        free(text);
        return fd;
    }
    fds[fd - FD0].text = text;
    fds[fd - FD0].len = strlen(text);
    return fd;
}

static ssize_t f_read(int fd, void *buf, size_t n)
{
    int s = slot(fd);
    if (s < 0 || !fds[s].text)
        return -EBADF;
    size_t left = fds[s].len - fds[s].pos;
    if (n > left)
        n = left;
    memcpy(buf, fds[s].text + fds[s].pos, n);
    fds[s].pos += n;
    return (ssize_t)n;
}

static ssize_t f_write(int fd, const void *buf, size_t n)
{
    int s = slot(fd);
    if (s < 0 || fds[s].kind != FK_CLEAR_REFS)
        return -EBADF;
    fa.clear_refs++;
    return (ssize_t)n;
}

static int f_close(int fd)
{
    int s = slot(fd);
    if (s < 0)
        return -EBADF;
    free(fds[s].text);
    fds[s].kind = FK_FREE;
    fds[s].text = NULL;
    return 0;
}

static int f_procmap_query(int fd, struct procmap_query *q)
{
    return -ENOTTY;
}

static struct fa_vma *vma_at(struct fa_proc *p, uint64_t addr)
{
    for (int i = 0; i < p->nv; i++)
        if (addr >= p->v[i].start && addr < p->v[i].end)
            return &p->v[i];
    return NULL;
}

uint8_t fa_page(struct fa_proc *p, uint64_t addr)
{
    struct fa_vma *v = vma_at(p, addr);
    return v ? v->pages[(addr - v->start) / FA_PAGE] : 0;
}

static uint64_t cats_of(uint8_t st)
{
    uint64_t c = 0;
    if (st & FA_PRESENT)
        c |= PAGE_IS_PRESENT;
    if (st & (FA_SWAPPED | FA_GUARD))
        c |= PAGE_IS_SWAPPED;
    if (st & FA_HUGE)
        c |= PAGE_IS_HUGE;
    if (st & FA_ZERO)
        c |= PAGE_IS_PFNZERO;
    if (st & FA_GUARD)
        c |= PAGE_IS_GUARD;
    return c;
}

static int f_pagemap_scan(int fd, struct pm_scan_arg *a)
{
    int s = slot(fd);
    if (s < 0 || fds[s].kind != FK_PAGEMAP || a->size != sizeof(*a))
        return -EINVAL;
    struct fa_proc *p = fa_proc(fds[s].pid);
    if (!p || !p->exists || p->zombie)
        return -ESRCH;
    fa.pagemap_scans++;
    struct page_region *vec = (void *)(uintptr_t)a->vec;
    size_t n = 0;
    a->walk_end = a->end;
    for (uint64_t addr = a->start; addr < a->end; addr += FA_PAGE) {
        uint64_t cat = cats_of(fa_page(p, addr));
        if (!(cat & a->category_anyof_mask))
            continue;
        cat &= a->return_mask;
        if (n && vec[n - 1].end == addr && vec[n - 1].categories == cat) {
            vec[n - 1].end += FA_PAGE;
            continue;
        }
        if (n == a->vec_len) {
            a->walk_end = addr;
            break;
        }
        vec[n++] = (struct page_region){addr, addr + FA_PAGE, cat};
    }
    return (int)n;
}

static ssize_t f_pread(int fd, void *buf, size_t n, off_t off)
{
    int s = slot(fd);
    if (s < 0 || fds[s].kind != FK_PAGEMAP)
        return -EBADF;
    struct fa_proc *p = fa_proc(fds[s].pid);
    if (!p || !p->exists || p->zombie)
        return -ESRCH;
    fa.preads++;
    uint64_t *out = buf;
    for (size_t i = 0; i < n / 8; i++) {
        uint64_t addr = ((uint64_t)off / 8 + i) * FA_PAGE;
        uint8_t st = fa_page(p, addr);
        uint64_t e = 0;
        if (st & FA_PRESENT)
            e |= PM_ENTRY_PRESENT | 0x1000 | ((st & FA_SHARED) ? 0 : PM_ENTRY_EXCLUSIVE);
        out[i] = e;
    }
    return (ssize_t)(n / 8 * 8);
}

/* --- collapse ------------------------------------------------------------------------------ */

static struct fa_inj *injected(struct fa_proc *p, uint64_t block)
{
    for (int i = 0; i < p->ninj; i++)
        if (p->inj[i].block == block && p->inj[i].times != 0)
            return &p->inj[i];
    return NULL;
}

/* madvise_collapse over [a, b) of one VMA: 0, or the errno of the iovec; *abort when the
 * rest of the iovec must not be processed. */
static int collapse_vma(struct fa_proc *p, struct fa_vma *v, uint64_t a, uint64_t b, bool *abort)
{
    *abort = false;
    if (p->thp_enabled == 0 || v->nohuge) {
        *abort = true;
        return -EINVAL;
    }
    int last = 0;
    for (uint64_t blk = a; blk + FA_PMD <= b; blk += FA_PMD) {
        uint8_t *pg = &v->pages[(blk - v->start) / FA_PAGE];
        struct fa_inj *in = injected(p, blk);
        bool guard = false, any = false;
        for (uint64_t i = 0; i < FA_PMD / FA_PAGE; i++) {
            guard |= (pg[i] & FA_GUARD) != 0;
            any |= (pg[i] & (FA_PRESENT | FA_SWAPPED)) != 0;
        }
        if (in) {
            if (in->times > 0)
                in->times--;
            last = in->err;
            if (in->abort) {
                *abort = true;
                return last;
            }
            continue;
        }
        if (guard) {
            *abort = true;
            return -EINVAL;
        }
        if (!any) { /* no page table: skipped */
            last = -EINVAL;
            continue;
        }
        if (fa.enomem) {
            fa.enomem--;
            *abort = true;
            return -ENOMEM;
        }
        for (uint64_t i = 0; i < FA_PMD / FA_PAGE; i++)
            pg[i] = FA_PRESENT | FA_HUGE;
        fa.now += fa.block_cost_ns;
    }
    return last;
}

static int collapse_iov(struct fa_proc *p, uint64_t start, uint64_t len)
{
    uint64_t a = (start + FA_PMD - 1) & ~(FA_PMD - 1), b = (start + len) & ~(FA_PMD - 1);
    int unmapped = 0;
    for (uint64_t cur = a; cur < b;) {
        struct fa_vma *v = vma_at(p, cur);
        if (!v) {
            unmapped = -ENOMEM;
            uint64_t next = b;
            for (int i = 0; i < p->nv; i++)
                if (p->v[i].start > cur && p->v[i].start < next)
                    next = p->v[i].start;
            cur = next;
            continue;
        }
        uint64_t e = v->end < b ? v->end : b;
        bool abort;
        int r = collapse_vma(p, v, cur, e, &abort);
        if (r)
            return r; /* any failure fails the iovec; the kernel stops at a failing VMA */
        cur = e;
    }
    return unmapped;
}

static ssize_t f_process_madvise(int pidfd, const struct iovec *iov, size_t n, int advice,
                                 unsigned flags)
{
    int s = slot(pidfd);
    if (s < 0 || fds[s].kind != FK_PIDFD)
        return -EBADF;
    if (advice != MADV_COLLAPSE || flags || n > 1024)
        return -EINVAL;
    struct fa_proc *p = fa_proc(fds[s].pid);
    struct fa_call *c = fa.ncalls < FA_MAX_CALLS ? &fa.calls[fa.ncalls] : NULL;
    fa.ncalls++;
    if (c) {
        memset(c, 0, sizeof(*c));
        c->pid = fds[s].pid;
        c->n = (unsigned)n;
        c->at = fa.now;
        for (size_t i = 0; i < n && i < 16; i++) {
            c->start[i] = (uintptr_t)iov[i].iov_base;
            c->len[i] = iov[i].iov_len;
        }
    }
    ssize_t ret;
    if (!p || !p->exists || p->zombie) {
        ret = -ESRCH;
    } else if (p->deny) {
        ret = -EPERM;
    } else {
        uint64_t total = 0;
        int err = 0;
        for (size_t i = 0; i < n; i++) {
            err = collapse_iov(p, (uintptr_t)iov[i].iov_base, iov[i].iov_len);
            if (err)
                break;
            total += iov[i].iov_len;
        }
        ret = total ? (ssize_t)total : err;
    }
    if (c)
        c->ret = (long)ret;
    return ret;
}

static uint64_t f_now_ns(void)
{
    return fa.now;
}

static int f_capget(uint64_t *caps)
{
    *caps = ~0ull;
    return 0;
}

static uid_t f_geteuid(void)
{
    return 0;
}

/* --- helpers ------------------------------------------------------------------------------- */

void fa_init(void)
{
    fa_fini();
    memset(&fa, 0, sizeof(fa));
    fa.now = 1000000000ull;
    fa.block_cost_ns = 500000;
    fa_os = live_os_linux;
    fa_os.name = "fake-agent";
    fa_os.pidfd_open = f_pidfd_open;
    fa_os.pidfd_send_signal = f_pidfd_send_signal;
    fa_os.process_madvise = f_process_madvise;
    fa_os.open = f_open;
    fa_os.openat = f_openat;
    fa_os.fstat_owner = f_fstat_owner;
    fa_os.read = f_read;
    fa_os.pread = f_pread;
    fa_os.write = f_write;
    fa_os.close = f_close;
    fa_os.pagemap_scan = f_pagemap_scan;
    fa_os.procmap_query = f_procmap_query;
    fa_os.now_ns = f_now_ns;
    fa_os.capget_effective = f_capget;
    fa_os.geteuid = f_geteuid;
    memset(&fa_features, 0, sizeof(fa_features));
    snprintf(fa_features.release, sizeof(fa_features.release), "6.18.0-fake");
    fa_features.kmajor = 6;
    fa_features.kminor = 18;
    fa_features.kver = LIVE_KVER(6, 18, 0);
    fa_features.page_size = 4096;
    fa_features.pidfd = fa_features.madv_collapse = fa_features.madv_collapse_remote = true;
    fa_features.pagemap_scan = fa_features.pagemap_scan_guard = true;
    fa_features.root = fa_features.can_collapse_others = true;
    fa_features.hpage_pmd_size = FA_PMD;
    fa_features.pmd_order = 9;
    fa_features.thp_orders_enabled = 1u << 9;
}

void fa_fini(void)
{
    for (int i = 0; i < fa.np; i++)
        for (int k = 0; k < fa.p[i].nv; k++)
            free(fa.p[i].v[k].pages);
    fa.np = 0;
    for (int i = 0; i < NFD; i++)
        if (fds[i].kind != FK_FREE) {
            free(fds[i].text);
            fds[i].kind = FK_FREE;
        }
}

struct fa_proc *fa_proc_add(pid_t pid, const char *comm)
{
    CHECK(fa.np < FA_MAX_PROCS);
    struct fa_proc *p = &fa.p[fa.np++];
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->exists = true;
    p->thp_enabled = 1;
    snprintf(p->comm, sizeof(p->comm), "%s", comm);
    return p;
}

struct fa_vma *fa_vma_add(struct fa_proc *p, uint64_t start, uint64_t size)
{
    CHECK(p->nv < FA_MAX_VMAS);
    int i = p->nv;
    while (i > 0 && p->v[i - 1].start > start) {
        p->v[i] = p->v[i - 1];
        i--;
    }
    struct fa_vma *v = &p->v[i];
    memset(v, 0, sizeof(*v));
    v->start = start;
    v->end = start + size;
    memcpy(v->perms, "rw-p", 5);
    v->pages = calloc(size / FA_PAGE, 1);
    CHECK(v->pages);
    p->nv++;
    return v;
}

void fa_vma_remove(struct fa_proc *p, uint64_t start)
{
    for (int i = 0; i < p->nv; i++)
        if (p->v[i].start == start) {
            free(p->v[i].pages);
            memmove(&p->v[i], &p->v[i + 1], (size_t)(p->nv - i - 1) * sizeof(p->v[0]));
            p->nv--;
            return;
        }
}

void fa_set(struct fa_proc *p, uint64_t addr, uint64_t n, uint8_t state)
{
    for (uint64_t i = 0; i < n; i++) {
        struct fa_vma *v = vma_at(p, addr + i * FA_PAGE);
        CHECK(v);
        v->pages[(addr + i * FA_PAGE - v->start) / FA_PAGE] = state;
    }
}

bool fa_block_huge(struct fa_proc *p, uint64_t block)
{
    for (uint64_t i = 0; i < FA_PMD / FA_PAGE; i++)
        if (!(fa_page(p, block + i * FA_PAGE) & FA_HUGE))
            return false;
    return true;
}

void fa_inject(struct fa_proc *p, uint64_t block, int err, int times, bool abort)
{
    CHECK(p->ninj < FA_MAX_INJ);
    p->inj[p->ninj++] = (struct fa_inj){block, err, times, abort};
}

unsigned fa_calls_touching(pid_t pid, uint64_t block)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fa.ncalls && i < FA_MAX_CALLS; i++) {
        const struct fa_call *c = &fa.calls[i];
        if (c->pid != pid)
            continue;
        for (unsigned k = 0; k < c->n && k < 16; k++)
            if (block >= c->start[k] && block < c->start[k] + c->len[k]) {
                n++;
                break;
            }
    }
    return n;
}

unsigned fa_calls_of(pid_t pid)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fa.ncalls && i < FA_MAX_CALLS; i++)
        n += fa.calls[i].pid == pid;
    return n;
}

int fa_list_pids(void *arg, pid_t *pids, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < fa.np; i++)
        if (fa.p[i].exists) {
            if (n < cap)
                pids[n] = fa.p[i].pid;
            n++;
        }
    return (int)n;
}

uint64_t fa_cpu_ns(void *arg)
{
    return fa.cpu += 1000; /* every reading costs 1 us: enough for the ratio to be defined */
}

struct live_agent_opts fa_opts(const struct live_agent_budget *b)
{
    struct live_agent_opts o = {
        .sz = sizeof(o),
        .os = &fa_os,
        .features = &fa_features,
        .budget = b,
        .list_pids = fa_list_pids,
        .cpu_ns = fa_cpu_ns,
        .self_pid = 1,
    };
    return o;
}

live_agent_t *fa_agent(const struct live_agent_opts *o, const char *policy, uint32_t *id)
{
    char err[1024] = "", path[4096];
    live_agent_t *a = live_agent_new(o, err, sizeof(err));
    CHECK_MSG(a, "live_agent_new: %s", err);
    snprintf(path, sizeof(path), "%s/policies/%s.bpf.o", test_build_dir(), policy);
    int r = live_agent_policy_add(a, NULL, path, NULL, 0, id, err, sizeof(err));
    CHECK_MSG(r == 0, "policy_add %s: %d %s", path, r, err);
    return a;
}

unsigned fa_run(live_agent_t *a, uint64_t until, uint64_t step_ns)
{
    unsigned steps = 0;
    while (fa.now < until) {
        uint64_t next = 0;
        CHECK_EQ(live_agent_step(a, &next), 0);
        steps++;
        uint64_t t = fa.now + step_ns;
        fa.now = next > t ? (next < until ? next : until) : t;
    }
    return steps;
}
