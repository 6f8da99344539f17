/*
 * The range scanner (see scan.h for what it counts, from where, and the 6.18 walk_end
 * workaround). A scan is a list of spans, each inside one VMA; a span's pages are counted
 * into the PMD blocks it overlaps and into its VMA's totals. The PAGEMAP_SCAN path and the
 * pagemap fallback both feed the same accounting.
 */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_VEC_LEN 1024  /* regions per PAGEMAP_SCAN call (24 KiB) */
#define SCAN_PM_LEN  32768 /* pagemap entries per pread (256 KiB, 128 MiB of address space) */

struct live_scanner {
    const struct live_os *os;
    uint64_t page_size, pmd_size;
    uint32_t pmd_pages;
    unsigned pmd_order;
    bool has_scan, has_guard, has_pfn;
    bool zero_pfn_known;
    uint64_t zero_pfn;
    int kpageflags_fd; /* -1 until needed; -2 when it cannot be opened */
    struct page_region *vec;
    uint64_t *pm;
};

/* Where the pages of one span go. Ranges are the PMD blocks in [lo, hi). Dense: all of them
 * were created beforehand at res->r[base...] (live_scan_blocks). Sparse: a block's range is
 * appended when its first page is counted, so empty blocks of huge sparse VMAs cost nothing
 * (pages arrive in ascending order, so appending keeps the order). */
struct span_dst {
    struct live_scan_result *res;
    uint64_t lo, hi;
    bool dense;
    size_t base;
    uint32_t vma;
    struct live_vma_scan *tot; /* the VMA's totals, or NULL */
    int err;                   /* -ENOMEM from a sparse append */
};

/* --- scanner ------------------------------------------------------------------------------- */

static void learn_zero_pfn(struct live_scanner *sc)
{
    const struct live_os *os = sc->os;
    volatile char *p = os->mmap_anon(sc->page_size);
    if (!p)
        return;
    (void)p[0]; /* a read fault on private anonymous memory maps the shared zero page */
    int fd = os->open("/proc/self/pagemap", O_RDONLY);
    if (fd >= 0) {
        uint64_t ent = 0;
        off_t off = (off_t)((uintptr_t)p / sc->page_size * 8);
        if (os->pread(fd, &ent, sizeof(ent), off) == sizeof(ent) && (ent & PM_ENTRY_PRESENT) &&
            (ent & PM_ENTRY_PFN_MASK)) {
            sc->zero_pfn = ent & PM_ENTRY_PFN_MASK;
            sc->zero_pfn_known = true;
        }
        os->close(fd);
    }
    os->munmap((void *)p, sc->page_size);
}

struct live_scanner *live_scanner_new(const struct live_os *os, const struct live_features *f)
{
    struct live_scanner *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return NULL;
    sc->os = os;
    sc->page_size = f->page_size ? f->page_size : 4096;
    sc->pmd_size = f->hpage_pmd_size ? f->hpage_pmd_size : 2ull << 20;
    sc->pmd_pages = (uint32_t)(sc->pmd_size / sc->page_size);
    while ((1u << sc->pmd_order) < sc->pmd_pages)
        sc->pmd_order++;
    sc->has_scan = f->pagemap_scan;
    sc->has_guard = f->pagemap_scan_guard;
    sc->has_pfn = f->pagemap_pfn;
    sc->kpageflags_fd = -1;
    sc->vec = calloc(SCAN_VEC_LEN, sizeof(*sc->vec));
    sc->pm = calloc(SCAN_PM_LEN, sizeof(*sc->pm));
    if (!sc->vec || !sc->pm) {
        live_scanner_free(sc);
        errno = ENOMEM;
        return NULL;
    }
    if (sc->has_pfn)
        learn_zero_pfn(sc);
    return sc;
}

void live_scanner_free(struct live_scanner *sc)
{
    if (!sc)
        return;
    if (sc->kpageflags_fd >= 0)
        sc->os->close(sc->kpageflags_fd);
    free(sc->vec);
    free(sc->pm);
    free(sc);
}

uint64_t live_scanner_pmd_size(const struct live_scanner *sc)
{
    return sc->pmd_size;
}

