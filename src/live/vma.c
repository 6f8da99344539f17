/*
 * VMA lists (see vma.h): PROCMAP_QUERY iteration, /proc/PID/maps parsing, classification into
 * BPFMM_VMA_* flags and ctx names, shmem detection, collapse eligibility and the layout hash.
 */
#include "vma.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMPFS_MAGIC_ 0x01021994ull

void live_vma_list_free(struct live_vma_list *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

struct live_vma *live_vma_list_add(struct live_vma_list *l)
{
    if (l->nr == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct live_vma *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    struct live_vma *v = &l->v[l->nr++];
    memset(v, 0, sizeof(*v));
    return v;
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static void set_name(struct live_vma *v, const char *s, size_t n)
{
    if (n >= sizeof(v->name))
        n = sizeof(v->name) - 1;
    memcpy(v->name, s, n);
    v->name[n] = 0;
}

void live_vma_classify(struct live_vma *v, const char *perms, const char *path)
{
    if (!path)
        path = "";
    v->flags &=
        ~(BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_EXEC | BPFMM_VMA_SHARED | BPFMM_VMA_ANON |
          BPFMM_VMA_FILE | BPFMM_VMA_SHMEM | BPFMM_VMA_STACK | BPFMM_VMA_HEAP);
    if (perms[0] == 'r')
        v->flags |= BPFMM_VMA_READ;
    if (perms[1] == 'w')
        v->flags |= BPFMM_VMA_WRITE;
    if (perms[2] == 'x')
        v->flags |= BPFMM_VMA_EXEC;
    bool shared = perms[3] == 's';
    if (shared)
        v->flags |= BPFMM_VMA_SHARED;
    v->special = false;

    if (!*path) {
        /* Plain anonymous memory. A shared one would carry a /dev/zero or anon_shmem name. */
        v->flags |= shared ? BPFMM_VMA_SHMEM : BPFMM_VMA_ANON;
        v->name[0] = 0;
        return;
    }
    if (path[0] == '[') {
        set_name(v, path, strlen(path));
        if (!strcmp(path, "[heap]"))
            v->flags |= BPFMM_VMA_ANON | BPFMM_VMA_HEAP;
        else if (!strcmp(path, "[stack]") || starts_with(path, "[stack:"))
            v->flags |= BPFMM_VMA_ANON | BPFMM_VMA_STACK;
        else if (starts_with(path, "[anon_shmem:"))
            v->flags |= BPFMM_VMA_SHMEM;
        else if (starts_with(path, "[anon:"))
            v->flags |= shared ? BPFMM_VMA_SHMEM : BPFMM_VMA_ANON;
        else
            v->special = true; /* [vdso], [vvar], [vvar_vclock], [vsyscall], [uprobes] */
        return;
    }
    /* A file: the ctx sees its base name, without the " (deleted)" the kernel appends. */
    size_t len = strlen(path);
    static const char deleted[] = " (deleted)";
    if (len >= sizeof(deleted) - 1 && !strcmp(path + len - (sizeof(deleted) - 1), deleted))
        len -= sizeof(deleted) - 1;
    const char *base = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/')
            base = path + i + 1;
    set_name(v, base, (size_t)(path + len - base));
    bool dev_zero = len == 9 && !strncmp(path, "/dev/zero", 9);
    if (dev_zero && !shared)
        v->flags |= BPFMM_VMA_ANON; /* a private /dev/zero mapping is anonymous memory */
    else if (dev_zero || starts_with(path, "/memfd:") || starts_with(path, "/SYSV") ||
             starts_with(path, "/dev/shm/"))
        v->flags |= BPFMM_VMA_SHMEM;
    else
        v->flags |= BPFMM_VMA_FILE;
}

int live_vma_parse_line(const char *line, size_t len, struct live_vma *v)
{
    char buf[PATH_MAX + 128];
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, line, len);
    buf[len] = 0;
    unsigned long long start, end, off, ino;
    unsigned maj, min;
    char perms[8];
    int pos = 0;
    if (sscanf(buf, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj, &min, &ino,
               &pos) < 7 ||
        strlen(perms) != 4 || end < start)
        return -EINVAL;
    const char *path = buf + pos;
    v->start = start;
    v->end = end;
    v->offset = off;
    v->dev_major = maj;
    v->dev_minor = min;
    v->inode = ino;
    live_vma_classify(v, perms, path);
    /* The gate VMA lies outside the address space's VMA tree (PROCMAP_QUERY never shows it)
     * and cannot be scanned: leave it out so both readers agree. */
    return !strcmp(path, "[vsyscall]");
}

int live_vma_parse_maps(const char *text, struct live_vma_list *out)
{
    out->nr = 0;
    out->from_query = false;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len) {
            struct live_vma *v = live_vma_list_add(out);
            if (!v)
                return -ENOMEM;
            int r = live_vma_parse_line(line, len, v);
            if (r < 0)
                return r;
            if (r > 0)
                out->nr--;
        }
        line = nl ? nl + 1 : line + len;
    }
    out->layout_hash = live_vma_layout_hash(out);
    return 0;
}

