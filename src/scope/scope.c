/*
 * Scope: the policy objects, the rules of seed 000 (EBUSY, inherit on fork, keep on exec, drop
 * on exit, detach all, atomic update, global fallback) and counted program versions for
 * lookups. The process table's storage is scope_table.c's; how events are obtained is the
 * caller's. See include/bpfmm/scope.h for the guarantees.
 *
 * Locking: one mutex guards policies, the table and the global pointer. Program versions are
 * reference counted with atomics so that a reference can be put without the lock, and the
 * release callback always runs after the lock is dropped.
 */
#include <bpfmm/scope.h>

#include "scope_table.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCOPE_DEF_MAX_PROCS (1u << 22)

/* One program handle as given to create or update; lookups hold references to it. */
struct scope_version {
    atomic_long refs;
    void *prog;
    bpfmm_scope_release_fn release;
    void *release_arg;
    uint32_t policy_id;
    uint64_t version;
};

struct scope_policy {
    uint32_t id;
    char name[BPFMM_SCOPE_NAME_LEN];
    struct scope_version *cur; /* the policy's own reference */
    struct scope_proc head;    /* list sentinel (only prev/next used) */
    uint32_t nr_procs;
    uint64_t attaches, inherits, exits;
};

struct bpfmm_scope {
    pthread_mutex_t lock;
    struct scope_policy **pols; /* ascending id (ids only grow, so appending keeps order) */
    size_t nr_pols, cap_pols;
    uint32_t next_id;
    struct scope_policy *global;
    struct scope_table table;
    uint32_t max_procs;
};

static __thread char last_error[256];

const char *bpfmm_scope_last_error(void)
{
    return last_error;
}

__attribute__((format(printf, 2, 3))) static int fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return err;
}

/* --- versions ------------------------------------------------------------------------------ */

static struct scope_version *version_new(void *prog, bpfmm_scope_release_fn release, void *arg,
                                         uint32_t policy_id, uint64_t version)
{
    struct scope_version *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->prog = prog;
    v->release = release;
    v->release_arg = arg;
    v->policy_id = policy_id;
    v->version = version;
    return v;
}

static void version_put(struct scope_version *v)
{
    if (!v)
        return;
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
        if (v->release)
            v->release(v->prog, v->release_arg);
        free(v);
    }
}

/* --- helpers (lock held) ------------------------------------------------------------------- */

static struct scope_policy *policy_get(bpfmm_scope_t *s, uint32_t id)
{
    size_t lo = 0, hi = s->nr_pols;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->pols[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nr_pols && s->pols[lo]->id == id ? s->pols[lo] : NULL;
}

static struct scope_policy *policy_by_name(bpfmm_scope_t *s, const char *name)
{
    for (size_t i = 0; i < s->nr_pols; i++)
        if (!strcmp(s->pols[i]->name, name))
            return s->pols[i];
    return NULL;
}

static void list_add(struct scope_policy *p, struct scope_proc *e)
{
    e->pol = p;
    e->next = &p->head;
    e->prev = p->head.prev;
    p->head.prev->next = e;
    p->head.prev = e;
    p->nr_procs++;
}

static void list_del(struct scope_proc *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->pol->nr_procs--;
    e->pol = NULL;
    e->prev = e->next = NULL;
}

/* A managed process is gone (exit, or a stale entry under a reused pid): off its list, out of
 * the table, counted as an exit of its policy. */
static void proc_gone(bpfmm_scope_t *s, struct scope_proc *e)
{
    e->pol->exits++;
    list_del(e);
    table_remove(&s->table, e);
}

static int check_tgid(int32_t tgid, const char *what)
{
    if (tgid <= 0)
        return fail(-EINVAL, "scope %s: tgid %d is not a process id (must be > 0)", what,
                    (int)tgid);
    return 0;
}

static int no_policy(uint32_t id, const char *what)
{
    return fail(-ENOENT,
                "scope %s: no policy with id %u (never created, or already destroyed); list the "
                "live policies and use one of their ids",
                what, id);
}

/* --- lifetime ------------------------------------------------------------------------------ */

bpfmm_scope_t *bpfmm_scope_new(const struct bpfmm_scope_opts *opts)
{
    if (opts && opts->sz < sizeof(size_t)) {
        fail(-EINVAL, "scope new: opts->sz is %zu; set it to sizeof(struct bpfmm_scope_opts)",
             opts->sz);
        errno = EINVAL;
        return NULL;
    }
    bpfmm_scope_t *s = calloc(1, sizeof(*s));
    if (!s || table_init(&s->table)) {
        free(s);
        fail(-ENOMEM, "scope new: out of memory");
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->next_id = 1;
    s->max_procs = SCOPE_DEF_MAX_PROCS;
    if (opts && opts->sz >= offsetof(struct bpfmm_scope_opts, max_procs) + sizeof(uint32_t) &&
        opts->max_procs)
        s->max_procs = opts->max_procs;
    return s;
}

void bpfmm_scope_free(bpfmm_scope_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nr_pols; i++) {
        version_put(s->pols[i]->cur);
        free(s->pols[i]);
    }
    free(s->pols);
    table_fini(&s->table);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* --- policies ------------------------------------------------------------------------------ */

static int check_name(const char *name)
{
    if (!name || !*name)
        return fail(-EINVAL, "scope policy create: the name is empty; give the policy a name");
    size_t n = strnlen(name, BPFMM_SCOPE_NAME_LEN);
    if (n >= BPFMM_SCOPE_NAME_LEN)
        return fail(-ENAMETOOLONG, "scope policy create: name '%.20s...' is longer than %d bytes",
                    name, BPFMM_SCOPE_NAME_LEN - 1);
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)name[i]))
            return fail(-EINVAL, "scope policy create: name has a non-printable byte 0x%02x at %zu",
                        (unsigned char)name[i], i);
    return 0;
}