void live_scan_result_free(struct live_scan_result *res)
{
    free(res->r);
    memset(res, 0, sizeof(*res));
}

static struct live_range *add_range(struct live_scan_result *res, uint64_t start, uint32_t vma)
{
    if (res->nr == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 256;
        struct live_range *r = realloc(res->r, cap * sizeof(*r));
        if (!r)
            return NULL;
        res->r = r;
        res->cap = cap;
    }
    struct live_range *r = &res->r[res->nr++];
    memset(r, 0, sizeof(*r));
    r->start = start;
    r->vma = vma;
    return r;
}

/* --- accounting ---------------------------------------------------------------------------- */

static void add_cat(struct live_range *r, uint64_t cat, uint32_t n)
{
    if (cat & PAGE_IS_PRESENT)
        r->nr_present += n;
    if (cat & PAGE_IS_SWAPPED)
        r->nr_swapped += n;
    if (cat & PAGE_IS_HUGE)
        r->nr_huge += n;
    if (cat & PAGE_IS_PFNZERO)
        r->nr_zero += n;
    if (cat & PAGE_IS_GUARD)
        r->nr_guard += n;
}

/* The range of the block at `block` (NULL if it has none and create is false, or on ENOMEM). */
static struct live_range *range_for(const struct live_scanner *sc, struct span_dst *d,
                                    uint64_t block, bool create)
{
    struct live_scan_result *res = d->res;
    if (d->dense)
        return &res->r[d->base + (block - d->lo) / sc->pmd_size];
    if (res->nr > d->base && res->r[res->nr - 1].start == block)
        return &res->r[res->nr - 1];
    if (!create)
        return NULL;
    struct live_range *r = add_range(res, block, d->vma);
    if (!r)
        d->err = -ENOMEM;
    return r;
}

/* Counts pages [s, e) of categories cat into the blocks they overlap and the VMA totals. */
static void account(const struct live_scanner *sc, struct span_dst *d, uint64_t s, uint64_t e,
                    uint64_t cat)
{
    if (e <= s || !cat)
        return;
    /* A guard marker is a non-present swap-type entry: Linux reports it as SWAPPED too. It
     * holds no data, so count it as a guard only. */
    if (cat & PAGE_IS_GUARD)
        cat &= ~(uint64_t)PAGE_IS_SWAPPED;
    if (d->tot) {
        uint64_t n = (e - s) / sc->page_size;
        if (cat & PAGE_IS_PRESENT)
            d->tot->present += n;
        if (cat & PAGE_IS_SWAPPED)
            d->tot->swapped += n;
        if (cat & PAGE_IS_HUGE)
            d->tot->huge += n;
        if (cat & PAGE_IS_PFNZERO)
            d->tot->zero += n;
        if (cat & PAGE_IS_GUARD)
            d->tot->guard += n;
    }
    if (s < d->lo)
        s = d->lo;
    if (e > d->hi)
        e = d->hi;
    while (s < e) {
        uint64_t block = s & ~(sc->pmd_size - 1);
        uint64_t stop = e < block + sc->pmd_size ? e : block + sc->pmd_size;
        struct live_range *r = range_for(sc, d, block, true);
        if (!r)
            return;
        add_cat(r, cat, (uint32_t)((stop - s) / sc->page_size));
        s = stop;
    }
}

/* --- PAGEMAP_SCAN path --------------------------------------------------------------------- */

