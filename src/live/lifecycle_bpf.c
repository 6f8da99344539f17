/*
 * The BPF lifecycle backend: loads bpf/lifecycle.bpf.c (embedded by a bpftool skeleton),
 * attaches it to the sched_process_fork/exec/exit raw tracepoints, and owns every bpf() call
 * of the module: the kernel's procs and policies maps, the ring buffer and the counters.
 *
 * What the kernel enforces: inheritance at fork (before the child runs), keeping the entry at
 * exec, removal when the thread group dies, and that a detached policy stops propagating at
 * once (its policies entry goes; stale procs entries are ignored by the programs). What this
 * file adds in userspace: attach (insert with BPF_NOEXIST, hence EBUSY), detach, listing, and
 * reconciliation when the ring buffer dropped records.
 */
#include "lifecycle_impl.h"
#include "lifecycle_sys.h"
#include "bpf/lifecycle_abi.h"
#include "lifecycle.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct lc_bpf {
    struct lifecycle_bpf *skel;
    struct ring_buffer *rb;
    uint64_t seen_drops;
    bool legacy_exit;
};

/* --- libbpf messages ------------------------------------------------------------------------
 * libbpf reports why a load failed through its (process-wide) print callback. While opening,
 * the last warning is kept to explain the failure; the previous callback is restored after. */
static char libbpf_last[256];

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG || libbpf_last[0])
        return 0; /* the first warning names the cause; later ones only wrap it up */
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
        line[--n] = 0;
    if (n)
        memcpy(libbpf_last, line, n + 1);
    return 0;
}

/* Since Linux 6.16 sched_process_exit passes group_dead: its BTF prototype is
 * (void *__data, struct task_struct *p, bool group_dead). -1 if it cannot be told. */
static int exit_has_group_dead(void)
{
    struct btf *btf = btf__load_vmlinux_btf();
    int r = -1;
    if (!btf)
        return -1;
    int id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
    if (id > 0) {
        const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
        if (t && btf_is_ptr(t))
            t = btf__type_by_id(btf, t->type);
        if (t && btf_is_func_proto(t))
            r = btf_vlen(t) >= 3;
    }
    btf__free(btf);
    return r;
}

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 4096;
    while (p < v && p < (1u << 30))
        p <<= 1;
    return p;
}

static int handle_record(void *ctx, void *data, size_t size)
{
    live_lifecycle_t *lc = ctx;
    const struct bpfmm_lc_kevent *ev = data;
    if (size < sizeof(*ev))
        return 0;
    switch (ev->type) {
    case BPFMM_LC_KEV_FORK:
        lc_core_kernel_fork(&lc->core, (pid_t)ev->tgid, (pid_t)ev->parent, ev->policy_id, ev->gen,
                            ev->start_boottime);
        break;
    case BPFMM_LC_KEV_EXEC:
        lc_core_exec(&lc->core, (pid_t)ev->tgid, 0);
        break;
    case BPFMM_LC_KEV_EXIT:
        lc_core_exit(&lc->core, (pid_t)ev->tgid, 0);
        break;
    }
    return 0;
}

/* The valid entry of tgid (its policy still attached with the same generation). */
static int kernel_entry(struct lc_bpf *b, pid_t tgid, struct bpfmm_lc_proc *out)
{
    uint32_t key = (uint32_t)tgid;
    struct bpfmm_lc_policy pol;
    int r = bpf_map__lookup_elem(b->skel->maps.procs, &key, sizeof(key), out, sizeof(*out), 0);
    if (r)
        return r == -ENOENT ? -ENOENT : r;
    r = bpf_map__lookup_elem(b->skel->maps.policies, &out->policy_id, sizeof(out->policy_id), &pol,
                             sizeof(pol), 0);
    if (r || pol.gen != out->gen)
        return -ENOENT;
    return 0;
}

static int sys_kernel_has(void *arg, pid_t tgid, uint32_t policy_id, uint64_t gen)
{
    live_lifecycle_t *lc = arg;
    struct bpfmm_lc_proc e;
    if (kernel_entry(lc->bpf, tgid, &e))
        return 0;
    return e.policy_id == policy_id && e.gen == gen;
}