int bpfmm_scope_policy_create(bpfmm_scope_t *s, const char *name, void *prog,
                              bpfmm_scope_release_fn release, void *release_arg, uint32_t *id)
{
    int err = check_name(name);
    if (err)
        return err;
    if (!prog)
        return fail(-EINVAL, "scope policy create '%s': the program handle is NULL", name);
    struct scope_policy *p = calloc(1, sizeof(*p));
    if (!p)
        return fail(-ENOMEM, "scope policy create '%s': out of memory", name);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->head.next = p->head.prev = &p->head;

    pthread_mutex_lock(&s->lock);
    if (policy_by_name(s, name)) {
        err = fail(-EEXIST,
                   "scope policy create: a policy named '%s' already exists; pick another "
                   "name, or update that policy instead",
                   name);
        goto out_unlock;
    }
    if (s->next_id == 0) { /* 2^32 - 1 policies created: ids are never reused */
        err = fail(-EOVERFLOW, "scope policy create '%s': policy ids exhausted", name);
        goto out_unlock;
    }
    if (s->nr_pols == s->cap_pols) {
        size_t cap = s->cap_pols ? s->cap_pols * 2 : 8;
        struct scope_policy **np = realloc(s->pols, cap * sizeof(*np));
        if (!np) {
            err = fail(-ENOMEM, "scope policy create '%s': out of memory", name);
            goto out_unlock;
        }
        s->pols = np;
        s->cap_pols = cap;
    }
    p->id = s->next_id;
    p->cur = version_new(prog, release, release_arg, p->id, 1);
    if (!p->cur) {
        err = fail(-ENOMEM, "scope policy create '%s': out of memory", name);
        goto out_unlock;
    }
    s->next_id++;
    s->pols[s->nr_pols++] = p;
    if (id)
        *id = p->id;
    pthread_mutex_unlock(&s->lock);
    return 0;

out_unlock:
    pthread_mutex_unlock(&s->lock);
    free(p);
    return err;
}

int bpfmm_scope_policy_destroy(bpfmm_scope_t *s, uint32_t id)
{
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (!p) {
        pthread_mutex_unlock(&s->lock);
        return no_policy(id, "policy destroy");
    }
    while (p->head.next != &p->head) {
        struct scope_proc *e = p->head.next;
        list_del(e);
        table_remove(&s->table, e);
    }
    if (s->global == p)
        s->global = NULL;
    size_t i = 0;
    while (s->pols[i] != p)
        i++;
    memmove(&s->pols[i], &s->pols[i + 1], (s->nr_pols - i - 1) * sizeof(s->pols[0]));
    s->nr_pols--;
    struct scope_version *v = p->cur;
    pthread_mutex_unlock(&s->lock);
    version_put(v); /* outside the lock: the release callback may call back in */
    free(p);
    return 0;
}