static int span_pagemap_scan(struct live_scanner *sc, struct live_proc *p, struct span_dst *d,
                             uint64_t a, uint64_t b, struct live_scan_result *res)
{
    uint64_t cats = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | (sc->has_guard ? PAGE_IS_GUARD : 0);
    uint64_t cur = a;
    while (cur < b) {
        struct pm_scan_arg arg = {
            .size = sizeof(arg),
            .start = cur,
            .end = b,
            .vec = (uintptr_t)sc->vec,
            .vec_len = SCAN_VEC_LEN,
            .category_anyof_mask = cats,
            .return_mask = cats | PAGE_IS_HUGE | PAGE_IS_PFNZERO,
        };
        int n = live_proc_pagemap_scan(p, &arg);
        res->ioctls++;
        if (n < 0)
            return n;
        if (n > SCAN_VEC_LEN)
            return live_proc_fail(p, -EPROTO, "scan its page tables (more regions than asked)");
        for (int i = 0; i < n; i++) {
            const struct page_region *r = &sc->vec[i];
            if (r->start < cur || r->end > b || r->end < r->start)
                return live_proc_fail(p, -EPROTO, "scan its page tables (region out of range)");
            account(sc, d, r->start, r->end, r->categories);
        }
        if (d->err)
            return d->err;
        /* Linux 6.18: when the kernel's internal 512-region buffer overflowed, walk_end can be
         * stale (behind regions already returned). A call that did not fill our buffer walked
         * to the end (max_pages is unused); a full one continues after both walk_end and the
         * last region returned, so nothing is counted twice. */
        if (n < SCAN_VEC_LEN)
            break;
        uint64_t next = arg.walk_end > sc->vec[n - 1].end ? arg.walk_end : sc->vec[n - 1].end;
        if (next <= cur)
            return live_proc_fail(p, -EPROTO, "scan its page tables (no progress)");
        cur = next;
    }
    return 0;
}

/* --- pagemap fallback ---------------------------------------------------------------------- */

static bool kpage_is_thp(struct live_scanner *sc, uint64_t pfn)
{
    if (sc->kpageflags_fd == -1) {
        int fd = sc->os->open("/proc/kpageflags", O_RDONLY);
        sc->kpageflags_fd = fd >= 0 ? fd : -2;
    }
    if (sc->kpageflags_fd < 0)
        return false;
    uint64_t flags = 0;
    if (sc->os->pread(sc->kpageflags_fd, &flags, sizeof(flags), (off_t)(pfn * 8)) != sizeof(flags))
        return false;
    return flags & (1ull << KPF_BIT_THP);
}

/* Per-block state while streaming entries. */
struct blk_state {
    uint64_t first_pfn;
    bool contig;
    uint32_t nonexcl; /* present entries without the exclusive bit */
    uint32_t zero;    /* entries identified as the zero page */
};

static int span_pagemap_read(struct live_scanner *sc, struct live_proc *p, struct span_dst *d,
                             uint64_t a, uint64_t b, bool want_shared, struct live_scan_result *res)
{
    struct blk_state bs = {0};
    uint64_t addr = a;
    while (addr < b) {
        size_t want = (size_t)((b - addr) / sc->page_size);
        if (want > SCAN_PM_LEN)
            want = SCAN_PM_LEN;
        ssize_t r = live_proc_pagemap_pread(p, sc->pm, want * 8, (off_t)(addr / sc->page_size * 8));
        res->preads++;
        if (r < 0)
            return (int)r;
        if (r == 0 || r % 8)
            return live_proc_fail(p, -EIO, "read its pagemap (short read)");
        res->pagemap_bytes += (uint64_t)r;
        size_t n = (size_t)r / 8;
        uint64_t run_start = addr, run_cat = 0;
        for (size_t i = 0; i < n; i++, addr += sc->page_size) {
            uint64_t e = sc->pm[i], pfn = e & PM_ENTRY_PFN_MASK, cat = 0;
            bool present = e & PM_ENTRY_PRESENT;
            if (present)
                cat |= PAGE_IS_PRESENT;
            if (e & PM_ENTRY_SWAPPED)
                cat |= PAGE_IS_SWAPPED;
            if (e & PM_ENTRY_GUARD)
                cat |= PAGE_IS_GUARD;
            if (present && sc->zero_pfn_known && pfn == sc->zero_pfn)
                cat |= PAGE_IS_PFNZERO;
            bool in_blocks = addr >= d->lo && addr < d->hi;
            /* Runs of equal entries are counted at once; they also end at block starts, so a
             * block's counts are complete when its last entry has been seen. */
            if (cat != run_cat || (in_blocks && !(addr & (sc->pmd_size - 1)))) {
                account(sc, d, run_start, addr, run_cat);
                run_start = addr;
                run_cat = cat;
            }
            if (!in_blocks)
                continue;
            /* Huge detection and shared counting work per block. */
            uint64_t off = (addr & (sc->pmd_size - 1)) / sc->page_size;
            if (off == 0) {
                bs.first_pfn = pfn;
                bs.contig = present && sc->has_pfn && pfn && pfn % sc->pmd_pages == 0;
                bs.nonexcl = bs.zero = 0;
            } else if (bs.contig && (!present || pfn != bs.first_pfn + off)) {
                bs.contig = false;
            }
            if (present && !(e & PM_ENTRY_EXCLUSIVE))
                bs.nonexcl++;
            if (cat & PAGE_IS_PFNZERO)
                bs.zero++;
            if (off != sc->pmd_pages - 1)
                continue;
            account(sc, d, run_start, addr + sc->page_size, run_cat);
            run_start = addr + sc->page_size;
            uint64_t block = addr & ~(sc->pmd_size - 1);
            struct live_range *rg = range_for(sc, d, block, false);
            if (!rg)
                continue; /* nothing in this block */
            if (bs.contig && kpage_is_thp(sc, bs.first_pfn)) {
                rg->nr_huge = sc->pmd_pages;
                if (d->tot)
                    d->tot->huge += sc->pmd_pages;
            }
            if (!sc->has_pfn)
                rg->flags |= LIVE_RANGE_NO_PFN;
            if (want_shared) {
                /* Zero pages are never exclusive; subtract those we could identify. */
                rg->nr_shared = bs.nonexcl > bs.zero ? bs.nonexcl - bs.zero : 0;
                rg->flags |= LIVE_RANGE_SHARED_KNOWN;
            }
        }
        account(sc, d, run_start, addr, run_cat);
        if (d->err)
            return d->err;
    }
    return 0;
}

