/*
 * Lifecycle core: the table of managed processes and the rules applied to raw events (see
 * lifecycle_core.h). Mechanism-independent and free of Linux calls (struct lc_sys).
 *
 * Callbacks run synchronously and may add or remove entries, so no entry pointer is held
 * across a delivery: loops work on copied tgid lists and look entries up again.
 */
#include "lifecycle_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t bucket_of(const struct lc_core *c, pid_t tgid)
{
    uint32_t h = (uint32_t)tgid * 2654435761u;
    return h & (c->nbuckets - 1);
}

int lc_core_init(struct lc_core *c, const struct lc_sys *sys, live_lc_event_fn fn, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->sys = *sys;
    if (!c->sys.ticks_per_sec)
        c->sys.ticks_per_sec = 100;
    c->on_event = fn;
    c->arg = arg;
    c->nbuckets = 256;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets)
        return -ENOMEM;
    c->next_gen = 1;
    c->st.sz = sizeof(c->st);
    return 0;
}

static void entry_free(struct lc_core *c, struct lc_entry *e)
{
    if (e->watched && c->sys.unwatch)
        c->sys.unwatch(c->sys.backend, e->pidfd);
    if (e->pidfd >= 0)
        c->sys.close_fd(c->sys.arg, e->pidfd);
    free(e->excl);
    free(e);
}

void lc_core_fini(struct lc_core *c)
{
    if (!c->buckets)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct lc_entry *e = c->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            entry_free(c, e);
        }
    }
    free(c->buckets);
    free(c->pols);
    memset(c, 0, sizeof(*c));
}

/* --- policies ------------------------------------------------------------------------------ */

uint64_t lc_core_policy_gen(struct lc_core *c, uint32_t id, bool create)
{
    for (size_t i = 0; i < c->npols; i++)
        if (c->pols[i].id == id)
            return c->pols[i].gen;
    if (!create)
        return 0;
    if (c->npols == c->pols_cap) {
        size_t cap = c->pols_cap ? c->pols_cap * 2 : 8;
        struct lc_policy *p = realloc(c->pols, cap * sizeof(*p));
        if (!p)
            return 0;
        c->pols = p;
        c->pols_cap = cap;
    }
    c->pols[c->npols].id = id;
    c->pols[c->npols].gen = c->next_gen++;
    return c->pols[c->npols++].gen;
}

void lc_core_policy_drop(struct lc_core *c, uint32_t id)
{
    for (size_t i = 0; i < c->npols; i++) {
        if (c->pols[i].id == id) {
            c->pols[i] = c->pols[--c->npols];
            return;
        }
    }
}

/* --- the table ----------------------------------------------------------------------------- */

struct lc_entry *lc_core_find(struct lc_core *c, pid_t tgid)
{
    struct lc_entry *e = c->buckets[bucket_of(c, tgid)];
    while (e && e->tgid != tgid)
        e = e->next;
    return e;
}

static void grow(struct lc_core *c)
{
    size_t n = c->nbuckets * 2;
    struct lc_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    struct lc_entry **old = c->buckets;
    size_t oldn = c->nbuckets;
    c->buckets = b;
    c->nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        struct lc_entry *e = old[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t k = bucket_of(c, e->tgid);
            e->next = b[k];
            b[k] = e;
        }
    }
    free(old);
}

static struct lc_entry *insert(struct lc_core *c, pid_t tgid, pid_t parent, uint32_t policy_id,
                               uint64_t gen, int pidfd, uint64_t start_ticks)
{
    struct lc_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    if (c->count + 1 > c->nbuckets)
        grow(c);
    e->tgid = tgid;
    e->parent = parent;
    e->policy_id = policy_id;
    e->gen = gen;
    e->pidfd = pidfd;
    e->start_ticks = start_ticks;
    size_t k = bucket_of(c, tgid);
    e->next = c->buckets[k];
    c->buckets[k] = e;
    c->count++;
    c->st.managed = c->count;
    if (pidfd >= 0 && c->sys.watch && c->sys.watch(c->sys.backend, pidfd, tgid) == 0)
        e->watched = true;
    return e;
}

/* Unlinks tgid and returns its entry (not freed), or NULL. */
static struct lc_entry *unlink_entry(struct lc_core *c, pid_t tgid)
{
    struct lc_entry **pp = &c->buckets[bucket_of(c, tgid)];
    while (*pp && (*pp)->tgid != tgid)
        pp = &(*pp)->next;
    struct lc_entry *e = *pp;
    if (!e)
        return NULL;
    *pp = e->next;
    c->count--;
    c->st.managed = c->count;
    return e;
}

