/*
 * Internals of the agent engine (agent.h), shared by its files:
 *   agent.c        the object, policies, attach/detach/global, lifecycle hooks, status
 *   agent_proc.c   one process: its state, the check/scan/decide cadence, caller permissions
 *   agent_act.c    choosing whom to serve, batches under the budget, reading the results
 *   agent_step.c   the step: meminfo, discovery under a global policy, when to run next
 *   agent_sys.c    the defaults that are not in the OS layer (/proc listing, thread CPU)
 * Nothing here is for use outside those files.
 */
#ifndef BPFMM_LIVE_AGENT_IMPL_H
#define BPFMM_LIVE_AGENT_IMPL_H

#include "act.h"
#include "act_marks.h"
#include "agent.h"
#include "budget.h"
#include "decide.h"
#include "scan.h"
#include "smaps.h"
#include "vma.h"

#include <bpfmm/policy.h>

/* The scope's program handle: a loaded policy and what it reads (decided once at load). */
struct agent_prog {
    bpfmm_policy_t *pol;
    bool reads_shared;     /* nr_shared: gather it (smaps Shared_*, pagemap) */
    bool reads_referenced; /* vma_referenced: clear_refs after each smaps read */
    bool reads_vma_flags;  /* vma_flags: hg/nh come from smaps */
};

struct agent_policy {
    uint32_t id;
    char source[256];
    char path[256];
    char rodata_text[256];
    char **rodata; /* owned copies, for reloads */
    unsigned nr_rodata;
    struct agent_prog *cur; /* the current program (owned by scope; valid until update) */
};

struct agent_proc {
    pid_t pid;
    uint64_t start_time;
    struct live_proc *h; /* NULL until opened (or after a failed open) */
    enum live_agent_proc_state state;
    char msg[256];
    uint64_t retry_ns; /* NOT_PERMITTED / ERROR / THP_DISABLED: next attempt */
    bool drop;         /* to be removed at the end of the step */

    /* cadence */
    uint64_t next_check_ns;
    uint64_t scan_ns;  /* last full scan */
    uint64_t smaps_ns; /* last smaps read */
    bool dirty;        /* rescan and re-decide at the next check */
    unsigned image_gen;

    /* what the last scan saw */
    struct live_vma_list vmas, smaps, scratch;
    bool have_smaps, have_res;
    struct live_scan_result res;
    uint32_t policy_id; /* the candidates were decided by this policy version */
    uint64_t policy_version;
    bool guard_known;

    /* decisions and their aftermath */
    struct live_cand_list cands;
    struct live_marks marks, vma_marks;
    uint64_t suspect; /* a block to submit first and alone (its errno is unknown); 0: none */

    struct live_bucket bytes, lock;

    /* hotness: CPU ticks per 100 s, an EWMA */
    uint64_t ticks, ticks_ns, hot;

    uint64_t anon_rss, anon_huge;
    struct live_agent_counters c;
    /* Seen to exec (opts.fork_events) and not to fork since: no anonymous page of its can be
     * mapped by another process but through KSM (a fork is the only other way). */
    bool own_mm;
};

struct live_agent {
    const struct live_os *os;
    const struct live_features *f;
    struct live_agent_opts o; /* defaults resolved */
    struct live_agent_budget budget;
    uint32_t page_size;
    uint64_t pmd_size;
    bpfmm_scope_t *scope;
    struct bpfmm_policy_host host;
    struct live_scanner *sc;
    struct live_act_batch batch;
    pid_t deciding; /* the process whose ranges the policy is judging (trace lines name it) */

    struct agent_policy *pols; /* ascending id */
    size_t npols, cappols;

    struct agent_proc **procs; /* ascending pid */
    size_t nprocs, capprocs;
    size_t rr; /* round-robin cursor of the checks */

    struct live_bucket global_bytes;
    uint64_t enomem_until;
    uint32_t enomem_attempts;
    uint64_t lock_per_block_ns; /* EWMA of a block's share of a call's wall time */

    uint64_t mem_available, meminfo_ns;
    uint64_t discover_ns;
    pid_t *ignored; /* kernel threads and other processes without memory, ascending */
    size_t nignored, capignored;
    pid_t *listbuf;
    size_t listcap;

    struct live_agent_counters total;
    uint64_t cpu_ns;
    bool warned_no_guard;
    uint64_t fault_log_ns, faults_unlogged;
};

/* agent.c */
void agent_log(live_agent_t *a, enum live_agent_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct agent_proc *agent_proc_find(live_agent_t *a, pid_t pid);
struct agent_policy *agent_policy_find(live_agent_t *a, uint32_t id);
uint64_t agent_now(const live_agent_t *a);
uint64_t agent_cpu(live_agent_t *a);
int agent_err_index(int err);

/* agent_proc.c */
/* A new state for pid (handle opened now; a failed open leaves a state with the error).
 * NULL + errno: ENOMEM, ENOSPC (max_procs), or ESRCH (the process is gone). */
struct agent_proc *agent_proc_add(live_agent_t *a, pid_t pid, uint64_t start_time);
void agent_proc_free(struct agent_proc *p);
/* Removes and frees every state with drop set. */
void agent_proc_sweep(live_agent_t *a);
/* Forget what was decided (policy change, exec): re-decide at the next step. */
void agent_proc_invalidate(live_agent_t *a, struct agent_proc *p, bool mm_changed);
/* The cheap check, and when due a scan and a decision. */
void agent_proc_check(live_agent_t *a, struct agent_proc *p, uint64_t now);
/* The process forked: its pages are now shared with the child; what was decided without
 * counting nr_shared is void, and smaps' per-VMA Shared_* is stale. */
void agent_proc_forked(live_agent_t *a, struct agent_proc *p);
/* Parent pid (stat field 4), or -errno. */
int agent_proc_ppid(struct live_proc *h);
void agent_proc_set_state(live_agent_t *a, struct agent_proc *p, enum live_agent_proc_state s,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 0 if the caller may ptrace the process (root, or the same real/effective/saved uid and
 * gid, and it is dumpable); -EPERM with a message ("WHAT PID (comm): ...") otherwise; -ESRCH
 * if it is gone. */
int agent_caller_may_ptrace(live_agent_t *a, struct live_proc *h, const struct live_agent_creds *c,
                            const char *what, char *err, size_t err_size);
void agent_proc_budget_init(live_agent_t *a, struct agent_proc *p, uint64_t now);

/* agent_act.c */
/* Collapse batches until deadline (OS clock), the candidates or the budget run out. */
void agent_act(live_agent_t *a, uint64_t deadline);
/* When p could next submit a batch (<= now: now); UINT64_MAX: nothing to do. */
uint64_t agent_proc_ready_at(live_agent_t *a, struct agent_proc *p, uint64_t now);
/* Resolves the budget's defaults into a->budget and resizes every bucket. */
void agent_budget_apply(live_agent_t *a, const struct live_agent_budget *b);

/* agent_step.c */
uint64_t agent_mem_available(void *arg);

/* agent_sys.c */
int agent_sys_list_pids(void *arg, pid_t *pids, size_t cap);
uint64_t agent_sys_cpu_ns(void *arg);
pid_t agent_sys_self(void);

#endif