int lc_bpf_open(live_lifecycle_t *lc, char *reason, size_t reason_size)
{
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        return lc_errf(reason, reason_size, -ENOTSUP,
                       "the kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s), which the "
                       "CO-RE lifecycle programs need (CONFIG_DEBUG_INFO_BTF=y)",
                       strerror(errno));
    struct lc_bpf *b = calloc(1, sizeof(*b));
    if (!b)
        return lc_errf(reason, reason_size, -ENOMEM, "out of memory");
    libbpf_print_fn_t prev = libbpf_set_print(capture_print);
    libbpf_last[0] = 0;
    int err;

    b->skel = lifecycle_bpf__open();
    if (!b->skel) {
        err = -errno;
        lc_errf(reason, reason_size, err, "opening the lifecycle BPF object failed: %s%s%s",
                strerror(-err), libbpf_last[0] ? ": " : "", libbpf_last);
        goto fail;
    }
    bpf_map__set_max_entries(b->skel->maps.procs, lc->opts.max_procs ? lc->opts.max_procs : 32768);
    bpf_map__set_max_entries(
        b->skel->maps.events,
        pow2_at_least((lc->opts.ringbuf_kib ? lc->opts.ringbuf_kib : 256) * 1024u));
    int gd = exit_has_group_dead();
    b->legacy_exit = lc->opts.legacy_exit || gd != 1;
    bpf_program__set_autoload(b->skel->progs.lc_exit, !b->legacy_exit);
    bpf_program__set_autoload(b->skel->progs.lc_exit_legacy, b->legacy_exit);

    err = lifecycle_bpf__load(b->skel);
    if (err) {
        if (err == -EPERM || err == -EACCES)
            lc_errf(reason, reason_size, err,
                    "loading the lifecycle BPF programs was refused (%s): it needs CAP_BPF and "
                    "CAP_PERFMON (or root)",
                    strerror(-err));
        else
            lc_errf(reason, reason_size, err, "loading the lifecycle BPF programs failed: %s%s%s",
                    strerror(-err), libbpf_last[0] ? ": " : "", libbpf_last);
        goto fail;
    }
    err = lifecycle_bpf__attach(b->skel);
    if (err) {
        lc_errf(reason, reason_size, err,
                "attaching to the sched_process_fork/exec/exit raw tracepoints failed: %s%s%s",
                strerror(-err), libbpf_last[0] ? ": " : "", libbpf_last);
        goto fail;
    }
    b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), handle_record, lc, NULL);
    if (!b->rb) {
        err = -errno;
        lc_errf(reason, reason_size, err, "setting up the BPF ring buffer failed: %s",
                strerror(-err));
        goto fail;
    }
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = LC_TAG(LC_SRC_RING, 0, 0)};
    if (epoll_ctl(lc->epfd, EPOLL_CTL_ADD, bpf_map__fd(b->skel->maps.events), &ee) < 0) {
        err = -errno;
        lc_errf(reason, reason_size, err, "epoll on the BPF ring buffer failed: %s",
                strerror(-err));
        goto fail;
    }
    libbpf_set_print(prev);
    lc->bpf = b;
    lc->core.sys.backend = lc;
    lc->core.sys.kernel_has = sys_kernel_has;
    snprintf(lc->describe, sizeof(lc->describe),
             "BPF raw tracepoints (sched_process_fork/exec/exit; exit by %s)",
             b->legacy_exit ? "signal->live, the pre-6.16 way" : "group_dead");
    return 0;
fail:
    libbpf_set_print(prev);
    ring_buffer__free(b->rb);
    lifecycle_bpf__destroy(b->skel);
    free(b);
    return err;
}

void lc_bpf_close(live_lifecycle_t *lc)
{
    struct lc_bpf *b = lc->bpf;
    if (!b)
        return;
    ring_buffer__free(b->rb);
    lifecycle_bpf__destroy(b->skel);
    free(b);
    lc->bpf = NULL;
}

