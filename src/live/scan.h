/*
 * The range scanner: for every PMD-sized (2 MiB) block lying fully inside an eligible VMA of a
 * target, the counts of present, swapped, huge (PMD-mapped), zero-page and guard pages - the
 * per-range fields of struct bpfmm_thp_ctx - plus per-VMA totals over the whole VMA.
 *
 * Sources:
 *   - PAGEMAP_SCAN (Linux 6.7; PAGE_IS_GUARD 6.15): one ioctl per VMA returns merged regions
 *     of identical categories, so the output is tiny and the cost is the kernel's page-table
 *     walk (about 14 ms per 4 GiB of 4 KiB pages, 0.2 ms per 4 GiB of THPs). The 6.18 stale
 *     walk_end bug is handled: a call that returns fewer regions than the buffer holds is
 *     complete whatever walk_end says; a full buffer continues from the later of walk_end and
 *     the end of the last region, so no page is ever counted twice.
 *   - Fallback (older kernels, or force_pagemap): read 8 bytes per page of /proc/PID/pagemap.
 *     Present, swapped and guard (bit 58, 6.15) come from the entry. Zero-page and huge counts
 *     need PFNs (CAP_SYS_ADMIN): a zero page is the PFN of the shared zero page (learned from
 *     our own memory); a block is counted huge when its 512 PFNs are contiguous, start
 *     PMD-aligned and /proc/kpageflags says THP for the first (this also counts a PTE-mapped
 *     THP, which PAGEMAP_SCAN does not call huge). Without PFNs, huge and zero are unknown
 *     (reported 0, and the result says so).
 *   - nr_shared: only when asked (opts.shared) - for the present blocks of VMAs whose smaps
 *     Shared_Clean + Shared_Dirty is non-zero (LIVE_SHARED_IF_SMAPS) or of every scanned VMA
 *     (LIVE_SHARED_ALWAYS), read that block's 512 pagemap entries (4 KiB) and count present
 *     pages without the "exclusively mapped" bit (56), minus the block's zero pages (the zero
 *     page is never exclusive). For large folios the kernel's bit means "maybe shared".
 *
 * Reading in proportion to what changed: a scan of a whole process is the unit; the agent
 * avoids it when nothing changed (live_scan_unchanged: same VMA layout hash and the same
 * statm resident count as the previous scan - the cheapest signals Linux offers, ~10 us),
 * rescans only chosen blocks (live_scan_blocks: e.g. the blocks just collapsed, to confirm),
 * and may carry over blocks that were fully huge last time (opts.prev + skip_huge), which only
 * helps the pagemap fallback (PAGEMAP_SCAN passes over a PMD mapping at almost no cost).
 * Soft-dirty, which would give true per-page change tracking, is not available here.
 *
 * Owns: the scanner's buffers, both scan paths, the per-range and per-VMA counts, the ctx
 * filling from a range. Not: which process to scan when (the agent), smaps (smaps.c).
 */
#ifndef BPFMM_LIVE_SCAN_H
#define BPFMM_LIVE_SCAN_H

#include "probe.h"
#include "vma.h"

#include <bpfmm/thp_policy.h>

/* Range flags. */
#define LIVE_RANGE_SHARED_KNOWN (1u << 0) /* nr_shared was computed */
#define LIVE_RANGE_CARRIED      (1u << 1) /* copied from opts.prev (fully huge), not rescanned */
#define LIVE_RANGE_NO_PFN       (1u << 2) /* fallback without PFNs: nr_huge, nr_zero unknown */

/* One PMD-sized block fully inside a VMA that holds at least one present, swapped or guard
 * page: live_scan_process reports no range for an empty block (there is nothing to collapse,
 * and huge sparse reservations would otherwise cost a range per 2 MiB); live_scan_blocks
 * reports every block asked for. */
struct live_range {
    uint64_t start; /* PMD-aligned */
    uint32_t vma;   /* index into the VMA list the scan was given */
    uint32_t flags; /* LIVE_RANGE_* */
    uint32_t nr_present, nr_swapped, nr_huge, nr_zero, nr_guard, nr_shared;
};