int bpfmm_scope_policy_update(bpfmm_scope_t *s, uint32_t id, void *prog,
                              bpfmm_scope_release_fn release, void *release_arg)
{
    if (!prog)
        return fail(-EINVAL, "scope policy update %u: the program handle is NULL", id);
    struct scope_version *nv = version_new(prog, release, release_arg, id, 0);
    if (!nv)
        return fail(-ENOMEM, "scope policy update %u: out of memory", id);
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (!p) {
        pthread_mutex_unlock(&s->lock);
        free(nv);
        return no_policy(id, "policy update");
    }
    struct scope_version *old = p->cur;
    nv->version = old->version + 1;
    p->cur = nv; /* every process of the policy sees nv from now on: they all go through p */
    pthread_mutex_unlock(&s->lock);
    version_put(old);
    return 0;
}

int bpfmm_scope_policy_find(bpfmm_scope_t *s, const char *name, uint32_t *id)
{
    if (!name)
        return fail(-EINVAL, "scope policy find: name is NULL");
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_by_name(s, name);
    if (p && id)
        *id = p->id;
    pthread_mutex_unlock(&s->lock);
    return p ? 0 : fail(-ENOENT, "scope policy find: no policy named '%s'", name);
}

int bpfmm_scope_policy_info(bpfmm_scope_t *s, uint32_t id, struct bpfmm_scope_policy_info *info)
{
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (p) {
        memset(info, 0, sizeof(*info));
        info->id = p->id;
        memcpy(info->name, p->name, sizeof(info->name));
        info->nr_procs = p->nr_procs;
        info->version = p->cur->version;
        info->global = s->global == p;
        info->attaches = p->attaches;
        info->inherits = p->inherits;
        info->exits = p->exits;
    }
    pthread_mutex_unlock(&s->lock);
    return p ? 0 : no_policy(id, "policy info");
}

int bpfmm_scope_policy_ids(bpfmm_scope_t *s, uint32_t *ids, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nr_pols;
    for (size_t i = 0; i < n && i < cap; i++)
        ids[i] = s->pols[i]->id;
    pthread_mutex_unlock(&s->lock);
    return (int)n;
}

