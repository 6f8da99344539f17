/*
 * The lifecycle module's mechanism-independent core: the userspace table of managed processes
 * (tgid -> policy id, generation, pidfd), the rules that turn raw events into lifecycle events,
 * and the two repair paths (reconciliation against a kernel snapshot, /proc rescan). It makes
 * no Linux call itself: everything it needs from the system goes through struct lc_sys, so the
 * tests drive it with synthetic events and a fake system (tests/lifecycle/core_*.c).
 *
 * Who decides membership:
 *   - BPF mode: the kernel map decides; the core mirrors it (lc_core_kernel_fork/exec/exit)
 *     and rebuilds the mirror from a snapshot after lost events (lc_core_reconcile).
 *   - proc connector mode: the core decides (lc_core_fork: inherit unless a thread, unless a
 *     child that existed at attach time) and repairs missed forks (lc_core_rescan).
 * Not thread-safe; callbacks run synchronously and may add or remove entries.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_CORE_H
#define BPFMM_LIVE_LIFECYCLE_CORE_H

#include "lifecycle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What /proc/PID/stat says about a process (the fields the core uses). */
struct lc_stat {
    pid_t ppid;
    uint64_t start_ticks; /* field 22: start time since boot, in clock ticks */
    unsigned long flags;  /* field 9: PF_* */
};

/* The system as the core sees it. Every entry returns a negative errno on failure. */
struct lc_sys {
    void *arg;
    int (*pidfd_open)(void *arg, pid_t pid); /* pidfd, -ESRCH, -EINVAL (a thread) */
    /* 1 if the pidfd's process still holds its pid (running or zombie), 0 if reaped. */
    int (*pidfd_alive)(void *arg, int pidfd);
    void (*close_fd)(void *arg, int fd);
    int (*stat)(void *arg, pid_t pid, struct lc_stat *st); /* -ESRCH if no such pid */
    /* Children (processes, any thread's) of pid: fills at most cap, returns how many. */
    int (*children)(void *arg, pid_t pid, pid_t *out, size_t cap);
    /* Clock ticks per second of lc_stat.start_ticks (sysconf(_SC_CLK_TCK)). */
    uint64_t ticks_per_sec;
    /* The backend's hooks, called with backend as their first argument. */
    void *backend;
    /* BPF mode (optional): 1 if the kernel map still has tgid with that policy and gen. */
    int (*kernel_has)(void *backend, pid_t tgid, uint32_t policy_id, uint64_t gen);
    /* proc connector mode: watch a pidfd for the process's exit (the backend then calls
     * lc_core_exit). NULL in BPF mode, where the kernel reports exits. */
    int (*watch)(void *backend, int pidfd, pid_t tgid);
    void (*unwatch)(void *backend, int pidfd);
};

struct lc_excl {
    pid_t pid;
    uint64_t start_ticks;
};

struct lc_entry {
    struct lc_entry *next; /* hash chain */
    pid_t tgid, parent;
    uint32_t policy_id;
    uint64_t gen;
    uint64_t start_ticks; /* identity of the process under tgid; 0 = unknown */
    int pidfd;            /* -1: the process was gone when learnt */
    bool watched;
    bool mark; /* reconcile: seen in the snapshot */
    /* Attach roots in proc connector mode: the children that existed at attach time, which
     * must stay unmanaged (seed 000: existing children are unaffected). */
    struct lc_excl *excl;
    uint32_t nexcl;
};

struct lc_policy {
    uint32_t id;
    uint64_t gen;
};

struct lc_core {
    struct lc_sys sys;
    live_lc_event_fn on_event;
    void *arg;
    struct lc_entry **buckets;
    size_t nbuckets, count;
    struct lc_policy *pols;
    size_t npols, pols_cap;
    uint64_t next_gen;
    struct live_lifecycle_stats st;
    unsigned delivered; /* events delivered since the backend last reset it */
};

/* An entry of the kernel map, as read for reconciliation. */
struct lc_kentry {
    pid_t tgid, parent;
    uint32_t policy_id;
    uint64_t gen;
};

int lc_core_init(struct lc_core *c, const struct lc_sys *sys, live_lc_event_fn fn, void *arg);
/* Closes every pidfd and frees the table. */
void lc_core_fini(struct lc_core *c);

/* The generation of a policy id's current attachment; with create, one is made if there is
 * none (never 0). Returns 0 if there is none and !create. */
uint64_t lc_core_policy_gen(struct lc_core *c, uint32_t id, bool create);
/* Forgets the policy id's generation (after detach_policy); a later attach makes a new one. */
void lc_core_policy_drop(struct lc_core *c, uint32_t id);

struct lc_entry *lc_core_find(struct lc_core *c, pid_t tgid);
/* Adds an attach root (pidfd is taken over). With snapshot_children, the children tgid has now
 * are recorded as pre-existing (proc connector mode). -EEXIST if tgid is in the table. */
int lc_core_add_root(struct lc_core *c, pid_t tgid, uint32_t policy_id, uint64_t gen, int pidfd,
                     uint64_t start_ticks, bool snapshot_children);
/* Removes tgid without an event (detach). -ENOENT if absent. */
int lc_core_remove(struct lc_core *c, pid_t tgid);
/* Removes every entry of policy_id without events; returns how many. */
int lc_core_remove_policy(struct lc_core *c, uint32_t policy_id);

/* BPF mode: the kernel registered child (inheriting from parent) at fork. start_boottime_ns is
 * the child's task->start_boottime, which pins its identity for the pidfd. */
void lc_core_kernel_fork(struct lc_core *c, pid_t child, pid_t parent, uint32_t policy_id,
                         uint64_t gen, uint64_t start_boottime_ns);
/* Both modes: tgid exec'ed / its thread group is dead. Ignored for unmanaged tgids. */
void lc_core_exec(struct lc_core *c, pid_t tgid, uint32_t flags);
void lc_core_exit(struct lc_core *c, pid_t tgid, uint32_t flags);

/* proc connector mode: parent forked child (tgids; child == parent for a new thread).
 * event_boot_ns is when the connector saw it, on the CLOCK_BOOTTIME scale (used to reject a
 * pid that was reused before the event was read). Returns true if child became managed. */
bool lc_core_fork(struct lc_core *c, pid_t parent, pid_t child, uint64_t event_boot_ns);
/* proc connector mode: adopts children of managed processes that no event reported (and
 * their children, recursively), except pre-existing children of attach roots. Returns how
 * many were adopted. */
int lc_core_rescan(struct lc_core *c);
/* BPF mode: makes the table equal to the kernel map's valid entries, delivering EXIT for
 * entries that are gone, FORK for new ones and EXEC for survivors (all LIVE_LC_EV_RECONCILE). */
void lc_core_reconcile(struct lc_core *c, const struct lc_kentry *snap, size_t n);

/* Fills out (ascending by tgid) like live_lifecycle_list. */
int lc_core_list(struct lc_core *c, uint32_t policy_id, struct live_lc_proc *out, size_t cap);

#endif