/* Every tgid in the table (policy_id 0: all). *n receives the count; NULL on ENOMEM. */
static pid_t *collect(struct lc_core *c, uint32_t policy_id, size_t *n)
{
    pid_t *v = malloc((c->count + 1) * sizeof(*v));
    size_t k = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct lc_entry *e = c->buckets[i]; e; e = e->next)
            if (!policy_id || e->policy_id == policy_id)
                v[k++] = e->tgid;
    *n = k;
    return v;
}

/* --- delivery ------------------------------------------------------------------------------ */

static void deliver(struct lc_core *c, enum live_lc_event_type type, uint32_t flags,
                    const struct lc_entry *e)
{
    struct live_lc_event ev = {
        .type = type,
        .flags = flags,
        .tgid = e->tgid,
        .parent = type == LIVE_LC_FORK ? e->parent : 0,
        .policy_id = e->policy_id,
        .start_time = e->start_ticks,
        .pidfd = e->pidfd,
    };
    if (type == LIVE_LC_FORK)
        c->st.forks++;
    else if (type == LIVE_LC_EXEC)
        c->st.execs++;
    else
        c->st.exits++;
    c->delivered++;
    if (c->on_event)
        c->on_event(c->arg, &ev);
}

/* --- identity ------------------------------------------------------------------------------ */

static uint64_t ns_per_tick(const struct lc_core *c)
{
    return 1000000000ull / c->sys.ticks_per_sec;
}

/* A pidfd for pid whose /proc/PID/stat was read while the pidfd's process still held the pid
 * (so *st describes that process). -ESRCH if it is gone. */
static int open_with_stat(struct lc_core *c, pid_t pid, struct lc_stat *st)
{
    int fd = c->sys.pidfd_open(c->sys.arg, pid);
    if (fd < 0) {
        /* Not "gone": out of descriptors (EMFILE) or refused. Counted for status. */
        if (fd != -ESRCH && fd != -ENOENT)
            c->st.pidfd_fails++;
        return fd;
    }
    if (c->sys.stat(c->sys.arg, pid, st) < 0 || c->sys.pidfd_alive(c->sys.arg, fd) != 1) {
        c->sys.close_fd(c->sys.arg, fd);
        return -ESRCH;
    }
    return fd;
}

static bool excluded(const struct lc_entry *root, pid_t pid, uint64_t start_ticks)
{
    for (uint32_t i = 0; i < root->nexcl; i++)
        if (root->excl[i].pid == pid && root->excl[i].start_ticks == start_ticks)
            return true;
    return false;
}

/* --- attach / detach ----------------------------------------------------------------------- */

static int snapshot_children(struct lc_core *c, struct lc_entry *e)
{
    size_t cap = 64;
    for (;;) {
        pid_t *kids = malloc(cap * sizeof(*kids));
        if (!kids)
            return -ENOMEM;
        int n = c->sys.children(c->sys.arg, e->tgid, kids, cap);
        if (n < 0) {
            free(kids);
            return n;
        }
        if ((size_t)n > cap) {
            free(kids);
            cap = (size_t)n + 64;
            continue;
        }
        e->excl = calloc((size_t)n + 1, sizeof(*e->excl));
        if (!e->excl) {
            free(kids);
            return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
            struct lc_stat st;
            if (c->sys.stat(c->sys.arg, kids[i], &st) < 0)
                continue; /* gone already: nothing to exclude */
            e->excl[e->nexcl].pid = kids[i];
            e->excl[e->nexcl++].start_ticks = st.start_ticks;
        }
        free(kids);
        return 0;
    }
}

int lc_core_add_root(struct lc_core *c, pid_t tgid, uint32_t policy_id, uint64_t gen, int pidfd,
                     uint64_t start_ticks, bool snapshot)
{
    if (lc_core_find(c, tgid))
        return -EEXIST;
    struct lc_entry *e = insert(c, tgid, 0, policy_id, gen, pidfd, start_ticks);
    if (!e)
        return -ENOMEM;
    if (snapshot) {
        int err = snapshot_children(c, e);
        if (err && err != -ESRCH && err != -ENOENT) {
            unlink_entry(c, tgid);
            e->pidfd = -1; /* the caller still owns it on failure */
            entry_free(c, e);
            return err;
        }
    }
    return 0;
}

int lc_core_remove(struct lc_core *c, pid_t tgid)
{
    struct lc_entry *e = unlink_entry(c, tgid);
    if (!e)
        return -ENOENT;
    entry_free(c, e);
    return 0;
}

int lc_core_remove_policy(struct lc_core *c, uint32_t policy_id)
{
    size_t n = 0;
    pid_t *v = collect(c, policy_id, &n);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        lc_core_remove(c, v[i]);
    free(v);
    return (int)n;
}

/* --- events -------------------------------------------------------------------------------- */

void lc_core_exec(struct lc_core *c, pid_t tgid, uint32_t flags)
{
    struct lc_entry *e = lc_core_find(c, tgid);
    if (e)
        deliver(c, LIVE_LC_EXEC, flags, e);
}

