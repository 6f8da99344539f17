/*
 * Decide (issue 4, part 4): for every scanned 2 MiB range that is not yet huge, run the
 * process's policy with a full ctx (live_ctx_fill) and keep the ranges whose PMD order it
 * allows as collapse candidates, ordered hot VMAs first. The ctx's candidate orders are the
 * PMD order alone: MADV_COLLAPSE only collapses PMD-sized ranges (no mTHP collapse in 6.18),
 * so a policy can only keep or remove it.
 *
 * Rules kept here whatever the policy says:
 *   - a range holding a guard marker is never a candidate (one such range makes
 *     MADV_COLLAPSE fail with EINVAL and abort the rest of the call);
 *   - a range marked INELIGIBLE (an earlier EINVAL in the same VMA) is not asked about;
 *   - a range backing off (EAGAIN/EBUSY) stays a candidate, not before its time.
 * All limits on what a collapse may cost (max_ptes_none/swap/shared) are the policy's:
 * mainline MADV_COLLAPSE ignores them.
 *
 * Owns: the decision per range and the candidate list. Not: scanning, marks (act_marks.h),
 * submitting (act.h), when to decide (the agent).
 */
#ifndef BPFMM_LIVE_DECIDE_H
#define BPFMM_LIVE_DECIDE_H

#include "act_marks.h"
#include "scan.h"

#include <bpfmm/policy.h>

enum live_decision {
    LIVE_DEC_COLLAPSE = 0, /* the policy allows the PMD order: a candidate */
    LIVE_DEC_REFUSED,      /* the policy refused the PMD order */
    LIVE_DEC_HUGE,         /* already PMD-mapped: nothing to do */
    LIVE_DEC_GUARD,        /* holds guard markers: never submitted */
    LIVE_DEC_INELIGIBLE,   /* marked after EINVAL until its VMA changes */
    LIVE_DEC_BACKOFF,      /* allowed, but backing off after EAGAIN/EBUSY: a later candidate */
    LIVE_DEC_DEFERRED,     /* the policy reads smaps data this VMA does not have yet */
    LIVE_DEC_NR
};
const char *live_decision_str(enum live_decision d); /* "collapse", "refused"... */

#define LIVE_CAND_SOLO (1u << 0) /* submit in an iovec of its own */
#define LIVE_CAND_DONE (1u << 1) /* collapsed or dropped: skip */

struct live_cand {
    uint64_t start;      /* PMD-aligned */
    uint64_t prio;       /* higher first: the VMA's smaps Referenced bytes */
    uint64_t not_before; /* OS-clock ns; 0: now */
    uint32_t vma;        /* index into the VMA list decided on */
    uint32_t flags;      /* LIVE_CAND_* */
};

struct live_cand_list {
    struct live_cand *c; /* prio descending, then start ascending */
    size_t nr, cap;
    size_t first; /* entries before it are all DONE */
};
void live_cand_list_free(struct live_cand_list *l);
/* Pending (not DONE) entries. */
size_t live_cand_pending(const struct live_cand_list *l);
/* The entry for start (binary search is not possible across priorities: linear), or NULL. */
struct live_cand *live_cand_find(struct live_cand_list *l, uint64_t start);

struct live_decide_in {
    struct live_scanner *sc;
    uint32_t page_size; /* 0: 4096 */
    const struct live_proc *p;
    const struct live_vma_list *vmas;
    const struct live_scan_result *res;
    bpfmm_policy_t *policy;
    enum bpfmm_thp_type type;       /* KHUGEPAGED (the agent) or FORCED_COLLAPSE (bpfmm collapse) */
    uint64_t now_ns;                /* the ctx's now_ns and the backoff reference */
    const struct live_marks *marks; /* range marks, or NULL */
    const struct live_marks *vma_marks; /* VMA marks (keyed by VMA start), or NULL */
    uint64_t lo, hi;                    /* only ranges in [lo, hi); hi 0: all */
    /* Defer ranges of VMAs without smaps data (the policy reads nr_shared or
     * vma_referenced, which come from smaps). */
    bool defer_without_smaps;
};

struct live_decide_stats {
    uint64_t ranges;    /* ranges looked at */
    uint64_t decisions; /* policy calls */
    uint64_t by[LIVE_DEC_NR];
};

/* Called for every range looked at, in address order (bpfmm collapse prints them). orders is
 * the policy's answer (0 when it was not asked). */
typedef void (*live_decide_fn)(void *arg, const struct live_range *r, const struct live_vma *v,
                               enum live_decision d, uint64_t orders);

/* Replaces out with the candidates. Returns 0 or -ENOMEM. */
int live_decide(const struct live_decide_in *in, struct live_cand_list *out,
                struct live_decide_stats *st, live_decide_fn fn, void *arg);

#endif
