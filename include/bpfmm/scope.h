/*
 * bpfmm scope: which THP policy governs which process, with the semantics of the BPF-THP
 * series' per-process scoping (seed 000) and its selftests:
 *
 *   - a policy is a registered object (id, name) carrying an opaque program handle;
 *   - attach(policy, tgid) makes the process managed; a second local attach to a managed
 *     process fails with -EBUSY (one local policy per process, even the same one again);
 *   - processes that already exist are unaffected by an attach to their parent: only fork
 *     events reported after the attach propagate;
 *   - fork(parent, child): the child inherits the parent's local policy (grandchildren too,
 *     one fork event at a time);
 *   - exec keeps the policy; exit removes the process from its policy's list;
 *   - destroying (detaching) a policy releases all its processes;
 *   - update swaps a policy's program for all its processes at once;
 *   - an optional global policy governs every process that has no local policy; a local
 *     policy overrides it; clearing the global leaves the locals alone;
 *   - each policy lists its processes.
 * Policies belong to a process (tgid): its threads share them. The caller passes tgids.
 *
 * This module knows nothing of how events are obtained: the live backend feeds it kernel
 * events (BPF lifecycle programs or the proc connector), the model feeds it simulated ones.
 * It never runs a program and never interprets the handle; it owns no Linux call.
 *
 * Concurrency. Every function is thread-safe (one mutex inside; no call blocks on anything
 * else). A lookup returns a counted reference to the program version current at the time of
 * the lookup: a concurrent update or destroy never frees a program a caller still holds, and a
 * lookup sees either the old or the new program of an update, never a mix. The release
 * callback of a program runs exactly once, when its policy no longer uses it (update, destroy,
 * bpfmm_scope_free) and the last lookup reference has been put - on the thread that dropped
 * that last reference, outside the module's lock (so it may call back into this module).
 *
 * Errors: 0 (or a count) on success, a negative errno on failure; bpfmm_scope_new returns NULL
 * and sets errno. Every failure also leaves a message saying what was wrong and what to do in
 * a per-thread buffer, bpfmm_scope_last_error().
 */
#ifndef BPFMM_SCOPE_H
#define BPFMM_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfmm_scope bpfmm_scope_t;

#define BPFMM_SCOPE_NAME_LEN 64 /* policy names, including the NUL */

/* Called once for each program handle the module was given, when nothing uses it any more.
 * arg is the release_arg passed with the handle. */
typedef void (*bpfmm_scope_release_fn)(void *prog, void *arg);

struct bpfmm_scope_opts {
    size_t sz;          /* sizeof(struct bpfmm_scope_opts); fields are only appended */
    uint32_t max_procs; /* processes tracked at most (attach/fork beyond: -ENOSPC); 0: 1 << 22 */
};

/* opts may be NULL (defaults). */
bpfmm_scope_t *bpfmm_scope_new(const struct bpfmm_scope_opts *opts);
/* Destroys every policy (releasing their programs once unreferenced) and frees the scope. The
 * caller must have put every lookup reference before, or put them after without the scope
 * (bpfmm_scope_ref_put does not touch the scope). */
void bpfmm_scope_free(bpfmm_scope_t *s);

/* Describes the calling thread's last failure in this module ("" if none yet). */
const char *bpfmm_scope_last_error(void);

/* --- Policies ------------------------------------------------------------------------------ */

/* Registers a policy. name: 1..63 printable characters, unique among live policies (-EEXIST).
 * prog: any non-NULL handle; release (may be NULL) is called with (prog, release_arg) when the
 * program is no longer used. On success *id receives the policy id (> 0, never reused). On
 * failure the handle stays the caller's (release is not called). */
int bpfmm_scope_policy_create(bpfmm_scope_t *s, const char *name, void *prog,
                              bpfmm_scope_release_fn release, void *release_arg, uint32_t *id);
/* Detaches a policy: every process it manages becomes unmanaged (the global policy, if any,
 * then covers them); if it is the global policy, the global is cleared. The id becomes
 * invalid (-ENOENT afterwards). The program is released once its last reference is put. */
int bpfmm_scope_policy_destroy(bpfmm_scope_t *s, uint32_t id);
/* Atomically replaces the program of a policy for all its processes (and for the processes the
 * global covers, if it is the global policy). The old program is released once the last lookup
 * reference to it is put. On failure the new handle stays the caller's. */
int bpfmm_scope_policy_update(bpfmm_scope_t *s, uint32_t id, void *prog,
                              bpfmm_scope_release_fn release, void *release_arg);
/* -ENOENT if no live policy has that name. */
int bpfmm_scope_policy_find(bpfmm_scope_t *s, const char *name, uint32_t *id);