void lc_core_exit(struct lc_core *c, pid_t tgid, uint32_t flags)
{
    struct lc_entry *e = unlink_entry(c, tgid);
    if (!e)
        return;
    /* The pidfd stays valid during the callback, then goes with the entry. */
    deliver(c, LIVE_LC_EXIT, flags, e);
    entry_free(c, e);
}

void lc_core_kernel_fork(struct lc_core *c, pid_t child, pid_t parent, uint32_t policy_id,
                         uint64_t gen, uint64_t start_boottime_ns)
{
    /* A record written before its policy was detached (and maybe attached again). */
    if (lc_core_policy_gen(c, policy_id, false) != gen)
        return;
    uint64_t ticks = start_boottime_ns / ns_per_tick(c);
    struct lc_entry *old = lc_core_find(c, child);
    /* Already known: reconciliation read it from the map before this record was consumed. */
    if (old && old->start_ticks == ticks)
        return;
    /* Otherwise an entry under the child's pid is an earlier process whose exit was lost. */
    if (old)
        lc_core_exit(c, child, LIVE_LC_EV_RECONCILE);
    struct lc_stat st;
    int fd = open_with_stat(c, child, &st);
    if (fd >= 0 && st.start_ticks != ticks) {
        /* Another process holds the pid now: the child has exited (its EXIT follows). */
        c->sys.close_fd(c->sys.arg, fd);
        fd = -1;
    }
    if (fd < 0)
        fd = -1;
    struct lc_entry *e = insert(c, child, parent, policy_id, gen, fd, ticks);
    if (!e) {
        if (fd >= 0)
            c->sys.close_fd(c->sys.arg, fd);
        return;
    }
    deliver(c, LIVE_LC_FORK, 0, e);
}

bool lc_core_fork(struct lc_core *c, pid_t parent, pid_t child, uint64_t event_boot_ns)
{
    if (child == parent || child <= 0)
        return false;
    if (!lc_core_find(c, parent))
        return false;
    struct lc_entry *ce = lc_core_find(c, child);
    if (ce) {
        /* Already managed: a rescan got there first (same live process), or the entry is an
         * earlier process under this pid whose exit we have not handled yet. */
        if (ce->pidfd >= 0 && c->sys.pidfd_alive(c->sys.arg, ce->pidfd) == 1)
            return false;
        lc_core_exit(c, child, 0);
    }
    struct lc_stat st;
    int fd = open_with_stat(c, child, &st);
    if (fd < 0)
        return false; /* exited before we read the event: nothing left to manage */
    /* The process now under the pid must have started by the time of the event (start times
     * have clock-tick resolution); a later start means the child exited and its pid was
     * reused. */
    if (event_boot_ns && st.start_ticks * ns_per_tick(c) > event_boot_ns + ns_per_tick(c))
        goto skip;
    struct lc_entry *pe = lc_core_find(c, parent);
    if (!pe || excluded(pe, child, st.start_ticks))
        goto skip;
    struct lc_entry *e = insert(c, child, parent, pe->policy_id, pe->gen, fd, st.start_ticks);
    if (!e)
        goto skip;
    deliver(c, LIVE_LC_FORK, 0, e);
    return true;
skip:
    c->sys.close_fd(c->sys.arg, fd);
    return false;
}

/* Children of parent not yet managed are adopted and appended to *work. */
static int adopt_children(struct lc_core *c, pid_t parent, pid_t **work, size_t *n, size_t *cap)
{
    size_t kcap = 64;
    pid_t *kids = NULL;
    int k, adopted = 0;
    for (;;) {
        kids = malloc(kcap * sizeof(*kids));
        if (!kids)
            return -ENOMEM;
        k = c->sys.children(c->sys.arg, parent, kids, kcap);
        if (k < 0 || (size_t)k <= kcap)
            break;
        free(kids);
        kcap = (size_t)k + 64;
    }
    for (int i = 0; i < k; i++) {
        struct lc_entry *pe = lc_core_find(c, parent);
        if (!pe)
            break; /* a callback detached it */
        if (lc_core_find(c, kids[i]))
            continue;
        struct lc_stat st;
        int fd = open_with_stat(c, kids[i], &st);
        if (fd < 0)
            continue;
        /* Still parent's child (not a reused pid), and not one it had before the attach. */
        struct lc_entry *e = NULL;
        if (st.ppid != parent || excluded(pe, kids[i], st.start_ticks) ||
            !(e = insert(c, kids[i], parent, pe->policy_id, pe->gen, fd, st.start_ticks))) {
            c->sys.close_fd(c->sys.arg, fd);
            continue;
        }
        if (*n == *cap) {
            pid_t *w = realloc(*work, (*cap * 2 + 16) * sizeof(**work));
            if (w) {
                *work = w;
                *cap = *cap * 2 + 16;
            }
        }
        if (*n < *cap)
            (*work)[(*n)++] = kids[i];
        adopted++;
        c->st.rescan_found++;
        deliver(c, LIVE_LC_FORK, LIVE_LC_EV_RESCAN, e);
    }
    free(kids);
    return adopted;
}

