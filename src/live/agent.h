/*
 * The live agent's engine: for each managed process it scans (scan.h), asks the process's BPF
 * THP policy about every candidate 2 MiB range (decide.h), and collapses the allowed ones with
 * process_madvise(MADV_COLLAPSE) in budgeted batches (act.h, budget.h). docs/agent.md explains
 * the decisions, the budget and its defaults, error handling, and what is enforced.
 *
 * An agent owns: a bpfmm_scope_t (which policy governs which process), the loaded policies
 * (bpfmm_policy_t, the scope's program handles, closed when the scope releases them), one
 * state per process it follows (a pidfd-pinned handle, VMAs, the last scan, candidates, marks
 * for failed ranges, counters), the budget, and the host helpers policies call
 * (bpfmm_mem_available: /proc/meminfo on a slow clock; bpfmm_sysfs_thp_orders: the probe).
 *
 * It does not own: how lifecycle events are obtained (src/live/lifecycle*: the daemon feeds
 * them to the hooks below, or applies them to live_agent_scope() itself), the event loop, the
 * control socket, persistence or output formatting (the daemon and the CLI).
 *
 * Driving it (the daemon's epoll loop, or `bpfmm run` for one process tree):
 *
 *     live_agent_t *a = live_agent_new(&opts, err, sizeof(err));
 *     live_agent_policy_add(a, "web", "default", NULL, 0, &id, err, sizeof(err));
 *     live_agent_attach(a, id, pid, &caller, err, sizeof(err));
 *     for (;;) {
 *         uint64_t next;
 *         live_agent_step(a, &next);          // a bounded slice of work
 *         epoll_wait(..., live_agent_timeout_ms(a, next));
 *         ... lifecycle events -> live_agent_on_fork/on_exec/on_exit ...
 *     }
 *
 * Threading: an agent is used by one thread at a time (every function, status included). The
 * policies' host callbacks run inside live_agent_step on that thread.
 *
 * Errors: 0 or a negative errno; live_agent_new returns NULL and sets errno. Functions taking
 * (err, err_size) write a message saying what failed, why, and what to do (err may be NULL).
 */
#ifndef BPFMM_LIVE_AGENT_H
#define BPFMM_LIVE_AGENT_H

#include "os.h"
#include "probe.h"

#include <bpfmm/policy.h>
#include <bpfmm/scope.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct live_agent live_agent_t;

/* A budget value meaning "no limit". */
#define LIVE_AGENT_UNLIMITED UINT64_MAX

/* Defaults (docs/agent.md says why). */
#define LIVE_AGENT_DEF_GLOBAL_BYTES_PER_S (1024ull << 20) /* 1 GiB/s over all processes */
#define LIVE_AGENT_DEF_PROC_BYTES_PER_S   (512ull << 20)  /* 512 MiB/s per process */
#define LIVE_AGENT_DEF_PROC_LOCK_US_PER_S 500000ull       /* 500 ms/s of mmap write lock */
#define LIVE_AGENT_DEF_BURST_MS           250u
#define LIVE_AGENT_DEF_BATCH_BLOCKS       16u     /* 32 MiB per process_madvise call */
#define LIVE_AGENT_DEF_CHECK_MS           1000u   /* cheap change check per process */
#define LIVE_AGENT_DEF_SCAN_MS            30000u  /* full rescan even when nothing changed */
#define LIVE_AGENT_DEF_SMAPS_MS           120000u /* smaps refresh (slow clock) */
#define LIVE_AGENT_DEF_SMAPS_MIN_MS       5000u   /* after a change, if a policy needs smaps */
#define LIVE_AGENT_DEF_DISCOVER_MS        5000u   /* /proc listing under a global policy */
#define LIVE_AGENT_DEF_MEMINFO_MS         1000u
#define LIVE_AGENT_DEF_ENOMEM_MS          10000u /* global backoff after ENOMEM, doubling */
#define LIVE_AGENT_DEF_EAGAIN_MS          200u   /* per-range backoff after EAGAIN, doubling */
#define LIVE_AGENT_DEF_EBUSY_MS           2000u  /* per-range backoff after EBUSY, doubling */
#define LIVE_AGENT_DEF_MAX_BACKOFF_MS     60000u
#define LIVE_AGENT_DEF_PERM_RETRY_MS      60000u /* retry a process we were not permitted */
#define LIVE_AGENT_DEF_SLICE_MS           50u    /* wall time of one step's collapse work */

/* Harm bounds for targets. Zero fields take the defaults above; LIVE_AGENT_UNLIMITED lifts
 * one limit; off lifts them all (the benchmark's "unbudgeted" run). */