static int cmp_tgid(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int bpfmm_scope_policy_procs(bpfmm_scope_t *s, uint32_t id, int32_t *tgids, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (!p) {
        pthread_mutex_unlock(&s->lock);
        return no_policy(id, "policy procs");
    }
    size_t n = p->nr_procs, k = 0;
    int32_t *all = n <= cap ? tgids : malloc(n * sizeof(*all));
    if (!all && n) { /* n == 0 with cap 0 (sizing a NULL buffer) is not a failure */
        pthread_mutex_unlock(&s->lock);
        return fail(-ENOMEM, "scope policy procs %u: out of memory", id);
    }
    for (struct scope_proc *e = p->head.next; e != &p->head; e = e->next)
        all[k++] = e->tgid;
    pthread_mutex_unlock(&s->lock);
    if (n)
        qsort(all, n, sizeof(*all), cmp_tgid);
    if (all != tgids) {
        if (cap)
            memcpy(tgids, all, cap * sizeof(*all));
        free(all);
    }
    return (int)n;
}

/* --- processes ----------------------------------------------------------------------------- */

int bpfmm_scope_attach(bpfmm_scope_t *s, uint32_t id, int32_t tgid)
{
    int err = check_tgid(tgid, "attach");
    if (err)
        return err;
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (!p) {
        pthread_mutex_unlock(&s->lock);
        return no_policy(id, "attach");
    }
    struct scope_proc *e = table_find(&s->table, tgid);
    if (e) {
        err = fail(-EBUSY,
                   "scope attach: process %d is already managed by policy %u '%s' (one local "
                   "policy per process); detach it first, or update that policy",
                   (int)tgid, e->pol->id, e->pol->name);
    } else if (s->table.nr >= s->max_procs) {
        err = fail(-ENOSPC, "scope attach: %u processes are already tracked (the limit)",
                   s->max_procs);
    } else if (!(e = table_insert(&s->table, tgid))) {
        err = fail(-ENOMEM, "scope attach %d: out of memory", (int)tgid);
    } else {
        list_add(p, e);
        p->attaches++;
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

int bpfmm_scope_detach(bpfmm_scope_t *s, int32_t tgid)
{
    int err = check_tgid(tgid, "detach");
    if (err)
        return err;
    pthread_mutex_lock(&s->lock);
    struct scope_proc *e = table_find(&s->table, tgid);
    if (e) {
        list_del(e);
        table_remove(&s->table, e);
    }
    pthread_mutex_unlock(&s->lock);
    return e ? 0 : fail(-ENOENT, "scope detach: process %d has no local policy", (int)tgid);
}

int bpfmm_scope_fork(bpfmm_scope_t *s, int32_t parent_tgid, int32_t child_tgid)
{
    int err = check_tgid(parent_tgid, "fork (parent)");
    if (!err)
        err = check_tgid(child_tgid, "fork (child)");
    if (err || parent_tgid == child_tgid)
        return err;
    pthread_mutex_lock(&s->lock);
    struct scope_proc *pe = table_find(&s->table, parent_tgid);
    struct scope_proc *ce = table_find(&s->table, child_tgid);
    if (ce) {
        /* A fork reports a new process: an entry under its pid belongs to an earlier process
         * whose exit we never saw. It must not leak its policy to the new one. */
        proc_gone(s, ce);
    }
    if (pe) {
        if (s->table.nr >= s->max_procs) {
            err = fail(-ENOSPC, "scope fork %d -> %d: %u processes are already tracked",
                       (int)parent_tgid, (int)child_tgid, s->max_procs);
        } else if (!(ce = table_insert(&s->table, child_tgid))) {
            err = fail(-ENOMEM, "scope fork %d -> %d: out of memory", (int)parent_tgid,
                       (int)child_tgid);
        } else {
            list_add(pe->pol, ce);
            pe->pol->inherits++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return err;
}

int bpfmm_scope_exec(bpfmm_scope_t *s, int32_t tgid)
{
    /* The policy belongs to the process, not to its image: nothing changes. */
    return check_tgid(tgid, "exec");
}

int bpfmm_scope_exit(bpfmm_scope_t *s, int32_t tgid)
{
    int err = check_tgid(tgid, "exit");
    if (err)
        return err;
    pthread_mutex_lock(&s->lock);
    struct scope_proc *e = table_find(&s->table, tgid);
    if (e)
        proc_gone(s, e);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* --- global -------------------------------------------------------------------------------- */

int bpfmm_scope_global_set(bpfmm_scope_t *s, uint32_t id)
{
    pthread_mutex_lock(&s->lock);
    struct scope_policy *p = policy_get(s, id);
    if (p)
        s->global = p;
    pthread_mutex_unlock(&s->lock);
    return p ? 0 : no_policy(id, "global set");
}

void bpfmm_scope_global_clear(bpfmm_scope_t *s)
{
    pthread_mutex_lock(&s->lock);
    s->global = NULL;
    pthread_mutex_unlock(&s->lock);
}

int bpfmm_scope_global_get(bpfmm_scope_t *s, uint32_t *id)
{
    pthread_mutex_lock(&s->lock);
    struct scope_policy *g = s->global;
    if (g && id)
        *id = g->id;
    pthread_mutex_unlock(&s->lock);
    return g ? 0 : fail(-ENOENT, "scope global get: no global policy is set");
}

/* --- lookups ------------------------------------------------------------------------------- */

int bpfmm_scope_lookup(bpfmm_scope_t *s, int32_t tgid, struct bpfmm_scope_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    int err = check_tgid(tgid, "lookup");
    if (err)
        return err;
    pthread_mutex_lock(&s->lock);
    struct scope_proc *e = table_find(&s->table, tgid);
    struct scope_policy *p = e ? e->pol : s->global;
    if (p) {
        struct scope_version *v = p->cur;
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
        ref->prog = v->prog;
        ref->policy_id = p->id;
        ref->version = v->version;
        ref->how = e ? BPFMM_SCOPE_LOCAL : BPFMM_SCOPE_GLOBAL;
        ref->priv = v;
    }
    pthread_mutex_unlock(&s->lock);
    return p ? 0 : -ENOENT; /* the common "unmanaged" answer: no message, it is not an error */
}

void bpfmm_scope_ref_put(struct bpfmm_scope_ref *ref)
{
    if (!ref || !ref->priv)
        return;
    struct scope_version *v = ref->priv;
    memset(ref, 0, sizeof(*ref));
    version_put(v);
}

enum bpfmm_scope_how bpfmm_scope_policy_of(bpfmm_scope_t *s, int32_t tgid, uint32_t *id)
{
    if (tgid <= 0)
        return BPFMM_SCOPE_NONE;
    pthread_mutex_lock(&s->lock);
    struct scope_proc *e = table_find(&s->table, tgid);
    struct scope_policy *p = e ? e->pol : s->global;
    enum bpfmm_scope_how how = e ? BPFMM_SCOPE_LOCAL : (p ? BPFMM_SCOPE_GLOBAL : BPFMM_SCOPE_NONE);
    if (p && id)
        *id = p->id;
    pthread_mutex_unlock(&s->lock);
    return how;
}