static int read_query(struct live_proc *p, struct live_vma_list *out)
{
    char name[PATH_MAX];
    uint64_t addr = 0;
    out->nr = 0;
    for (;;) {
        struct procmap_query q = {
            .size = sizeof(q),
            .query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
            .query_addr = addr,
            .vma_name_addr = (uintptr_t)name,
            .vma_name_size = sizeof(name),
        };
        int r = live_proc_procmap_query(p, &q);
        if (r == -ENOENT)
            break; /* no VMA at or above addr */
        if (r < 0)
            return r;
        struct live_vma *v = live_vma_list_add(out);
        if (!v)
            return -ENOMEM;
        v->start = q.vma_start;
        v->end = q.vma_end;
        v->offset = q.vma_offset;
        v->inode = q.inode;
        v->dev_major = q.dev_major;
        v->dev_minor = q.dev_minor;
        char perms[5] = {
            q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? 'r' : '-',
            q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? 'w' : '-',
            q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? 'x' : '-',
            q.vma_flags & PROCMAP_QUERY_VMA_SHARED ? 's' : 'p',
            0,
        };
        if (q.vma_name_size == 0)
            name[0] = 0;
        live_vma_classify(v, perms, name);
        if (q.vma_end <= addr)
            return -EPROTO; /* the kernel must move forward; never loop */
        addr = q.vma_end;
    }
    out->from_query = true;
    return 0;
}

/* Shared file mappings on anonymous devices may be tmpfs (shmem) or another pseudo
 * filesystem: ask statfs through map_files, once per device. */
void live_vma_refine_shmem(struct live_proc *p, struct live_vma_list *l)
{
    struct {
        uint32_t maj, min;
        bool tmpfs;
    } seen[16];
    unsigned nseen = 0;
    for (size_t i = 0; i < l->nr; i++) {
        struct live_vma *v = &l->v[i];
        if (!(v->flags & BPFMM_VMA_FILE) || v->dev_major != 0)
            continue;
        int known = -1;
        for (unsigned k = 0; k < nseen; k++)
            if (seen[k].maj == v->dev_major && seen[k].min == v->dev_minor)
                known = seen[k].tmpfs;
        if (known < 0) {
            char path[96];
            uint64_t type = 0;
            snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)p->pid,
                     (unsigned long long)v->start, (unsigned long long)v->end);
            if (p->os->statfs_type(path, &type) < 0)
                continue; /* no CAP_SYS_ADMIN, or it just went away: keep FILE */
            known = type == TMPFS_MAGIC_;
            if (nseen < sizeof(seen) / sizeof(seen[0]))
                seen[nseen++] = (typeof(seen[0])){v->dev_major, v->dev_minor, known};
        }
        if (known) {
            v->flags &= ~BPFMM_VMA_FILE;
            v->flags |= BPFMM_VMA_SHMEM;
        }
    }
}

int live_vma_read(struct live_proc *p, bool use_query, struct live_vma_list *out)
{
    int err = -ENOTTY;
    if (use_query) {
        err = read_query(p, out);
        if (err && err != -ENOTTY)
            return live_proc_fail(p, err, "list its VMAs (PROCMAP_QUERY)");
    }
    if (err) {
        struct live_buf b = {0};
        err = live_proc_read(p, "maps", &b);
        if (!err)
            err = live_vma_parse_maps(b.data, out);
        live_buf_free(&b);
        if (err)
            return live_proc_fail(p, err, "list its VMAs (/proc/PID/maps)");
    }
    live_vma_refine_shmem(p, out);
    out->layout_hash = live_vma_layout_hash(out);
    return 0;
}

