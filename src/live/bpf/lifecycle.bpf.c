// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process-lifecycle tracking for bpfmm's live agent: raw tracepoint programs on
 * sched_process_fork, sched_process_exec and sched_process_exit that keep the
 * tgid -> policy map in the kernel and tell userspace what changed.
 *
 * - fork: if the forking process is managed by a live policy and the child is a new process
 *   (not a thread), the child gets the parent's entry. The tracepoint fires before
 *   wake_up_new_task(), so the child is registered before it first runs.
 * - exec: the entry is kept; a record tells userspace to reopen per-mm state (pagemap).
 * - exit: when the whole thread group is dead the entry is removed.
 *
 * Owns only the kernel half: attach/detach/update and everything policy-related are done by
 * userspace (src/live/lifecycle_bpf.c) through the maps. Task fields are read with CO-RE
 * against minimal local struct definitions (no generated vmlinux.h); libbpf relocates them
 * against /sys/kernel/btf/vmlinux at load time.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "lifecycle_abi.h"

/* Only the fields read here; libbpf matches them by name in the running kernel's BTF. */
typedef struct {
    int counter;
} lc_atomic_t;

struct signal_struct {
    lc_atomic_t live; /* threads not yet past do_exit()'s group_dead test */
} __attribute__((preserve_access_index));

struct task_struct {
    int pid;
    int tgid;
    struct task_struct *group_leader;
    struct signal_struct *signal;
    __u64 start_boottime;
} __attribute__((preserve_access_index));

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32768); /* resized by userspace before load */
    __type(key, __u32);
    __type(value, struct bpfmm_lc_proc);
} procs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct bpfmm_lc_policy);
} policies SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024); /* resized by userspace before load */
} events SEC(".maps");

/* Counters userspace reads through the skeleton's mmap of .bss. */
__u64 lc_ringbuf_drops; /* records lost because the ring was full: userspace reconciles */
__u64 lc_insert_fails;  /* children that could not be registered (procs map full) */
__u64 lc_forks, lc_execs, lc_exits;

/* The procs entry of tgid if its policy is still attached with the same generation. */
static __always_inline struct bpfmm_lc_proc *live_entry(__u32 tgid)
{
    struct bpfmm_lc_proc *e = bpf_map_lookup_elem(&procs, &tgid);
    struct bpfmm_lc_policy *pol;

    if (!e)
        return NULL;
    pol = bpf_map_lookup_elem(&policies, &e->policy_id);
    if (!pol || pol->gen != e->gen)
        return NULL;
    return e;
}

static __always_inline void emit(__u32 type, __u32 tgid, __u32 parent, __u32 policy_id, __u64 gen,
                                 __u64 start_boottime)
{
    struct bpfmm_lc_kevent *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

    if (!ev) {
        __sync_fetch_and_add(&lc_ringbuf_drops, 1);
        return;
    }
    ev->type = type;
    ev->tgid = tgid;
    ev->parent = parent;
    ev->policy_id = policy_id;
    ev->gen = gen;
    ev->start_boottime = start_boottime;
    ev->ktime_ns = bpf_ktime_get_ns();
    bpf_ringbuf_submit(ev, 0);
}

/* TP_PROTO(struct task_struct *parent, struct task_struct *child); parent == current. */
SEC("raw_tracepoint/sched_process_fork")
int lc_fork(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *parent = (struct task_struct *)ctx->args[0];
    struct task_struct *child = (struct task_struct *)ctx->args[1];
    __u32 ptgid = BPF_CORE_READ(parent, tgid);
    __u32 ctgid = BPF_CORE_READ(child, tgid);
    struct bpfmm_lc_proc *pe, ce;

    if (ctgid == ptgid) /* a new thread: threads share their process's entry */
        return 0;
    pe = live_entry(ptgid);
    if (!pe)
        return 0;
    ce.policy_id = pe->policy_id;
    ce.gen = pe->gen;
    ce.parent = ptgid;
    /* BPF_ANY: a leftover entry under a reused pid (a missed exit) is simply replaced. */
    if (bpf_map_update_elem(&procs, &ctgid, &ce, BPF_ANY)) {
        __sync_fetch_and_add(&lc_insert_fails, 1);
        return 0;
    }
    __sync_fetch_and_add(&lc_forks, 1);
    emit(BPFMM_LC_KEV_FORK, ctgid, ptgid, ce.policy_id, ce.gen,
         BPF_CORE_READ(child, start_boottime));
    return 0;
}

/* TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm); p == current,
 * already the thread-group leader (de_thread() ran), tgid unchanged. */
SEC("raw_tracepoint/sched_process_exec")
int lc_exec(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *p = (struct task_struct *)ctx->args[0];
    __u32 tgid = BPF_CORE_READ(p, tgid);
    struct bpfmm_lc_proc *e = live_entry(tgid);

    if (!e)
        return 0;
    __sync_fetch_and_add(&lc_execs, 1);
    emit(BPFMM_LC_KEV_EXEC, tgid, 0, e->policy_id, e->gen, BPF_CORE_READ(p, start_boottime));
    return 0;
}

static __always_inline void group_exit(struct task_struct *p)
{
    __u32 tgid = BPF_CORE_READ(p, tgid);
    struct bpfmm_lc_proc *e = bpf_map_lookup_elem(&procs, &tgid);
    struct bpfmm_lc_policy *pol;
    struct bpfmm_lc_proc copy;

    if (!e)
        return;
    copy = *e;
    /* Only the deleter reports, so a racing second "last thread" (legacy detection) is
     * silent. Stale entries (policy detached) are dropped without a record. */
    if (bpf_map_delete_elem(&procs, &tgid))
        return;
    pol = bpf_map_lookup_elem(&policies, &copy.policy_id);
    if (!pol || pol->gen != copy.gen)
        return;
    __sync_fetch_and_add(&lc_exits, 1);
    emit(BPFMM_LC_KEV_EXIT, tgid, 0, copy.policy_id, copy.gen,
         BPF_CORE_READ(p, group_leader, start_boottime));
}

/* Since Linux 6.16: TP_PROTO(struct task_struct *p, bool group_dead), p == current. */
SEC("raw_tracepoint/sched_process_exit")
int lc_exit(struct bpf_raw_tracepoint_args *ctx)
{
    if (!(__u8)ctx->args[1])
        return 0;
    group_exit((struct task_struct *)ctx->args[0]);
    return 0;
}

/* Before 6.16 the tracepoint has no group_dead argument. It still fires after do_exit()'s
 * atomic_dec_and_test(&signal->live), so live == 0 says that no thread of the group is left
 * before this point. Two threads exiting at once may both see 0; group_exit() reports once. */
SEC("raw_tracepoint/sched_process_exit")
int lc_exit_legacy(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *p = (struct task_struct *)ctx->args[0];

    if (BPF_CORE_READ(p, signal, live.counter) != 0)
        return 0;
    group_exit(p);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