struct live_agent_budget {
    size_t sz;
    uint64_t global_bytes_per_s; /* bytes collapsed per second, all processes together */
    uint64_t proc_bytes_per_s;   /* bytes collapsed per second, per process */
    uint64_t proc_lock_us_per_s; /* estimated mmap write-lock hold per process, us per s */
    uint32_t burst_ms;           /* bucket depth, in ms of each rate (at least one batch) */
    bool off;
};

enum live_agent_log_level {
    LIVE_AGENT_LOG_ERR = 0,
    LIVE_AGENT_LOG_WARN = 1,
    LIVE_AGENT_LOG_INFO = 2,
    LIVE_AGENT_LOG_DEBUG = 3,
};

struct live_agent_opts {
    size_t sz;
    const struct live_os *os;               /* NULL: live_os_linux */
    const struct live_features *features;   /* NULL: live_probe_cached(os) */
    const struct live_agent_budget *budget; /* NULL: defaults */
    uint32_t batch_blocks;                  /* 2 MiB blocks per call; 0: default; max 1024 */
    uint32_t check_interval_ms;
    uint32_t scan_interval_ms;
    uint32_t smaps_interval_ms;
    uint32_t smaps_min_interval_ms;
    uint32_t discover_interval_ms;
    uint32_t meminfo_interval_ms;
    uint32_t enomem_backoff_ms;
    uint32_t eagain_backoff_ms;
    uint32_t ebusy_backoff_ms;
    uint32_t max_backoff_ms;
    uint32_t perm_retry_ms;
    uint32_t slice_ms;
    /* Messages (state changes, errors, rate-limited); NULL: stderr for ERR and WARN. */
    void (*log)(void *arg, enum live_agent_log_level level, const char *msg);
    /* Policies' trace_printk output, with the process the policy was deciding for (0 when
     * none); NULL: discarded. */
    void (*trace)(void *arg, const char *policy, pid_t pid, const char *msg);
    void *arg;
    /* Process discovery under a global policy: fills pids with the processes on the system,
     * returns how many there are (may exceed cap) or -errno. NULL: a /proc listing (the OS
     * layer has no directory listing; tests pass their own). */
    int (*list_pids)(void *arg, pid_t *pids, size_t cap);
    /* The calling thread's CPU time in ns (the agent measures its own cost). NULL:
     * CLOCK_THREAD_CPUTIME_ID. */
    uint64_t (*cpu_ns)(void *arg);
    pid_t self_pid;     /* never covered by a global policy; 0: getpid() */
    uint32_t max_procs; /* processes followed at most; 0: 1 << 16 */
    /* The caller feeds every fork and exec of followed processes to live_agent_on_fork/exec
     * (a lifecycle source) and calls live_agent_events_lost() when some may have been missed.
     * Then a process seen to exec, and not to fork since, provably maps no anonymous page
     * another process maps (with KSM idle), and nr_shared is not read for it: 0 exactly,
     * without the ~8 ms/GiB pagemap walk. false (attach by pid only): always read. */
    bool fork_events;
};

/* Who asked (the control client's SO_PEERCRED): a policy cannot act on a process the caller
 * could not ptrace. */
struct live_agent_creds {
    pid_t pid; /* 0 when unknown */
    uid_t uid;
    gid_t gid;
};

live_agent_t *live_agent_new(const struct live_agent_opts *opts, char *err, size_t err_size);
/* Frees everything; targets are left as they are (nothing is undone, nothing is pending). */
void live_agent_free(live_agent_t *a);

/* The scope, for live_lifecycle_scope_attach/apply (policy ids are the scope's). Events
 * applied to it directly must still be reported to the hooks below so the agent follows the
 * process. Do not create or destroy policies through it. */
bpfmm_scope_t *live_agent_scope(live_agent_t *a);
const struct live_features *live_agent_features(const live_agent_t *a);
int live_agent_set_budget(live_agent_t *a, const struct live_agent_budget *b);

/* --- Policies ------------------------------------------------------------------------------ */

/* Loads a policy (shipped name or path to a .bpf.o, with "knob=value" rodata) and registers
 * it under name (NULL: the policy's own name, e.g. "default"). -EEXIST for a taken name,
 * -ENOENT/-EINVAL/... when it does not load (err says why, with the verifier's message). */
int live_agent_policy_add(live_agent_t *a, const char *name, const char *source,
                          const char *const *rodata, unsigned nr_rodata, uint32_t *id, char *err,
                          size_t err_size);
/* Swaps the program of policy id for all its processes at once (through scope): source NULL
 * reloads the same object. Processes re-decide with the new program before their next
 * collapse. */
int live_agent_policy_update(live_agent_t *a, uint32_t id, const char *source,
                             const char *const *rodata, unsigned nr_rodata, char *err,
                             size_t err_size);