int lc_bpf_attach(live_lifecycle_t *lc, pid_t tgid, uint32_t policy_id, uint64_t gen, char *err,
                  size_t err_size)
{
    struct lc_bpf *b = lc->bpf;
    struct bpfmm_lc_policy pol = {.gen = gen};
    struct bpfmm_lc_proc val = {.policy_id = policy_id, .parent = 0, .gen = gen};
    uint32_t key = (uint32_t)tgid;
    int r = bpf_map__update_elem(b->skel->maps.policies, &policy_id, sizeof(policy_id), &pol,
                                 sizeof(pol), BPF_ANY);
    if (r)
        return lc_errf(err, err_size, r == -E2BIG ? -ENOSPC : r,
                       "attach: registering policy %u in the kernel failed: %s", policy_id,
                       strerror(-r));
    for (int tries = 0; tries < 3; tries++) {
        /* NOEXIST makes the EBUSY rule atomic against a concurrent fork inheriting. */
        r = bpf_map__update_elem(b->skel->maps.procs, &key, sizeof(key), &val, sizeof(val),
                                 BPF_NOEXIST);
        if (r != -EEXIST)
            break;
        struct bpfmm_lc_proc cur;
        if (kernel_entry(b, tgid, &cur) == 0)
            return lc_errf(err, err_size, -EBUSY,
                           "attach: process %d is already managed by policy %u (%s); detach it "
                           "first",
                           (int)tgid, cur.policy_id, cur.parent ? "inherited" : "attached");
        /* A stale entry (its policy was detached): replace it. */
        bpf_map__delete_elem(b->skel->maps.procs, &key, sizeof(key), 0);
    }
    if (r == -E2BIG || r == -ENOMEM)
        return lc_errf(err, err_size, -ENOSPC,
                       "attach: the kernel's process map is full (%u entries); raise "
                       "max_procs",
                       bpf_map__max_entries(b->skel->maps.procs));
    if (r)
        return lc_errf(err, err_size, r, "attach: inserting process %d failed: %s", (int)tgid,
                       strerror(-r));
    /* If the whole thread group had already passed its exit tracepoint, nothing would ever
     * remove the entry, and a later process reusing the pid would look managed. A thread that
     * is not yet exiting now will run the tracepoint after this insert (see
     * docs/lifecycle.md). */
    if (lc_sys_group_exiting(lc->os, tgid) == 1) {
        bpf_map__delete_elem(b->skel->maps.procs, &key, sizeof(key), 0);
        return lc_errf(err, err_size, -ESRCH, "attach: process %d is exiting", (int)tgid);
    }
    return 0;
}

int lc_bpf_detach(live_lifecycle_t *lc, pid_t tgid)
{
    struct bpfmm_lc_proc cur;
    uint32_t key = (uint32_t)tgid;
    int valid = kernel_entry(lc->bpf, tgid, &cur) == 0;
    int r = bpf_map__delete_elem(lc->bpf->skel->maps.procs, &key, sizeof(key), 0);
    return valid && r == 0 ? 0 : -ENOENT;
}

/* Calls fn for every procs entry (deleting those fn says to). Keys are collected first: the
 * programs insert and delete concurrently, and get_next_key restarts from the start when its
 * key has gone. */
static int sweep(struct lc_bpf *b,
                 bool (*fn)(void *arg, uint32_t tgid, const struct bpfmm_lc_proc *e, bool valid),
                 void *arg)
{
    uint32_t max = bpf_map__max_entries(b->skel->maps.procs);
    uint32_t *keys = malloc(((size_t)max + 1) * sizeof(*keys));
    size_t n = 0;
    uint32_t key, next;
    if (!keys)
        return -ENOMEM;
    int r = bpf_map__get_next_key(b->skel->maps.procs, NULL, &next, sizeof(next));
    while (r == 0 && n < max) {
        keys[n++] = next;
        key = next;
        r = bpf_map__get_next_key(b->skel->maps.procs, &key, &next, sizeof(next));
    }
    for (size_t i = 0; i < n; i++) {
        struct bpfmm_lc_proc e;
        if (bpf_map__lookup_elem(b->skel->maps.procs, &keys[i], sizeof(keys[i]), &e, sizeof(e), 0))
            continue;
        struct bpfmm_lc_policy pol;
        bool valid = bpf_map__lookup_elem(b->skel->maps.policies, &e.policy_id, sizeof(e.policy_id),
                                          &pol, sizeof(pol), 0) == 0 &&
                     pol.gen == e.gen;
        if (fn(arg, keys[i], &e, valid))
            bpf_map__delete_elem(b->skel->maps.procs, &keys[i], sizeof(keys[i]), 0);
    }
    free(keys);
    return 0;
}

struct detach_arg {
    uint32_t policy_id;
    int n;
};

