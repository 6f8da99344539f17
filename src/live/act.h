/*
 * Act (issue 4, part 5), the mechanism: batches of 2 MiB blocks turned into the iovecs of one
 * process_madvise(pidfd, iov, n, MADV_COLLAPSE, 0) call, adjacent blocks coalesced into one
 * iovec (the kernel runs madvise_collapse - and its lru_add_drain_all() - once per iovec), and
 * the call's result read back:
 *   - the return value is the number of bytes of the leading iovecs that fully succeeded
 *     (MADV_COLLAPSE succeeds on an iovec only if every block in it ends PMD-mapped, an
 *     existing THP counting as success), so those blocks are collapsed: trusted, not rescanned;
 *   - the call stops at the first failing iovec; if it is not the first, the count comes back
 *     short and that iovec's errno is lost (result.err 0); if it is the first, the call
 *     returns its errno;
 *   - blocks of a failed coalesced iovec may still have been collapsed (the kernel carries on
 *     past some per-block failures): live_act_verify rescans just those blocks.
 * Also the errno classes of linux-thp.md. Owns no policy about what to do next: marks,
 * backoff and budgets are the agent's (agent_act.c); `bpfmm collapse` uses the same calls.
 */
#ifndef BPFMM_LIVE_ACT_H
#define BPFMM_LIVE_ACT_H

#include "scan.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define LIVE_ACT_MAX_BLOCKS 1024 /* process_madvise takes at most UIO_MAXIOV (1024) iovecs */

struct live_act_iov {
    uint64_t start;  /* first block */
    uint32_t blocks; /* 2 MiB blocks in this iovec */
    uint32_t tag;    /* the caller's tag of the first block (e.g. a candidate index) */
    bool solo;       /* must not take more blocks */
};

struct live_act_batch {
    uint64_t pmd_size;
    uint32_t max_blocks;
    uint32_t blocks; /* in the batch */
    uint64_t bytes;
    size_t n; /* iovecs */
    struct iovec *iov;
    struct live_act_iov *meta;
};

/* max_blocks: 1..LIVE_ACT_MAX_BLOCKS. -EINVAL, -ENOMEM. */
int live_act_batch_init(struct live_act_batch *b, uint64_t pmd_size, uint32_t max_blocks);
void live_act_batch_free(struct live_act_batch *b);
void live_act_batch_reset(struct live_act_batch *b);
/* Adds one block. It joins the last iovec when it directly follows it and neither is solo
 * (coalesce false or solo true keep it apart). Returns false when the batch is full. */
bool live_act_batch_add(struct live_act_batch *b, uint64_t start, bool solo, uint32_t tag);

struct live_act_result {
    ssize_t ret;         /* what process_madvise returned */
    int err;             /* errno of iovec `done` when the call returned it (ret < 0), else 0 */
    size_t done;         /* leading iovecs fully collapsed */
    bool stopped;        /* iovec `done` failed (done < n); the rest were not attempted */
    uint64_t done_bytes; /* bytes of the done iovecs */
    uint64_t done_blocks;
    uint64_t wall_ns; /* the call's duration (OS clock): the mmap-lock estimate */
    uint64_t cpu_ns;  /* the calling thread's CPU during the call (0 without cpu_ns) */
};

/* One call for the whole batch through p's pidfd. cpu_ns may be NULL. Returns 0 when the
 * call was made (whatever it returned: see r), -EINVAL for an empty batch. */
int live_act_submit(struct live_proc *p, const struct live_act_batch *b, uint64_t (*cpu_ns)(void *),
                    void *cpu_arg, struct live_act_result *r);

enum live_act_class {
    LIVE_ACT_PROCESS = 0, /* ESRCH, EPERM, EACCES: the whole process */
    LIVE_ACT_NOMEM,       /* ENOMEM: no huge page could be allocated, or the range is gone */
    LIVE_ACT_RETRY,       /* EAGAIN (transient), EBUSY (cgroup charge, uffd): later */
    LIVE_ACT_INVALID,     /* EINVAL: not collapsible until its VMA changes */
    LIVE_ACT_OTHER,
};
enum live_act_class live_act_classify(int err);

/* Rescans blocks [start, start + n * pmd) and sets huge[i] for those now PMD-mapped. Blocks
 * no longer inside a VMA of vmas are reported not huge. Returns 0 or the scanner's error. */
int live_act_verify(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                    uint64_t start, uint32_t n, uint32_t page_size, bool *huge);

#endif