struct bpfmm_scope_policy_info {
    uint32_t id;
    char name[BPFMM_SCOPE_NAME_LEN];
    uint32_t nr_procs; /* processes managed locally */
    uint64_t version;  /* 1 at create, +1 per update */
    bool global;       /* it is the global policy */
    uint64_t attaches; /* successful attaches, ever */
    uint64_t inherits; /* children that inherited it at fork, ever */
    uint64_t exits;    /* managed processes that exited, ever */
};
int bpfmm_scope_policy_info(bpfmm_scope_t *s, uint32_t id, struct bpfmm_scope_policy_info *info);

/* Ids of the live policies, ascending. Fills at most cap and returns how many exist (call with
 * cap 0 to size the buffer). */
int bpfmm_scope_policy_ids(bpfmm_scope_t *s, uint32_t *ids, size_t cap);

/* Tgids managed locally by a policy, ascending. Fills at most cap and returns how many there
 * are; -ENOENT for an unknown policy. */
int bpfmm_scope_policy_procs(bpfmm_scope_t *s, uint32_t id, int32_t *tgids, size_t cap);

/* --- Processes ----------------------------------------------------------------------------- */

/* Makes tgid managed by the policy. -EBUSY if tgid already has a local policy (any, including
 * this one); -ENOENT for an unknown (or destroyed) policy; -EINVAL for tgid <= 0. Existing
 * children of tgid are unaffected. */
int bpfmm_scope_attach(bpfmm_scope_t *s, uint32_t id, int32_t tgid);
/* Removes one process from its local policy (it becomes unmanaged). -ENOENT if it has none. */
int bpfmm_scope_detach(bpfmm_scope_t *s, int32_t tgid);

/* Lifecycle events. Report process events only (a new thread is not a fork here: a call with
 * parent == child is ignored).
 *   fork: the child inherits the parent's local policy; an unmanaged parent leaves the child
 *         unmanaged. A stale entry for child (its pid reused after a missed exit) is replaced.
 *   exec: keeps the policy (validates tgid only).
 *   exit: removes the process from its policy's list; unmanaged processes are ignored.
 * All return 0, or -EINVAL for a tgid <= 0, or -ENOSPC when max_procs are tracked. */
int bpfmm_scope_fork(bpfmm_scope_t *s, int32_t parent_tgid, int32_t child_tgid);
int bpfmm_scope_exec(bpfmm_scope_t *s, int32_t tgid);
int bpfmm_scope_exit(bpfmm_scope_t *s, int32_t tgid);

/* The global policy: governs processes without a local policy. Setting it again replaces it. */
int bpfmm_scope_global_set(bpfmm_scope_t *s, uint32_t id);
void bpfmm_scope_global_clear(bpfmm_scope_t *s);
/* -ENOENT if no global policy is set. */
int bpfmm_scope_global_get(bpfmm_scope_t *s, uint32_t *id);

/* --- Lookups ------------------------------------------------------------------------------- */

enum bpfmm_scope_how {
    BPFMM_SCOPE_NONE = 0,   /* no policy governs the process */
    BPFMM_SCOPE_LOCAL = 1,  /* attached, or inherited at fork */
    BPFMM_SCOPE_GLOBAL = 2, /* covered by the global policy */
};

/* A counted reference to the program that governs a process. Treat as read-only. */
struct bpfmm_scope_ref {
    void *prog;         /* the program handle given at create/update */
    uint32_t policy_id; /* the policy it belongs to */
    uint64_t version;   /* the policy's version that handle was given in */
    enum bpfmm_scope_how how;
    void *priv; /* internal: the version object */
};

/* Fills *ref with a reference to the program governing tgid (its local policy, else the
 * global one) and returns 0; returns -ENOENT (ref->how = BPFMM_SCOPE_NONE, prog NULL) when no
 * policy governs it. Every successful lookup must be paired with bpfmm_scope_ref_put. */
int bpfmm_scope_lookup(bpfmm_scope_t *s, int32_t tgid, struct bpfmm_scope_ref *ref);
/* Drops the reference (safe on a zeroed or already-put ref); may run the release callback. */
void bpfmm_scope_ref_put(struct bpfmm_scope_ref *ref);

/* Which policy governs tgid, without taking a reference (for status displays). Returns
 * BPFMM_SCOPE_NONE/LOCAL/GLOBAL and sets *id (when not NONE; id may be NULL). */
enum bpfmm_scope_how bpfmm_scope_policy_of(bpfmm_scope_t *s, int32_t tgid, uint32_t *id);

#ifdef __cplusplus
}
#endif
#endif