/* nr_shared for the PAGEMAP_SCAN path: one 4 KiB pagemap read per present block (8 bytes
 * for a PMD-mapped one). */
static int count_shared(struct live_scanner *sc, struct live_proc *p, struct live_range *rg,
                        struct live_scan_result *res)
{
    if (!rg->nr_present) {
        rg->flags |= LIVE_RANGE_SHARED_KNOWN;
        return 0;
    }
    /* A PMD-mapped block is one folio: one entry tells for all of them. */
    uint32_t entries = rg->nr_huge == sc->pmd_pages ? 1 : sc->pmd_pages;
    size_t bytes = (size_t)entries * 8;
    ssize_t r = live_proc_pagemap_pread(p, sc->pm, bytes, (off_t)(rg->start / sc->page_size * 8));
    res->preads++;
    if (r < 0)
        return (int)r;
    if ((size_t)r != bytes)
        return live_proc_fail(p, -EIO, "read its pagemap (short read)");
    res->pagemap_bytes += bytes;
    uint32_t nonexcl = 0;
    for (uint32_t i = 0; i < entries; i++)
        nonexcl += (sc->pm[i] & PM_ENTRY_PRESENT) && !(sc->pm[i] & PM_ENTRY_EXCLUSIVE);
    if (entries == 1)
        nonexcl *= sc->pmd_pages;
    rg->nr_shared = nonexcl > rg->nr_zero ? nonexcl - rg->nr_zero : 0;
    rg->flags |= LIVE_RANGE_SHARED_KNOWN;
    return 0;
}

/* --- driving a scan ------------------------------------------------------------------------ */

static bool use_scan(const struct live_scanner *sc, const struct live_scan_opts *o)
{
    return sc->has_scan && !(o && o->force_pagemap);
}

static bool want_shared_for(const struct live_scan_opts *o, const struct live_vma *v)
{
    if (!o || o->shared == LIVE_SHARED_NONE)
        return false;
    if (o->shared == LIVE_SHARED_ALWAYS)
        return true;
    return v->have_smaps && v->sm.shared > 0;
}

static int scan_span(struct live_scanner *sc, struct live_proc *p, struct span_dst *d, uint64_t a,
                     uint64_t b, const struct live_scan_opts *o, bool want_shared,
                     struct live_scan_result *res)
{
    if (b <= a)
        return 0;
    res->pages_spanned += (b - a) / sc->page_size;
    if (use_scan(sc, o))
        return span_pagemap_scan(sc, p, d, a, b, res);
    return span_pagemap_read(sc, p, d, a, b, want_shared, res);
}