/* Detaches the policy: all its processes are released (to the global policy, if any). */
int live_agent_policy_remove(live_agent_t *a, uint32_t id);
int live_agent_policy_find(live_agent_t *a, const char *name, uint32_t *id);

struct live_agent_policy_info {
    uint32_t id;
    char name[BPFMM_SCOPE_NAME_LEN];
    char source[256];  /* as given to add/update */
    char path[256];    /* the object file loaded */
    char rodata[256];  /* "k=v,k=v" ("" if none) */
    uint64_t version;  /* 1 at add, +1 per update */
    uint32_t nr_procs; /* processes attached locally */
    bool global;
    uint64_t calls, faults; /* of the current program */
};
int live_agent_policy_info(live_agent_t *a, uint32_t id, struct live_agent_policy_info *info);
/* Ids ascending; fills at most cap, returns how many exist. */
int live_agent_policy_ids(live_agent_t *a, uint32_t *ids, size_t cap);
/* The loaded program of policy id (its maps, stats), borrowed: valid until the next update or
 * remove of that policy. NULL (errno ENOENT) for an unknown id. */
bpfmm_policy_t *live_agent_policy_get(live_agent_t *a, uint32_t id);

/* --- Processes ----------------------------------------------------------------------------- */

/* Attaches policy id to process pid (its future children inherit it). Errors:
 *   -ESRCH  no such process (or only a zombie);  -ENOENT  no such policy;
 *   -EPERM  the caller could not ptrace it (caller neither root nor the target's uid/gid);
 *   -EACCES/-EPERM  the agent itself cannot read its page tables or collapse it;
 *   -EBUSY  it already has a local policy (attached or inherited);
 *   -ENOSPC max_procs reached.
 * caller NULL means root (the agent itself, e.g. `bpfmm run`). */
int live_agent_attach(live_agent_t *a, uint32_t id, pid_t pid,
                      const struct live_agent_creds *caller, char *err, size_t err_size);
/* Removes pid's local policy (-ENOENT if it has none). */
int live_agent_detach(live_agent_t *a, pid_t pid);
/* The rule live_agent_attach applies to its caller, for other operations on pid (what names
 * the operation in the message): 0 for root or a caller that could ptrace pid (the same
 * real, effective and saved uid and gid, and pid dumpable); -EPERM, or -ESRCH when pid is
 * gone, with a message. */
int live_agent_caller_may_act(live_agent_t *a, pid_t pid, const struct live_agent_creds *caller,
                              const char *what, char *err, size_t err_size);

/* The global policy covers every process without a local one; the agent then lists /proc
 * every discover_interval to find them. Only a root caller may set it (-EPERM). */
int live_agent_global_set(live_agent_t *a, uint32_t id, const struct live_agent_creds *caller,
                          char *err, size_t err_size);
void live_agent_global_clear(live_agent_t *a);

/* Lifecycle hooks (BPF raw tracepoints or the proc connector, via the daemon). They keep the
 * scope and the agent's process states in step; calling them after applying the same event
 * to live_agent_scope() with live_lifecycle_scope_apply is fine. start_time (stat field 22,
 * 0 if unknown) pins the child's identity. parent 0 means unknown (a child recovered after
 * lost events, whose policy the scope already holds): the agent only starts following it.
 * 0, or -EINVAL for bad pids. */
int live_agent_on_fork(live_agent_t *a, pid_t parent, pid_t child, uint64_t start_time);
int live_agent_on_exec(live_agent_t *a, pid_t tgid);
int live_agent_on_exit(live_agent_t *a, pid_t tgid);
/* Some fork or exec events may have been missed (lost records, a rescan finding unannounced
 * children): no process's memory is assumed unshared until it is seen to exec again. */
void live_agent_events_lost(live_agent_t *a);

/* --- Running ------------------------------------------------------------------------------- */

/* Does a bounded slice of work: processes due for a check or a scan, then collapse batches
 * until slice_ms passes, the budget or the candidates run out. *next_ns (OS-layer
 * CLOCK_MONOTONIC) says when it wants to run again (<= now: at once). Returns 0, or a
 * negative errno for an agent-wide failure (per-process failures are in their status). */
int live_agent_step(live_agent_t *a, uint64_t *next_ns);
/* Milliseconds from now until next_ns, for epoll_wait (0 if due, rounded up). */
int live_agent_timeout_ms(live_agent_t *a, uint64_t next_ns);

/* --- Status -------------------------------------------------------------------------------- */