struct live_vma *live_vma_find(const struct live_vma_list *l, uint64_t addr)
{
    size_t lo = 0, hi = l->nr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->v[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nr && l->v[lo].start <= addr ? &l->v[lo] : NULL;
}

static uint64_t fnv(uint64_t h, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        h ^= (x >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t live_vma_layout_hash(const struct live_vma_list *l)
{
    const uint64_t mask = BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_EXEC | BPFMM_VMA_SHARED |
                          BPFMM_VMA_ANON | BPFMM_VMA_FILE | BPFMM_VMA_SHMEM;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < l->nr; i++) {
        const struct live_vma *v = &l->v[i];
        h = fnv(h, v->start);
        h = fnv(h, v->end);
        h = fnv(h, v->flags & mask);
        h = fnv(h, v->offset);
        h = fnv(h, v->inode);
    }
    return h;
}

void live_vma_pmd_span(const struct live_vma *v, uint64_t pmd_size, uint64_t *first, uint64_t *last)
{
    uint64_t a = (v->start + pmd_size - 1) & ~(pmd_size - 1);
    uint64_t b = v->end & ~(pmd_size - 1);
    *first = a;
    *last = b > a ? b : a;
}

enum live_vma_elig live_vma_eligibility(const struct live_vma *v, uint64_t pmd_size)
{
    if (v->special ||
        (v->have_smaps && (v->sm.vm & (LIVE_VM_IO | LIVE_VM_PFNMAP | LIVE_VM_MIXEDMAP))))
        return LIVE_ELIG_SPECIAL;
    if (v->have_smaps && (v->sm.vm & LIVE_VM_HUGETLB))
        return LIVE_ELIG_HUGETLB;
    if (v->flags & BPFMM_VMA_NOHUGEPAGE)
        return LIVE_ELIG_NOHUGEPAGE;
    if (v->flags & BPFMM_VMA_SHMEM) {
        if (!(v->flags & BPFMM_VMA_SHARED))
            return LIVE_ELIG_SHMEM_PRIVATE;
        if ((v->start - v->offset) & (pmd_size - 1))
            return LIVE_ELIG_SHMEM_MISALIGNED;
    } else if (!(v->flags & BPFMM_VMA_ANON)) {
        return LIVE_ELIG_FILE;
    }
    if (v->have_smaps && (v->sm.vm & LIVE_VM_UFFD))
        return LIVE_ELIG_UFFD;
    uint64_t a, b;
    live_vma_pmd_span(v, pmd_size, &a, &b);
    return a == b ? LIVE_ELIG_TOO_SMALL : LIVE_ELIG_OK;
}

const char *live_vma_elig_str(enum live_vma_elig e)
{
    switch (e) {
    case LIVE_ELIG_OK:
        return "eligible";
    case LIVE_ELIG_TOO_SMALL:
        return "no whole PMD-aligned block inside";
    case LIVE_ELIG_SPECIAL:
        return "special mapping";
    case LIVE_ELIG_FILE:
        return "file mapping (no file THP collapse)";
    case LIVE_ELIG_SHMEM_MISALIGNED:
        return "shmem with address and offset not PMD-aligned alike";
    case LIVE_ELIG_SHMEM_PRIVATE:
        return "private mapping of a shmem file";
    case LIVE_ELIG_NOHUGEPAGE:
        return "MADV_NOHUGEPAGE";
    case LIVE_ELIG_HUGETLB:
        return "hugetlbfs";
    case LIVE_ELIG_UFFD:
        return "userfaultfd-armed";
    }
    return "?";
}

void live_vma_perms(const struct live_vma *v, char out[5])
{
    out[0] = v->flags & BPFMM_VMA_READ ? 'r' : '-';
    out[1] = v->flags & BPFMM_VMA_WRITE ? 'w' : '-';
    out[2] = v->flags & BPFMM_VMA_EXEC ? 'x' : '-';
    out[3] = v->flags & BPFMM_VMA_SHARED ? 's' : 'p';
    out[4] = 0;
}