static bool detach_one(void *arg, uint32_t tgid, const struct bpfmm_lc_proc *e, bool valid)
{
    struct detach_arg *a = arg;
    if (e->policy_id != a->policy_id)
        return !valid; /* collect garbage on the way */
    a->n++;
    return true;
}

int lc_bpf_detach_policy(live_lifecycle_t *lc, uint32_t policy_id)
{
    struct lc_bpf *b = lc->bpf;
    /* First the policy: from here on no fork inherits it and no entry of it counts. */
    int r = bpf_map__delete_elem(b->skel->maps.policies, &policy_id, sizeof(policy_id), 0);
    if (r == -ENOENT)
        return 0;
    struct detach_arg a = {.policy_id = policy_id};
    r = sweep(b, detach_one, &a);
    return r ? r : a.n;
}

int lc_bpf_lookup(live_lifecycle_t *lc, pid_t tgid, uint32_t *policy_id)
{
    struct bpfmm_lc_proc e;
    int r = kernel_entry(lc->bpf, tgid, &e);
    if (r)
        return r;
    *policy_id = e.policy_id;
    return 0;
}

struct list_arg {
    uint32_t policy_id;
    struct lc_kentry *v;
    size_t n, cap;
    int err;
};

static bool list_one(void *arg, uint32_t tgid, const struct bpfmm_lc_proc *e, bool valid)
{
    struct list_arg *a = arg;
    if (!valid)
        return true; /* garbage: its policy was detached */
    if (a->policy_id && e->policy_id != a->policy_id)
        return false;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct lc_kentry *v = realloc(a->v, cap * sizeof(*v));
        if (!v) {
            a->err = -ENOMEM;
            return false;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n].tgid = (pid_t)tgid;
    a->v[a->n].parent = (pid_t)e->parent;
    a->v[a->n].policy_id = e->policy_id;
    a->v[a->n++].gen = e->gen;
    return false;
}

static int cmp_kentry(const void *x, const void *y)
{
    const struct lc_kentry *a = x, *b = y;
    return (a->tgid > b->tgid) - (a->tgid < b->tgid);
}

/* The valid entries (of policy_id, 0: all), ascending by tgid, in a->v. */
static int snapshot(struct lc_bpf *b, uint32_t policy_id, struct list_arg *a)
{
    memset(a, 0, sizeof(*a));
    a->policy_id = policy_id;
    int r = sweep(b, list_one, a);
    if (!r)
        r = a->err;
    if (r) {
        free(a->v);
        a->v = NULL;
        return r;
    }
    if (a->n)
        qsort(a->v, a->n, sizeof(*a->v), cmp_kentry);
    return 0;
}

int lc_bpf_list(live_lifecycle_t *lc, uint32_t policy_id, struct live_lc_proc *out, size_t cap)
{
    struct list_arg a;
    int r = snapshot(lc->bpf, policy_id, &a);
    if (r)
        return r;
    for (size_t i = 0; out && i < a.n && i < cap; i++) {
        out[i].tgid = a.v[i].tgid;
        out[i].parent = a.v[i].parent;
        out[i].policy_id = a.v[i].policy_id;
    }
    free(a.v);
    return (int)a.n;
}

static int reconcile(live_lifecycle_t *lc)
{
    struct list_arg a;
    int r = snapshot(lc->bpf, 0, &a);
    if (r)
        return r;
    lc_core_reconcile(&lc->core, a.v, a.n);
    free(a.v);
    return 0;
}

int lc_bpf_consume(live_lifecycle_t *lc)
{
    struct lc_bpf *b = lc->bpf;
    int r = ring_buffer__consume(b->rb);
    uint64_t drops = __atomic_load_n(&b->skel->bss->lc_ringbuf_drops, __ATOMIC_RELAXED);
    if (drops != b->seen_drops) {
        /* Records were lost: the map is the truth. Records written after the snapshot are
         * consumed next time and are consistent with it (lifecycle_core.c). */
        lc->core.st.lost += drops - b->seen_drops;
        b->seen_drops = drops;
        int e = reconcile(lc);
        if (e)
            return e;
    }
    return r < 0 ? r : 0;
}

uint64_t lc_bpf_insert_fails(live_lifecycle_t *lc)
{
    return __atomic_load_n(&lc->bpf->skel->bss->lc_insert_fails, __ATOMIC_RELAXED);
}