enum live_agent_proc_state {
    LIVE_AGENT_PROC_ACTIVE = 0,        /* followed: scanned, decided, collapsed */
    LIVE_AGENT_PROC_GONE = 1,          /* exited (a zombie, or reaped): nothing more is done */
    LIVE_AGENT_PROC_NOT_PERMITTED = 2, /* EPERM/EACCES: state_msg says what to do */
    LIVE_AGENT_PROC_THP_DISABLED = 3,  /* prctl(PR_SET_THP_DISABLE): MADV_COLLAPSE refused */
    LIVE_AGENT_PROC_ERROR = 4,         /* another failure; retried */
};
const char *live_agent_proc_state_name(enum live_agent_proc_state s); /* "active", "gone"... */

/* Failed collapse calls are counted by the errno they returned. */
enum live_agent_err {
    LIVE_AGENT_E_AGAIN = 0,
    LIVE_AGENT_E_NOMEM,
    LIVE_AGENT_E_INVAL,
    LIVE_AGENT_E_BUSY,
    LIVE_AGENT_E_SRCH,
    LIVE_AGENT_E_PERM,
    LIVE_AGENT_E_ACCES,
    LIVE_AGENT_E_OTHER,
    LIVE_AGENT_NR_ERRS
};
const char *live_agent_err_name(enum live_agent_err e); /* "EAGAIN"... "other" */
enum live_agent_err live_agent_err_of(int err);         /* -EAGAIN -> LIVE_AGENT_E_AGAIN */

struct live_agent_counters {
    uint64_t calls;          /* process_madvise(MADV_COLLAPSE) calls */
    uint64_t collapses;      /* 2 MiB blocks collapsed */
    uint64_t collapse_bytes; /* bytes collapsed */
    uint64_t partial;        /* calls that stopped part-way (byte count short, no errno) */
    uint64_t failed[LIVE_AGENT_NR_ERRS]; /* calls that returned an errno */
    uint64_t lock_ns;                    /* estimated mmap write-lock hold (the calls' wall time) */
    uint64_t collapse_wall_ns;           /* wall time inside the calls */
    uint64_t collapse_cpu_ns; /* agent CPU inside the calls (the kernel's collapse work) */
    uint64_t scans;           /* full scans */
    uint64_t bytes_scanned;   /* resident bytes (present + swapped) covered by scans */
    uint64_t smaps_reads;
    uint64_t decisions;    /* policy calls */
    uint64_t refused;      /* policy calls that refused the PMD order */
    uint64_t budget_waits; /* times a ready batch waited for the budget */
    /* scans under a policy that reads nr_shared which needed no pagemap walk for it: the
     * process was seen to exec and not to fork since (opts.fork_events), KSM idle */
    uint64_t shared_unread_scans;
};

struct live_agent_proc_status {
    size_t sz;
    pid_t pid;
    char comm[16];
    uint32_t policy_id; /* 0: none governs it any more */
    char policy[BPFMM_SCOPE_NAME_LEN];
    enum bpfmm_scope_how how; /* LOCAL or GLOBAL */
    enum live_agent_proc_state state;
    char state_msg[256];   /* "" when active and fine */
    uint64_t anon_rss;     /* bytes, /proc/PID/status RssAnon at the last scan */
    uint64_t anon_huge;    /* bytes PMD-mapped in its anonymous VMAs (last scan + collapses) */
    double thp_share;      /* anon_huge / anon_rss (0..1; 0 if anon_rss is 0) */
    uint64_t candidates;   /* ranges the policy allowed, still to collapse */
    uint64_t marked;       /* ranges marked ineligible (EINVAL) or backing off */
    uint64_t hot;          /* hotness: CPU ticks per 100 s (EWMA), the act order */
    uint64_t last_scan_ns; /* OS-layer monotonic time of the last full scan (0: never) */
    struct live_agent_counters c;
};
int live_agent_proc_status(live_agent_t *a, pid_t pid, struct live_agent_proc_status *st);
/* Pids of the processes the agent follows, ascending; fills at most cap, returns the count. */
int live_agent_procs(live_agent_t *a, pid_t *pids, size_t cap);

struct live_agent_status {
    size_t sz;
    uint64_t now_ns; /* OS-layer monotonic time of this status */
    uint32_t nr_procs, nr_policies;
    uint32_t by_state[5];            /* processes per enum live_agent_proc_state */
    uint32_t global_id;              /* 0: no global policy */
    struct live_agent_counters c;    /* totals over every process, past ones included */
    uint64_t cpu_ns;                 /* agent CPU in live_agent_step, collapse calls excluded */
    double cpu_ms_per_gib_scanned;   /* cpu_ns per GiB of c.bytes_scanned (0 before a scan) */
    uint64_t enomem_until_ns;        /* global ENOMEM backoff end (0: none) */
    uint64_t mem_available;          /* bytes, as policies see it */
    struct live_agent_budget budget; /* in effect, defaults resolved */
    uint32_t batch_blocks;
};
int live_agent_status(live_agent_t *a, struct live_agent_status *st);

#endif
