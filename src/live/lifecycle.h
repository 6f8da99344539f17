/*
 * Process-lifecycle tracking for the live agent: which processes each policy id manages, kept
 * up to date as managed processes fork, exec and exit, and reported to the agent as events.
 *
 * Two mechanisms behind one interface:
 *   - BPF (preferred): raw tracepoint programs on sched_process_fork/exec/exit keep the
 *     tgid -> {policy id, generation} map in the kernel. A child of a managed process is
 *     registered in sched_process_fork, before it first runs, so no fault of the child can
 *     happen unmanaged. Events reach userspace through a BPF ring buffer; if the ring
 *     overflows, the userspace mirror is rebuilt from the kernel map (reconciliation).
 *   - proc connector fallback (no CAP_BPF/CAP_PERFMON, no BTF, load failure, or forced): the
 *     netlink proc connector's FORK/EXEC/EXIT events, pidfds polled for exit, and a periodic
 *     /proc rescan for children that were missed. Asynchronous: a child may run (and fault)
 *     before it is registered; docs/lifecycle.md lists what it cannot guarantee.
 *
 * Ownership. This module owns process membership (tgid -> policy id) and the pidfds of managed
 * processes. It does not own what a policy id means: the program behind an id, updates
 * (bpfmm_scope_policy_update swaps it in userspace; ids and the kernel map are unchanged) and
 * the global policy (it needs no events) are src/scope's. lifecycle_scope.c turns events into
 * scope calls.
 *
 * Threading: one live_lifecycle_t is used by one thread at a time (the agent's loop). Event
 * callbacks run synchronously inside live_lifecycle_poll(); they may call attach/detach/lookup
 * but not poll. Errors: 0 or a negative errno; open returns NULL and sets errno.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_H
#define BPFMM_LIVE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct live_lifecycle live_lifecycle_t;

enum live_lc_mode {
    LIVE_LC_AUTO = 0,     /* open: BPF if it loads, else the proc connector */
    LIVE_LC_BPF = 1,      /* open: BPF or fail */
    LIVE_LC_PROCCONN = 2, /* open: the proc connector even if BPF would work */
};

enum live_lc_event_type {
    LIVE_LC_FORK = 1, /* tgid (a new process) now managed, inherited from parent */
    LIVE_LC_EXEC = 2, /* tgid called execve: still managed; reopen per-mm state (pagemap) */
    LIVE_LC_EXIT = 3, /* tgid's last thread exited: no longer managed */
};

/* Event flags.
 * RESCAN: a FORK found by the /proc rescan (proc connector), not by an event.
 * RECONCILE: made up while rebuilding state after lost events: FORK = found managed (parent
 * may be 0), EXIT = gone, EXEC = may have exec'ed meanwhile. */
#define LIVE_LC_EV_RESCAN    (1u << 0)
#define LIVE_LC_EV_RECONCILE (1u << 1)

struct live_lc_event {
    enum live_lc_event_type type;
    uint32_t flags;     /* LIVE_LC_EV_* */
    pid_t tgid;         /* FORK: the child */
    pid_t parent;       /* FORK: the tgid it inherited from; 0 when unknown (reconcile) */
    uint32_t policy_id; /* the policy id managing tgid */
    /* tgid's start time as /proc/PID/stat field 22 gives it (clock ticks after boot): pins its
     * identity (live_proc_open's expect_start_time). 0 when unknown (process already gone). */
    uint64_t start_time;
    /* A pidfd for tgid owned by the lifecycle: valid until the EXIT event for tgid returns (or
     * tgid is detached); dup() it to keep it. -1 when the process was already gone when the
     * event was read (an EXIT for it follows), or when no pidfd could be opened (EMFILE:
     * stats.pidfd_fails). Never refers to another process. */
    int pidfd;
};

typedef void (*live_lc_event_fn)(void *arg, const struct live_lc_event *ev);

struct live_lifecycle_opts {
    size_t sz; /* sizeof(struct live_lifecycle_opts); fields are only appended */
    enum live_lc_mode mode;
    live_lc_event_fn on_event; /* may be NULL */
    void *arg;
    uint32_t max_procs;   /* kernel map capacity; 0: 32768 */
    uint32_t ringbuf_kib; /* BPF ring buffer; 0: 256 KiB (rounded up to a power of 2) */
    uint32_t rescan_ms;   /* proc connector: /proc rescan period; 0: 1000 */
    /* Use the pre-6.16 exit detection (signal->live == 0) even where sched_process_exit has
     * group_dead; for tests of that path. */
    bool legacy_exit;
    /* proc connector: socket receive buffer in bytes; 0: 4 MiB. Tests make it tiny to force
     * an overflow. */
    uint32_t netlink_rcvbuf;
};