enum live_scan_shared {
    LIVE_SHARED_NONE = 0,     /* nr_shared stays 0 (no policy reads it) */
    LIVE_SHARED_IF_SMAPS = 1, /* for VMAs whose smaps shows shared pages (needs smaps merged) */
    LIVE_SHARED_ALWAYS = 2,   /* for every scanned VMA */
};

struct live_scan_opts {
    size_t sz;
    bool all_vmas; /* every non-special VMA, not only collapse-eligible ones */
    enum live_scan_shared shared;
    bool force_pagemap; /* use the pagemap fallback even with PAGEMAP_SCAN */
    /* A previous result for the same process; with skip_huge, blocks it recorded as fully
     * huge are copied (LIVE_RANGE_CARRIED) instead of rescanned, if the layout hash matches. */
    const struct live_scan_result *prev;
    bool skip_huge;
    /* The pagemap fallback reads 8 bytes per page of a VMA, populated or not: VMAs larger than
     * this are skipped there (counted in vmas_skipped). 0: LIVE_SCAN_FALLBACK_MAX_VMA. */
    uint64_t fallback_max_vma;
};
#define LIVE_SCAN_FALLBACK_MAX_VMA (16ull << 30)

struct live_scan_result {
    struct live_range *r; /* ascending start */
    size_t nr, cap;
    uint64_t layout_hash;    /* of the VMA list that was scanned */
    uint64_t resident_pages; /* statm resident at scan time (live_scan_process only) */
    bool huge_known, zero_known, guard_known; /* false: those counts are 0 for lack of data */
    bool used_pagemap_scan;
    /* Cost of this scan. */
    uint64_t ioctls, preads, pagemap_bytes, vmas_scanned, vmas_skipped, pages_spanned;
    uint64_t ranges_carried;
};

struct live_scanner;

/* pmd_size: f->hpage_pmd_size or 2 MiB. The scanner owns its buffers; one per thread. NULL and
 * errno on failure. */
struct live_scanner *live_scanner_new(const struct live_os *os, const struct live_features *f);
void live_scanner_free(struct live_scanner *sc);
uint64_t live_scanner_pmd_size(const struct live_scanner *sc);

void live_scan_result_free(struct live_scan_result *res);

/* Scans every eligible VMA of vmas (live_vma_eligibility == OK, or every non-special one with
 * all_vmas), filling res (replaced) and each scanned VMA's ->scan totals and GUARD flag.
 * Returns 0; -ESTALE if the target exec'd during the scan (re-read its VMAs and rescan);
 * -ESRCH/-EACCES/... per process (message in p). */
int live_scan_process(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                      const struct live_scan_opts *opts, struct live_scan_result *res);

/* Rescans only the given PMD-aligned blocks (ascending), each of which must lie fully inside
 * one VMA of vmas (others are skipped). The VMAs' ->scan totals are left alone. */
int live_scan_blocks(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                     const uint64_t *starts, size_t n, const struct live_scan_opts *opts,
                     struct live_scan_result *res);

/* True if a whole-process rescan is likely to find nothing new: the VMA layout hash and the
 * statm resident count equal those of prev. Costs one statm read (and the caller's VMA read). */
bool live_scan_unchanged(struct live_proc *p, const struct live_vma_list *vmas,
                         const struct live_scan_result *prev);

/* Fills the VMA, process and range fields of a policy ctx (keeps size, abi_version, type,
 * flags, orders and now_ns, which bpfmm_policy_ctx_init sets). r may be NULL (no range).
 * vma_resident comes from the VMA's scan totals when it was scanned, else from smaps;
 * vma_referenced from smaps (0 without). */
void live_ctx_fill(struct bpfmm_thp_ctx *ctx, const struct live_proc *p, const struct live_vma *v,
                   const struct live_range *r, const struct live_scanner *sc);

#endif
