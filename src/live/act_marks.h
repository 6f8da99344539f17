/*
 * Marks the agent keeps on 2 MiB ranges (and whole VMAs) after a failed collapse, so that a
 * failure is not retried in a storm:
 *   INELIGIBLE  (EINVAL) never retried until the VMA it lies in changes (start, end, flags);
 *   BACKOFF     (EAGAIN, EBUSY, ...) not retried before until_ns, doubling per attempt;
 *   SOLO        submitted in an iovec of its own: it failed inside a coalesced iovec, whose
 *               error cannot be pinned on one block.
 * A set is a sorted array keyed by the range's (or VMA's) start. Owns only the bookkeeping;
 * which errno gives which mark is agent_act.c's.
 */
#ifndef BPFMM_LIVE_ACT_MARKS_H
#define BPFMM_LIVE_ACT_MARKS_H

#include "vma.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_MARK_INELIGIBLE (1u << 0)
#define LIVE_MARK_BACKOFF    (1u << 1)
#define LIVE_MARK_SOLO       (1u << 2)

struct live_mark {
    uint64_t start;              /* PMD-aligned range, or a VMA's start */
    uint64_t vma_start, vma_end; /* the VMA it was set in */
    uint64_t vma_flags;          /* its layout flags, and hg/nh when smaps was known */
    bool vma_smaps;              /* vma_flags includes hg/nh */
    uint64_t until_ns;           /* BACKOFF: not before */
    uint32_t flags;              /* LIVE_MARK_* */
    uint16_t attempts;           /* consecutive failures */
    int16_t err;                 /* the last errno (negative), 0 if unknown */
};

struct live_marks {
    struct live_mark *m; /* ascending start */
    size_t nr, cap;
};

void live_marks_free(struct live_marks *ms);
struct live_mark *live_marks_find(const struct live_marks *ms, uint64_t start);
/* The mark at start, created (zeroed, identity from v) if missing; NULL on ENOMEM. */
struct live_mark *live_marks_get(struct live_marks *ms, uint64_t start, const struct live_vma *v);
void live_marks_del(struct live_marks *ms, uint64_t start);
/* True if v is still the VMA the mark was set in. */
bool live_mark_same_vma(const struct live_mark *m, const struct live_vma *v);
/* Drops the marks whose VMA changed or went away (the VMA covering `key(m)`: the range start
 * for range marks, vma_start for VMA marks). Returns how many were dropped. */
size_t live_marks_prune(struct live_marks *ms, const struct live_vma_list *vmas);
/* Marks that still hold at now (INELIGIBLE, or BACKOFF not yet over). */
size_t live_marks_active(const struct live_marks *ms, uint64_t now);

#endif
