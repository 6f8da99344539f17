/*
 * The ABI between the lifecycle BPF programs (lifecycle.bpf.c) and their userspace loader
 * (src/live/lifecycle_bpf.c): map key/value layouts, the ring-buffer event record and the
 * event types. Included by both sides, so it uses only the kernel's fixed-width __u32/__u64.
 * It owns no logic; what the kernel does with these records is described in lifecycle.bpf.c
 * and docs/lifecycle.md.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_ABI_H
#define BPFMM_LIVE_LIFECYCLE_ABI_H

#include <linux/types.h>

/* Ring-buffer record types. Only managed processes produce records. */
#define BPFMM_LC_KEV_FORK 1 /* a managed process forked a new process, which inherited */
#define BPFMM_LC_KEV_EXEC 2 /* a managed process called execve (its entry is kept) */
#define BPFMM_LC_KEV_EXIT 3 /* the last thread of a managed process exited (entry removed) */

/* procs map: key = tgid (__u32). An entry is valid only while policies[policy_id].gen equals
 * its gen: detaching a policy deletes that one policies entry, which releases every process
 * at once, and the stale procs entries are swept afterwards (or dropped at exit). */
struct bpfmm_lc_proc {
    __u32 policy_id;
    __u32 parent; /* tgid that it inherited from; 0 for an attach root */
    __u64 gen;
};

/* policies map: key = policy id (__u32). */
struct bpfmm_lc_policy {
    __u64 gen; /* never 0 */
};

struct bpfmm_lc_kevent {
    __u32 type;      /* BPFMM_LC_KEV_* */
    __u32 tgid;      /* FORK: the child */
    __u32 parent;    /* FORK: the forking process's tgid; otherwise 0 */
    __u32 policy_id; /* the entry's policy */
    __u64 gen;
    __u64 start_boottime; /* task->start_boottime of tgid's leader (ns), to pin its identity */
    __u64 ktime_ns;       /* bpf_ktime_get_ns() when the record was made */
};

#endif
