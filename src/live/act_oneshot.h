/*
 * One-shot collapse (issue 4, part 6; `bpfmm collapse`): a user asks to collapse a process's
 * memory now. The policy is still consulted, with type FORCED_COLLAPSE and a full ctx (smaps
 * is read: cost does not matter for one request); allowed ranges are collapsed with the same
 * batches as the agent (act.h), a failed coalesced iovec is rescanned and its remaining
 * blocks retried one by one so that every range gets its own result with the kernel's errno;
 * EAGAIN is retried a few times with a short backoff. No budget: the user asked.
 *
 * Owns: the one-shot procedure and its per-range results. Not: output formatting (the CLI).
 */
#ifndef BPFMM_LIVE_ACT_ONESHOT_H
#define BPFMM_LIVE_ACT_ONESHOT_H

#include "act.h"
#include "agent.h"
#include "decide.h"

#include <bpfmm/policy.h>

enum live_oneshot_decision {
    LIVE_ONESHOT_ALLOW = 0,  /* the policy allows the PMD order */
    LIVE_ONESHOT_REFUSE,     /* the policy refused it */
    LIVE_ONESHOT_HUGE,       /* already PMD-mapped (not asked) */
    LIVE_ONESHOT_GUARD,      /* holds guard markers: never submitted (not asked) */
    LIVE_ONESHOT_INELIGIBLE, /* its VMA cannot be collapsed (reason in `why`; not asked) */
};
const char *live_oneshot_decision_str(enum live_oneshot_decision d); /* "allow"... */

struct live_oneshot_range {
    uint64_t start, end;
    struct live_range counts; /* present, swapped, huge, zero, guard, shared */
    enum live_oneshot_decision decision;
    const char *why; /* INELIGIBLE: live_vma_elig_str(); else NULL */
    bool attempted;  /* submitted to process_madvise */
    bool alone;      /* failed inside a coalesced iovec: retried in an iovec of its own */
    bool collapsed;  /* PMD-mapped afterwards (by the call's byte count or a rescan) */
    int err;         /* the kernel's errno for this range (negative), 0 if none */
    unsigned tries;  /* calls that included it */
};

struct live_oneshot_opts {
    size_t sz;
    const struct live_os *os;             /* NULL: live_os_linux */
    const struct live_features *features; /* NULL: live_probe_cached(os) */
    pid_t pid;
    uint64_t lo, hi;    /* only ranges in [lo, hi); hi 0: the whole process */
    const char *policy; /* shipped name or path; NULL: "default" */
    const char *const *rodata;
    unsigned nr_rodata;
    uint32_t batch_blocks; /* 0: 64 (128 MiB per call) */
    unsigned eagain_tries; /* 0: 4 attempts in all, 10/50/250 ms apart */
};

struct live_oneshot_result {
    pid_t pid;
    char comm[16];
    char policy[64];
    bool reads_shared;            /* the policy reads nr_shared (counts.nr_shared is what it saw) */
    struct live_oneshot_range *r; /* ascending start; owned, free with live_oneshot_free */
    size_t nr;
    /* summary */
    uint64_t allowed, refused, huge, guard, ineligible;
    uint64_t collapsed, failed;             /* of the allowed ones */
    uint64_t failed_by[LIVE_AGENT_NR_ERRS]; /* by live_agent_err_of() */
    uint64_t bytes_collapsed, calls, wall_ns;
    bool aborted; /* the process went away or refused us part-way */
    char abort_msg[256];
};
void live_oneshot_free(struct live_oneshot_result *res);

/* Returns 0 when the request ran (res says what happened; everything allowed collapsed iff
 * res->failed == 0 && !res->aborted), or a negative errno with err set: -ENOTSUP (kernel
 * without MADV_COLLAPSE), -EPERM (no privilege), -ESRCH (no such process), -EACCES, -EINVAL
 * (bad range or policy), -ENOENT (policy not found). */
int live_oneshot_collapse(const struct live_oneshot_opts *o, struct live_oneshot_result *res,
                          char *err, size_t err_size);

#endif