/* Opens a mechanism per opts->mode (opts may be NULL: AUTO, defaults). On failure errno is set
 * and, when err is given, a message saying what failed, why, and what to do. */
live_lifecycle_t *live_lifecycle_open(const struct live_lifecycle_opts *opts, char *err,
                                      size_t err_size);
/* Closes the maps, programs, sockets and pidfds. Managed processes are not touched. */
void live_lifecycle_close(live_lifecycle_t *lc);

/* LIVE_LC_BPF or LIVE_LC_PROCCONN. */
enum live_lc_mode live_lifecycle_mode(const live_lifecycle_t *lc);
/* One line for `bpfmm status`, e.g. "BPF raw tracepoints (sched_process_fork/exec/exit)" or
 * "proc connector + /proc rescan every 1 s (BPF unavailable: ...)". */
const char *live_lifecycle_describe(const live_lifecycle_t *lc);
/* Why BPF is not in use ("" when it is). */
const char *live_lifecycle_bpf_reason(const live_lifecycle_t *lc);

/* Makes tgid managed by policy_id (any id > 0; src/scope's ids). Its existing children are
 * unaffected; children it forks from now on inherit. Errors, with a message in err:
 *   -ESRCH: no such process;  -EINVAL: tgid is a thread (not a process), or tgid/id <= 0;
 *   -EBUSY: tgid is already managed (attached or inherited, any policy);
 *   -ENOSPC: the kernel map is full (opts.max_procs). */
int live_lifecycle_attach(live_lifecycle_t *lc, pid_t tgid, uint32_t policy_id, char *err,
                          size_t err_size);
/* Stops managing one process (not its children). -ENOENT if it is not managed. */
int live_lifecycle_detach(live_lifecycle_t *lc, pid_t tgid);
/* Stops managing every process of policy_id: the kernel stops propagating it at once (one
 * map operation), then the entries are swept. Returns how many processes were released. */
int live_lifecycle_detach_policy(live_lifecycle_t *lc, uint32_t policy_id);

/* The policy id managing tgid, read from the kernel map in BPF mode (the authority there):
 * 0 and *policy_id set, or -ENOENT. */
int live_lifecycle_lookup(live_lifecycle_t *lc, pid_t tgid, uint32_t *policy_id);

struct live_lc_proc {
    pid_t tgid;
    pid_t parent; /* inherited from; 0 for an attach root or when unknown */
    uint32_t policy_id;
};
/* The managed processes (policy_id 0: all policies), ascending by tgid, from the kernel map in
 * BPF mode. Fills at most cap and returns how many there are, or -errno. */
int live_lifecycle_list(live_lifecycle_t *lc, uint32_t policy_id, struct live_lc_proc *out,
                        size_t cap);
/* The lifecycle's pidfd for a managed process (borrowed, see live_lc_event.pidfd), or -ENOENT
 * (not managed) or -ESRCH (managed, but already gone when it was learnt). */
int live_lifecycle_pidfd(live_lifecycle_t *lc, pid_t tgid);

/* A file descriptor that becomes readable when live_lifecycle_poll() has work: put it in the
 * agent's epoll set (EPOLLIN). */
int live_lifecycle_fd(const live_lifecycle_t *lc);
/* Waits up to timeout_ms (0: do not wait, -1: forever) for work, then handles everything
 * pending: events, reconciliation after an overflow, the periodic rescan. Calls on_event for
 * each event, in order. Returns the number of events delivered, or -errno. */
int live_lifecycle_poll(live_lifecycle_t *lc, int timeout_ms);

struct live_lifecycle_stats {
    size_t sz;
    uint64_t managed;             /* processes managed now */
    uint64_t forks, execs, exits; /* events delivered (including synthesized ones) */
    uint64_t lost;                /* BPF: records dropped (ring full); proc connector: overflows */
    uint64_t reconciles;          /* state rebuilds after lost events (BPF) */
    uint64_t rescans;             /* /proc rescans (proc connector) */
    uint64_t rescan_found;        /* children found by a rescan, i.e. missed by events */
    uint64_t insert_fails;        /* children the kernel could not register (map full) */
    /* pidfd_open failures other than "process gone" (EMFILE...): in BPF mode such a process
     * is managed without a pidfd (event pidfd -1); with the proc connector it is NOT managed
     * (its exit could not be seen). live_lifecycle_open raises RLIMIT_NOFILE to its hard
     * limit: one pidfd per managed process. */
    uint64_t pidfd_fails;
};
int live_lifecycle_get_stats(live_lifecycle_t *lc, struct live_lifecycle_stats *st);

/* The symbolic name of an event type ("FORK"). */
const char *live_lc_event_name(enum live_lc_event_type type);

#endif