int lc_core_rescan(struct lc_core *c)
{
    size_t n = 0, cap;
    pid_t *work = collect(c, 0, &n);
    int adopted = 0;
    if (!work)
        return -ENOMEM;
    cap = n;
    c->st.rescans++;
    for (size_t i = 0; i < n; i++) {
        int r = adopt_children(c, work[i], &work, &n, &cap);
        if (r > 0)
            adopted += r;
    }
    free(work);
    return adopted;
}

void lc_core_reconcile(struct lc_core *c, const struct lc_kentry *snap, size_t n)
{
    c->st.reconciles++;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct lc_entry *e = c->buckets[i]; e; e = e->next)
            e->mark = false;

    /* Survivors first, so that new entries below are not taken for survivors. */
    bool *fresh = calloc(n + 1, sizeof(*fresh));
    for (size_t i = 0; i < n; i++) {
        struct lc_entry *e = lc_core_find(c, snap[i].tgid);
        bool same = e && e->policy_id == snap[i].policy_id && e->gen == snap[i].gen &&
                    (e->pidfd < 0 || c->sys.pidfd_alive(c->sys.arg, e->pidfd) == 1);
        if (same)
            e->mark = true;
        else if (fresh)
            fresh[i] = true;
    }

    /* Gone (or replaced by another process under the same pid). */
    size_t m = 0;
    pid_t *all = collect(c, 0, &m);
    for (size_t i = 0; all && i < m; i++) {
        struct lc_entry *e = lc_core_find(c, all[i]);
        if (e && !e->mark)
            lc_core_exit(c, all[i], LIVE_LC_EV_RECONCILE);
    }

    /* Survivors may have exec'ed while events were lost. */
    for (size_t i = 0; all && i < m; i++) {
        struct lc_entry *e = lc_core_find(c, all[i]);
        if (e && e->mark) {
            e->mark = false;
            lc_core_exec(c, all[i], LIVE_LC_EV_RECONCILE);
        }
    }
    free(all);

    /* New: managed in the kernel, unknown here. */
    for (size_t i = 0; i < n; i++) {
        if (fresh && !fresh[i])
            continue;
        if (lc_core_find(c, snap[i].tgid))
            continue;
        int fd = c->sys.pidfd_open(c->sys.arg, snap[i].tgid);
        if (fd < 0 && fd != -ESRCH && fd != -ENOENT)
            c->st.pidfd_fails++;
        struct lc_stat st = {0};
        /* The pidfd names the managed process only if the map still lists the pid while the
         * pidfd's process holds it (the kernel drops entries at exit). */
        if (fd >= 0 &&
            (c->sys.stat(c->sys.arg, snap[i].tgid, &st) < 0 ||
             c->sys.pidfd_alive(c->sys.arg, fd) != 1 ||
             (c->sys.kernel_has && c->sys.kernel_has(c->sys.backend, snap[i].tgid,
                                                     snap[i].policy_id, snap[i].gen) != 1))) {
            c->sys.close_fd(c->sys.arg, fd);
            fd = -1;
        }
        if (fd < 0)
            fd = -1;
        if (fd < 0)
            st.start_ticks = 0;
        struct lc_entry *e = insert(c, snap[i].tgid, snap[i].parent, snap[i].policy_id, snap[i].gen,
                                    fd, st.start_ticks);
        if (!e) {
            if (fd >= 0)
                c->sys.close_fd(c->sys.arg, fd);
            continue;
        }
        deliver(c, LIVE_LC_FORK, LIVE_LC_EV_RECONCILE, e);
    }
    free(fresh);
}

/* --- listing ------------------------------------------------------------------------------- */

static int cmp_proc(const void *a, const void *b)
{
    const struct live_lc_proc *x = a, *y = b;
    return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

int lc_core_list(struct lc_core *c, uint32_t policy_id, struct live_lc_proc *out, size_t cap)
{
    struct live_lc_proc *all = malloc((c->count + 1) * sizeof(*all));
    size_t k = 0;
    if (!all)
        return -ENOMEM;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct lc_entry *e = c->buckets[i]; e; e = e->next) {
            if (policy_id && e->policy_id != policy_id)
                continue;
            all[k].tgid = e->tgid;
            all[k].parent = e->parent;
            all[k++].policy_id = e->policy_id;
        }
    }
    if (k)
        qsort(all, k, sizeof(*all), cmp_proc);
    if (out && cap && k)
        memcpy(out, all, (k < cap ? k : cap) * sizeof(*out));
    free(all);
    return (int)k;
}