static void result_init(struct live_scanner *sc, const struct live_scan_opts *o,
                        const struct live_vma_list *vmas, struct live_scan_result *res)
{
    struct live_range *keep = res->r;
    size_t cap = res->cap;
    memset(res, 0, sizeof(*res));
    res->r = keep;
    res->cap = cap;
    res->layout_hash = vmas->layout_hash;
    res->used_pagemap_scan = use_scan(sc, o);
    res->guard_known = res->used_pagemap_scan ? sc->has_guard : true; /* bit 58 reads 0 before */
    res->huge_known = res->used_pagemap_scan || sc->has_pfn;
    res->zero_known = res->used_pagemap_scan || sc->zero_pfn_known;
}

/* The first range of prev at or after start. */
static size_t prev_index(const struct live_scan_result *prev, uint64_t start)
{
    size_t lo = 0, hi = prev->nr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (prev->r[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int scan_vma(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                    size_t vi, const struct live_scan_opts *o, struct live_scan_result *res)
{
    struct live_vma *v = &vmas->v[vi];
    uint64_t first, last;
    live_vma_pmd_span(v, sc->pmd_size, &first, &last);
    memset(&v->scan, 0, sizeof(v->scan));
    struct span_dst d = {
        .res = res,
        .lo = first,
        .hi = last,
        .base = res->nr,
        .vma = (uint32_t)vi,
        .tot = &v->scan,
    };
    bool shared = want_shared_for(o, v);
    bool carry = o && o->prev && o->skip_huge && o->prev->layout_hash == vmas->layout_hash;
    uint64_t cur = v->start;
    for (size_t k = carry ? prev_index(o->prev, first) : 0;
         carry && k < o->prev->nr && o->prev->r[k].start < last; k++) {
        const struct live_range *pr = &o->prev->r[k];
        if (pr->nr_huge != sc->pmd_pages)
            continue;
        int err = scan_span(sc, p, &d, cur, pr->start, o, shared, res);
        if (err)
            return err;
        struct live_range *rg = add_range(res, pr->start, (uint32_t)vi);
        if (!rg)
            return -ENOMEM;
        *rg = *pr;
        rg->vma = (uint32_t)vi;
        rg->flags |= LIVE_RANGE_CARRIED;
        v->scan.present += rg->nr_present;
        v->scan.swapped += rg->nr_swapped;
        v->scan.huge += rg->nr_huge;
        v->scan.zero += rg->nr_zero;
        v->scan.guard += rg->nr_guard;
        res->ranges_carried++;
        cur = pr->start + sc->pmd_size;
    }
    int err = scan_span(sc, p, &d, cur, v->end, o, shared, res);
    if (err)
        return err;
    if (shared && use_scan(sc, o))
        for (size_t k = d.base; k < res->nr; k++)
            if (!(res->r[k].flags & (LIVE_RANGE_CARRIED | LIVE_RANGE_SHARED_KNOWN)) &&
                (err = count_shared(sc, p, &res->r[k], res)))
                return err;
    v->scan.scanned_ns = sc->os->now_ns();
    if (v->scan.guard)
        v->flags |= BPFMM_VMA_GUARD;
    res->vmas_scanned++;
    return 0;
}

static bool scannable(const struct live_vma *v, const struct live_scan_opts *o, uint64_t pmd)
{
    if (o && o->all_vmas)
        return !v->special;
    return live_vma_eligibility(v, pmd) == LIVE_ELIG_OK;
}

int live_scan_process(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                      const struct live_scan_opts *opts, struct live_scan_result *res)
{
    result_init(sc, opts, vmas, res);
    unsigned gen = p->image_gen;
    struct live_statm st;
    if (live_proc_statm(p, &st) == 0)
        res->resident_pages = st.resident;
    uint64_t cap = opts && opts->sz > offsetof(struct live_scan_opts, fallback_max_vma) &&
                           opts->fallback_max_vma
                       ? opts->fallback_max_vma
                       : LIVE_SCAN_FALLBACK_MAX_VMA;
    for (size_t i = 0; i < vmas->nr; i++) {
        const struct live_vma *v = &vmas->v[i];
        if (!scannable(v, opts, sc->pmd_size))
            continue;
        if (!use_scan(sc, opts) && v->end - v->start > cap) {
            res->vmas_skipped++; /* 8 bytes of pagemap per page: too costly for sparse VMAs */
            continue;
        }
        int err = scan_vma(sc, p, vmas, i, opts, res);
        if (err)
            return err;
        if (p->image_gen != gen)
            break;
    }
    if (p->image_gen != gen)
        return live_proc_fail(p, -ESTALE, "scan it (it exec'd during the scan; rescan)");
    return 0;
}

int live_scan_blocks(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                     const uint64_t *starts, size_t n, const struct live_scan_opts *opts,
                     struct live_scan_result *res)
{
    result_init(sc, opts, vmas, res);
    unsigned gen = p->image_gen;
    size_t i = 0;
    while (i < n) {
        struct live_vma *v = live_vma_find(vmas, starts[i]);
        uint64_t first = 0, last = 0;
        if (v)
            live_vma_pmd_span(v, sc->pmd_size, &first, &last);
        if (!v || starts[i] & (sc->pmd_size - 1) || starts[i] < first || starts[i] >= last ||
            (i && starts[i] <= starts[i - 1])) {
            i++; /* not a whole block of a VMA, or out of order: skipped */
            continue;
        }
        /* A run of consecutive blocks in the same VMA is one span. */
        size_t j = i + 1;
        while (j < n && starts[j] == starts[j - 1] + sc->pmd_size && starts[j] < last)
            j++;
        uint32_t vi = (uint32_t)(v - vmas->v);
        size_t base = res->nr;
        for (size_t k = i; k < j; k++)
            if (!add_range(res, starts[k], vi))
                return -ENOMEM;
        struct span_dst d = {.res = res,
                             .lo = starts[i],
                             .hi = starts[j - 1] + sc->pmd_size,
                             .dense = true,
                             .base = base,
                             .vma = vi};
        bool shared = want_shared_for(opts, v);
        int err = scan_span(sc, p, &d, d.lo, d.hi, opts, shared, res);
        for (size_t k = base; !err && shared && use_scan(sc, opts) && k < res->nr; k++)
            err = count_shared(sc, p, &res->r[k], res);
        if (err)
            return err;
        i = j;
    }
    if (p->image_gen != gen)
        return live_proc_fail(p, -ESTALE, "scan it (it exec'd during the scan; rescan)");
    return 0;
}

bool live_scan_unchanged(struct live_proc *p, const struct live_vma_list *vmas,
                         const struct live_scan_result *prev)
{
    struct live_statm st;
    if (!prev || prev->layout_hash != vmas->layout_hash || live_proc_statm(p, &st))
        return false;
    return st.resident == prev->resident_pages;
}

void live_ctx_fill(struct bpfmm_thp_ctx *ctx, const struct live_proc *p, const struct live_vma *v,
                   const struct live_range *r, const struct live_scanner *sc)
{
    ctx->address = r ? r->start : v->start;
    ctx->vma_start = v->start;
    ctx->vma_end = v->end;
    ctx->vma_flags = v->flags;
    ctx->pid = ctx->tgid = (__u32)p->pid;
    memcpy(ctx->comm, p->comm, sizeof(ctx->comm));
    memcpy(ctx->name, v->name, sizeof(ctx->name));
    ctx->range_start = r ? r->start : 0;
    ctx->range_pages = r ? sc->pmd_pages : 0;
    ctx->nr_present = r ? r->nr_present : 0;
    ctx->nr_swapped = r ? r->nr_swapped : 0;
    ctx->nr_huge = r ? r->nr_huge : 0;
    ctx->nr_zero = r ? r->nr_zero : 0;
    ctx->nr_guard = r ? r->nr_guard : 0;
    ctx->nr_shared = r ? r->nr_shared : 0;
    ctx->pmd_order = sc->pmd_order;
    if (v->scan.scanned_ns)
        ctx->vma_resident = (v->scan.present - v->scan.zero) * sc->page_size;
    else
        ctx->vma_resident = v->have_smaps ? v->sm.rss : 0;
    ctx->vma_referenced = v->have_smaps ? v->sm.referenced : 0;
}
