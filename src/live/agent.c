/*
 * The agent object (see agent.h): options and defaults, the policies it loaded (each a scope
 * policy whose program handle is a loaded bpfmm_policy_t), attach/detach/global with the
 * caller's permission check, the lifecycle hooks, and status. The per-process cadence is
 * agent_proc.c's, acting agent_act.c's, the step agent_step.c's.
 */
#include "agent_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers shared by the agent's files --------------------------------------------------- */

void agent_log(live_agent_t *a, enum live_agent_log_level lvl, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (a->o.log)
        a->o.log(a->o.arg, lvl, msg);
    else if (lvl <= LIVE_AGENT_LOG_WARN)
        fprintf(stderr, "bpfmm agent: %s\n", msg);
}

uint64_t agent_now(const live_agent_t *a)
{
    return a->os->now_ns();
}

uint64_t agent_cpu(live_agent_t *a)
{
    return a->o.cpu_ns(a->o.arg);
}

int agent_err_index(int err)
{
    return (int)live_agent_err_of(err);
}

enum live_agent_err live_agent_err_of(int err)
{
    switch (err < 0 ? -err : err) {
    case EAGAIN:
        return LIVE_AGENT_E_AGAIN;
    case ENOMEM:
        return LIVE_AGENT_E_NOMEM;
    case EINVAL:
        return LIVE_AGENT_E_INVAL;
    case EBUSY:
        return LIVE_AGENT_E_BUSY;
    case ESRCH:
        return LIVE_AGENT_E_SRCH;
    case EPERM:
        return LIVE_AGENT_E_PERM;
    case EACCES:
        return LIVE_AGENT_E_ACCES;
    default:
        return LIVE_AGENT_E_OTHER;
    }
}

const char *live_agent_err_name(enum live_agent_err e)
{
    static const char *const names[] = {"EAGAIN", "ENOMEM", "EINVAL", "EBUSY",
                                        "ESRCH",  "EPERM",  "EACCES", "other"};
    return (unsigned)e < LIVE_AGENT_NR_ERRS ? names[e] : "?";
}

const char *live_agent_proc_state_name(enum live_agent_proc_state s)
{
    switch (s) {
    case LIVE_AGENT_PROC_ACTIVE:
        return "active";
    case LIVE_AGENT_PROC_GONE:
        return "gone";
    case LIVE_AGENT_PROC_NOT_PERMITTED:
        return "not permitted";
    case LIVE_AGENT_PROC_THP_DISABLED:
        return "THP disabled by prctl";
    case LIVE_AGENT_PROC_ERROR:
        return "error";
    }
    return "?";
}

static void set_err(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t size, const char *fmt, ...)
{
    if (!err || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

struct agent_proc *agent_proc_find(live_agent_t *a, pid_t pid)
{
    size_t lo = 0, hi = a->nprocs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->procs[mid]->pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->nprocs && a->procs[lo]->pid == pid ? a->procs[lo] : NULL;
}

struct agent_policy *agent_policy_find(live_agent_t *a, uint32_t id)
{
    for (size_t i = 0; i < a->npols; i++)
        if (a->pols[i].id == id)
            return &a->pols[i];
    return NULL;
}

/* --- creation ------------------------------------------------------------------------------ */

static uint32_t def(uint32_t v, uint32_t d)
{
    return v ? v : d;
}

static uint64_t host_sysfs_orders(void *arg)
{
    live_agent_t *a = arg;
    return a->f->thp_orders_enabled;
}

static void host_trace(void *arg, const char *policy, const char *msg)
{
    live_agent_t *a = arg;
    if (a->o.trace)
        a->o.trace(a->o.arg, policy, a->deciding, msg);
}

static void host_fault(void *arg, const char *policy, const struct bpfmm_rt_fault *fault)
{
    live_agent_t *a = arg;
    /* A faulting policy faults on every range: one message per second is enough. */
    uint64_t now = agent_now(a);
    a->faults_unlogged++;
    if (a->fault_log_ns && now - a->fault_log_ns < 1000000000ull)
        return;
    agent_log(a, LIVE_AGENT_LOG_WARN,
              "policy %s faulted at run time (insn %u: %s): its answer was ignored (no "
              "opinion); %llu fault(s) since the last message",
              policy, fault->insn, fault->msg, (unsigned long long)a->faults_unlogged);
    a->fault_log_ns = now;
    a->faults_unlogged = 0;
}

live_agent_t *live_agent_new(const struct live_agent_opts *opts, char *err, size_t err_size)
{
    struct live_agent_opts o = {0};
    if (opts) {
        if (opts->sz < offsetof(struct live_agent_opts, budget) || opts->sz > sizeof(o)) {
            set_err(err, err_size, "agent options: bad size %zu (expected %zu)", opts->sz,
                    sizeof(o));
            errno = EINVAL;
            return NULL;
        }
        memcpy(&o, opts, opts->sz);
    }
    o.sz = sizeof(o);
    if (o.batch_blocks > LIVE_ACT_MAX_BLOCKS) {
        set_err(err, err_size,
                "agent options: batch_blocks %u is above the kernel's limit of %u "
                "iovecs per call",
                o.batch_blocks, LIVE_ACT_MAX_BLOCKS);
        errno = EINVAL;
        return NULL;
    }
    live_agent_t *a = calloc(1, sizeof(*a));
    if (!a) {
        set_err(err, err_size, "agent: out of memory");
        errno = ENOMEM;
        return NULL;
    }
    a->os = o.os ? o.os : &live_os_linux;
    o.os = a->os;
    a->f = o.features ? o.features : live_probe_cached(a->os);
    o.batch_blocks = def(o.batch_blocks, LIVE_AGENT_DEF_BATCH_BLOCKS);
    o.check_interval_ms = def(o.check_interval_ms, LIVE_AGENT_DEF_CHECK_MS);
    o.scan_interval_ms = def(o.scan_interval_ms, LIVE_AGENT_DEF_SCAN_MS);
    o.smaps_interval_ms = def(o.smaps_interval_ms, LIVE_AGENT_DEF_SMAPS_MS);
    o.smaps_min_interval_ms = def(o.smaps_min_interval_ms, LIVE_AGENT_DEF_SMAPS_MIN_MS);
    o.discover_interval_ms = def(o.discover_interval_ms, LIVE_AGENT_DEF_DISCOVER_MS);
    o.meminfo_interval_ms = def(o.meminfo_interval_ms, LIVE_AGENT_DEF_MEMINFO_MS);
    o.enomem_backoff_ms = def(o.enomem_backoff_ms, LIVE_AGENT_DEF_ENOMEM_MS);
    o.eagain_backoff_ms = def(o.eagain_backoff_ms, LIVE_AGENT_DEF_EAGAIN_MS);
    o.ebusy_backoff_ms = def(o.ebusy_backoff_ms, LIVE_AGENT_DEF_EBUSY_MS);
    o.max_backoff_ms = def(o.max_backoff_ms, LIVE_AGENT_DEF_MAX_BACKOFF_MS);
    o.perm_retry_ms = def(o.perm_retry_ms, LIVE_AGENT_DEF_PERM_RETRY_MS);
    o.slice_ms = def(o.slice_ms, LIVE_AGENT_DEF_SLICE_MS);
    o.max_procs = def(o.max_procs, 1u << 16);
    if (!o.list_pids)
        o.list_pids = agent_sys_list_pids;
    if (!o.cpu_ns)
        o.cpu_ns = agent_sys_cpu_ns;
    if (!o.self_pid)
        o.self_pid = agent_sys_self();
    a->o = o;
    a->page_size = a->f->page_size ? a->f->page_size : 4096;
    a->pmd_size = a->f->hpage_pmd_size ? a->f->hpage_pmd_size : 2ull << 20;
    a->lock_per_block_ns = 600000; /* linux-thp.md: ~0.55 ms per warm 2 MiB block */
    a->host = (struct bpfmm_policy_host){
        .sz = sizeof(a->host),
        .mem_available = agent_mem_available,
        .sysfs_thp_orders = host_sysfs_orders,
        .trace = host_trace,
        .fault = host_fault,
        .arg = a,
    };
    a->scope = bpfmm_scope_new(&(struct bpfmm_scope_opts){.sz = sizeof(struct bpfmm_scope_opts),
                                                          .max_procs = o.max_procs});
    a->sc = live_scanner_new(a->os, a->f);
    int e =
        a->scope && a->sc ? live_act_batch_init(&a->batch, a->pmd_size, o.batch_blocks) : -ENOMEM;
    if (e) {
        set_err(err, err_size, "agent: cannot set up its scope, scanner or batch: %s",
                strerror(-e));
        live_agent_free(a);
        errno = -e;
        return NULL;
    }
    agent_budget_apply(a, o.budget);
    a->o.budget = NULL; /* the caller's pointer need not outlive the call */
    return a;
}

void live_agent_free(live_agent_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nprocs; i++)
        agent_proc_free(a->procs[i]);
    free(a->procs);
    if (a->scope)
        bpfmm_scope_free(a->scope); /* releases (closes) every program */
    for (size_t i = 0; i < a->npols; i++) {
        for (unsigned k = 0; k < a->pols[i].nr_rodata; k++)
            free(a->pols[i].rodata[k]);
        free(a->pols[i].rodata);
    }
    free(a->pols);
    live_scanner_free(a->sc);
    live_act_batch_free(&a->batch);
    free(a->ignored);
    free(a->listbuf);
    free(a);
}

bpfmm_scope_t *live_agent_scope(live_agent_t *a)
{
    return a->scope;
}

const struct live_features *live_agent_features(const live_agent_t *a)
{
    return a->f;
}

int live_agent_set_budget(live_agent_t *a, const struct live_agent_budget *b)
{
    if (b && (b->sz < offsetof(struct live_agent_budget, off) || b->sz > sizeof(*b)))
        return -EINVAL;
    agent_budget_apply(a, b);
    return 0;
}

/* Drops the state of pid if no policy governs it any more; re-decides otherwise. */
static void reconsider(live_agent_t *a, pid_t pid)
{
    struct agent_proc *p = agent_proc_find(a, pid);
    if (!p)
        return;
    if (bpfmm_scope_policy_of(a->scope, pid, NULL) == BPFMM_SCOPE_NONE)
        p->drop = true;
    else
        agent_proc_invalidate(a, p, false);
}

/* --- policies ------------------------------------------------------------------------------ */

static void prog_release(void *prog, void *arg)
{
    struct agent_prog *pr = prog;
    bpfmm_policy_close(pr->pol);
    free(pr);
}

static struct agent_prog *load_prog(live_agent_t *a, const char *source, const char *const *rodata,
                                    unsigned nr, char *err, size_t err_size)
{
    char log[2048] = "";
    struct bpfmm_policy_opts po = {
        .sz = sizeof(po),
        .rodata = rodata,
        .nr_rodata = nr,
        .host = &a->host,
        .log_buf = log,
        .log_size = sizeof(log),
    };
    bpfmm_policy_t *pol = bpfmm_policy_open(source, &po);
    if (!pol) {
        int e = errno ? errno : EINVAL;
        set_err(err, err_size, "policy %s: %s", source, log[0] ? log : strerror(e));
        errno = e;
        return NULL;
    }
    struct agent_prog *pr = calloc(1, sizeof(*pr));
    if (!pr) {
        bpfmm_policy_close(pol);
        set_err(err, err_size, "policy %s: out of memory", source);
        errno = ENOMEM;
        return NULL;
    }
    pr->pol = pol;
    pr->reads_shared = bpfmm_policy_reads_field(pol, nr_shared);
    pr->reads_referenced = bpfmm_policy_reads_field(pol, vma_referenced);
    pr->reads_vma_flags = bpfmm_policy_reads_field(pol, vma_flags);
    return pr;
}

static int save_source(struct agent_policy *ap, const char *source, const char *const *rodata,
                       unsigned nr, bpfmm_policy_t *pol)
{
    char **copy = nr ? calloc(nr, sizeof(*copy)) : NULL;
    if (nr && !copy)
        return -ENOMEM;
    for (unsigned i = 0; i < nr; i++)
        if (!(copy[i] = strdup(rodata[i]))) {
            while (i--)
                free(copy[i]);
            free(copy);
            return -ENOMEM;
        }
    for (unsigned k = 0; k < ap->nr_rodata; k++)
        free(ap->rodata[k]);
    free(ap->rodata);
    ap->rodata = copy;
    ap->nr_rodata = nr;
    snprintf(ap->source, sizeof(ap->source), "%s", source);
    snprintf(ap->path, sizeof(ap->path), "%s", bpfmm_policy_path(pol));
    size_t len = 0;
    ap->rodata_text[0] = 0;
    for (unsigned i = 0; i < nr && len < sizeof(ap->rodata_text); i++)
        len += (size_t)snprintf(ap->rodata_text + len, sizeof(ap->rodata_text) - len, "%s%s",
                                i ? "," : "", rodata[i]);
    return 0;
}

int live_agent_policy_add(live_agent_t *a, const char *name, const char *source,
                          const char *const *rodata, unsigned nr_rodata, uint32_t *id, char *err,
                          size_t err_size)
{
    if (!source || !*source) {
        set_err(err, err_size,
                "policy: no source given (a shipped name such as \"default\", or "
                "a path to a .bpf.o)");
        return -EINVAL;
    }
    if (a->npols == a->cappols) {
        size_t cap = a->cappols ? a->cappols * 2 : 8;
        struct agent_policy *n = realloc(a->pols, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        a->pols = n;
        a->cappols = cap;
    }
    struct agent_prog *pr = load_prog(a, source, rodata, nr_rodata, err, err_size);
    if (!pr)
        return -errno;
    const char *nm = name && *name ? name : bpfmm_policy_name(pr->pol);
    uint32_t nid = 0;
    int r = bpfmm_scope_policy_create(a->scope, nm, pr, prog_release, NULL, &nid);
    if (r) {
        set_err(err, err_size, "policy %s: %s", nm, bpfmm_scope_last_error());
        prog_release(pr, NULL);
        return r;
    }
    struct agent_policy *ap = &a->pols[a->npols];
    memset(ap, 0, sizeof(*ap));
    ap->id = nid;
    ap->cur = pr;
    if (save_source(ap, source, rodata, nr_rodata, pr->pol)) {
        bpfmm_scope_policy_destroy(a->scope, nid);
        return -ENOMEM;
    }
    a->npols++;
    if (id)
        *id = nid;
    agent_log(a, LIVE_AGENT_LOG_INFO, "policy %s (id %u) loaded from %s", nm, nid, ap->path);
    return 0;
}

/* Every process governed (locally or through the global) by policy id re-decides. */
static void invalidate_policy(live_agent_t *a, uint32_t id)
{
    for (size_t i = 0; i < a->nprocs; i++) {
        uint32_t pid_id = 0;
        enum bpfmm_scope_how how = bpfmm_scope_policy_of(a->scope, a->procs[i]->pid, &pid_id);
        if (how == BPFMM_SCOPE_NONE || pid_id == id || a->procs[i]->policy_id == id)
            agent_proc_invalidate(a, a->procs[i], false);
    }
}

int live_agent_policy_update(live_agent_t *a, uint32_t id, const char *source,
                             const char *const *rodata, unsigned nr_rodata, char *err,
                             size_t err_size)
{
    struct agent_policy *ap = agent_policy_find(a, id);
    if (!ap) {
        set_err(err, err_size, "update: no policy with id %u", id);
        return -ENOENT;
    }
    char src[256];
    snprintf(src, sizeof(src), "%s", source && *source ? source : ap->source);
    if (!source && !rodata) {
        rodata = (const char *const *)ap->rodata;
        nr_rodata = ap->nr_rodata;
    }
    struct agent_prog *pr = load_prog(a, src, rodata, nr_rodata, err, err_size);
    if (!pr)
        return -errno;
    /* Copy the rodata before the swap: rodata may point into ap's own copies. */
    struct agent_policy tmp = {0};
    if (save_source(&tmp, src, rodata, nr_rodata, pr->pol)) {
        prog_release(pr, NULL);
        return -ENOMEM;
    }
    int r = bpfmm_scope_policy_update(a->scope, id, pr, prog_release, NULL);
    if (r) {
        set_err(err, err_size, "update: %s", bpfmm_scope_last_error());
        prog_release(pr, NULL);
        for (unsigned k = 0; k < tmp.nr_rodata; k++)
            free(tmp.rodata[k]);
        free(tmp.rodata);
        return r;
    }
    for (unsigned k = 0; k < ap->nr_rodata; k++)
        free(ap->rodata[k]);
    free(ap->rodata);
    memcpy(ap->source, tmp.source, sizeof(ap->source));
    memcpy(ap->path, tmp.path, sizeof(ap->path));
    memcpy(ap->rodata_text, tmp.rodata_text, sizeof(ap->rodata_text));
    ap->rodata = tmp.rodata;
    ap->nr_rodata = tmp.nr_rodata;
    ap->cur = pr;
    /* The scope swapped the program for every process at once; candidates the old program
     * chose are dropped here, in the same call, so none is collapsed under the old one. */
    invalidate_policy(a, id);
    agent_log(a, LIVE_AGENT_LOG_INFO, "policy id %u updated from %s", id, ap->path);
    return 0;
}

int live_agent_policy_remove(live_agent_t *a, uint32_t id)
{
    struct agent_policy *ap = agent_policy_find(a, id);
    if (!ap)
        return -ENOENT;
    int r = bpfmm_scope_policy_destroy(a->scope, id);
    if (r)
        return r;
    for (unsigned k = 0; k < ap->nr_rodata; k++)
        free(ap->rodata[k]);
    free(ap->rodata);
    size_t idx = (size_t)(ap - a->pols);
    memmove(&a->pols[idx], &a->pols[idx + 1], (a->npols - idx - 1) * sizeof(*a->pols));
    a->npols--;
    for (size_t i = 0; i < a->nprocs; i++)
        reconsider(a, a->procs[i]->pid);
    agent_proc_sweep(a);
    return 0;
}

int live_agent_policy_find(live_agent_t *a, const char *name, uint32_t *id)
{
    return bpfmm_scope_policy_find(a->scope, name, id);
}

int live_agent_policy_info(live_agent_t *a, uint32_t id, struct live_agent_policy_info *info)
{
    struct agent_policy *ap = agent_policy_find(a, id);
    struct bpfmm_scope_policy_info si;
    if (!ap || bpfmm_scope_policy_info(a->scope, id, &si))
        return -ENOENT;
    memset(info, 0, sizeof(*info));
    info->id = id;
    memcpy(info->name, si.name, sizeof(info->name));
    memcpy(info->source, ap->source, sizeof(info->source));
    memcpy(info->path, ap->path, sizeof(info->path));
    memcpy(info->rodata, ap->rodata_text, sizeof(info->rodata));
    info->version = si.version;
    info->nr_procs = si.nr_procs;
    info->global = si.global;
    struct bpfmm_policy_stats ps = {.sz = sizeof(ps)};
    if (ap->cur && !bpfmm_policy_get_stats(ap->cur->pol, &ps)) {
        info->calls = ps.calls;
        info->faults = ps.faults;
    }
    return 0;
}

bpfmm_policy_t *live_agent_policy_get(live_agent_t *a, uint32_t id)
{
    struct agent_policy *ap = agent_policy_find(a, id);
    if (!ap || !ap->cur) {
        errno = ENOENT;
        return NULL;
    }
    return ap->cur->pol;
}

int live_agent_policy_ids(live_agent_t *a, uint32_t *ids, size_t cap)
{
    return bpfmm_scope_policy_ids(a->scope, ids, cap);
}

/* --- processes ----------------------------------------------------------------------------- */

int live_agent_attach(live_agent_t *a, uint32_t id, pid_t pid,
                      const struct live_agent_creds *caller, char *err, size_t err_size)
{
    if (pid <= 0) {
        set_err(err, err_size, "attach: process id %d is not valid (must be > 0)", (int)pid);
        return -EINVAL;
    }
    struct agent_policy *ap = agent_policy_find(a, id);
    if (!ap) {
        set_err(err, err_size, "attach: no policy with id %u (add it first)", id);
        return -ENOENT;
    }
    char msg[256];
    struct live_proc *h = live_proc_open(a->os, pid, 0, msg, sizeof(msg));
    if (!h) {
        int e = errno;
        set_err(err, err_size, "attach %d: %s", (int)pid, msg);
        return -e;
    }
    /* A zombie has no memory left to manage. */
    struct live_statm sm;
    int r = live_proc_statm(h, &sm);
    if (r == 0 && sm.size == 0) {
        set_err(err, err_size,
                "attach %d (%s): it has no memory (a kernel thread or an exiting "
                "process): nothing to manage",
                (int)pid, h->comm);
        live_proc_close(h);
        return r == 0 ? -ESRCH : r;
    }
    r = agent_caller_may_ptrace(a, h, caller, "attach", err, err_size);
    if (r) {
        live_proc_close(h);
        return r;
    }
    /* The agent's own rights: reading its page tables (ptrace read) and collapsing
     * (CAP_SYS_NICE for another process). */
    r = live_proc_pagemap_fd(h);
    if (r < 0) {
        set_err(err, err_size, "attach %d (%s): the agent cannot read its page tables: %s (%s)",
                (int)pid, h->comm, live_errno_name(r), live_proc_err_hint(r));
        live_proc_close(h);
        return r;
    }
    if (!a->f->can_collapse_others && pid != a->o.self_pid) {
        set_err(err, err_size,
                "attach %d (%s): the agent cannot collapse another process's "
                "memory: %s",
                (int)pid, h->comm, live_proc_err_hint(EPERM));
        live_proc_close(h);
        return -EPERM;
    }
    uint64_t start_time = h->start_time;
    live_proc_close(h);
    r = bpfmm_scope_attach(a->scope, id, pid);
    if (r) {
        set_err(err, err_size, "attach %d: %s", (int)pid, bpfmm_scope_last_error());
        return r;
    }
    struct agent_proc *p = agent_proc_find(a, pid);
    if (p) {
        agent_proc_invalidate(a, p, false); /* it was covered by the global policy */
    } else if (!agent_proc_add(a, pid, start_time)) {
        int e = errno;
        bpfmm_scope_detach(a->scope, pid);
        set_err(err, err_size, "attach %d: %s", (int)pid,
                e == ESRCH    ? "the process exited meanwhile"
                : e == ENOSPC ? "the agent follows its maximum number of processes"
                              : strerror(e));
        return -e;
    }
    agent_log(a, LIVE_AGENT_LOG_INFO, "process %d attached to policy id %u", (int)pid, id);
    return 0;
}

int live_agent_detach(live_agent_t *a, pid_t pid)
{
    int r = bpfmm_scope_detach(a->scope, pid);
    if (r)
        return r;
    reconsider(a, pid);
    agent_proc_sweep(a);
    return 0;
}

int live_agent_global_set(live_agent_t *a, uint32_t id, const struct live_agent_creds *caller,
                          char *err, size_t err_size)
{
    if (caller && caller->uid != 0) {
        set_err(err, err_size,
                "global set: only root may set a global policy (it acts on every "
                "process, which only root could ptrace); caller uid %u",
                (unsigned)caller->uid);
        return -EPERM;
    }
    if (!agent_policy_find(a, id)) {
        set_err(err, err_size, "global set: no policy with id %u (add it first)", id);
        return -ENOENT;
    }
    int r = bpfmm_scope_global_set(a->scope, id);
    if (r) {
        set_err(err, err_size, "global set: %s", bpfmm_scope_last_error());
        return r;
    }
    for (size_t i = 0; i < a->nprocs; i++)
        if (bpfmm_scope_policy_of(a->scope, a->procs[i]->pid, NULL) == BPFMM_SCOPE_GLOBAL)
            agent_proc_invalidate(a, a->procs[i], false);
    a->discover_ns = 0; /* list /proc at the next step */
    return 0;
}

void live_agent_global_clear(live_agent_t *a)
{
    bpfmm_scope_global_clear(a->scope);
    for (size_t i = 0; i < a->nprocs; i++)
        reconsider(a, a->procs[i]->pid);
    agent_proc_sweep(a);
}

int live_agent_caller_may_act(live_agent_t *a, pid_t pid, const struct live_agent_creds *caller,
                              const char *what, char *err, size_t err_size)
{
    if (!caller || caller->uid == 0)
        return 0;
    char msg[256];
    struct live_proc *h = live_proc_open(a->os, pid, 0, msg, sizeof(msg));
    if (!h) {
        int e = errno;
        set_err(err, err_size, "%s %d: %s", what, (int)pid, msg);
        return -e;
    }
    int r = agent_caller_may_ptrace(a, h, caller, what, err, err_size);
    live_proc_close(h);
    return r;
}

int live_agent_on_fork(live_agent_t *a, pid_t parent, pid_t child, uint64_t start_time)
{
    if (parent < 0 || child <= 0)
        return -EINVAL;
    if (parent == child)
        return 0;
    if (parent == 0) /* recovered child: its policy is already in the scope */
        goto follow;
    uint32_t pid_, cid = 0;
    enum bpfmm_scope_how ph = bpfmm_scope_policy_of(a->scope, parent, &pid_);
    enum bpfmm_scope_how ch = bpfmm_scope_policy_of(a->scope, child, &cid);
    /* Apply the scope's inheritance unless the event was already applied to the scope. */
    if (ph == BPFMM_SCOPE_LOCAL ? !(ch == BPFMM_SCOPE_LOCAL && cid == pid_)
                                : ch == BPFMM_SCOPE_LOCAL) {
        int r = bpfmm_scope_fork(a->scope, parent, child);
        if (r)
            return r;
    }
    struct agent_proc *par = agent_proc_find(a, parent);
    if (par)
        agent_proc_forked(a, par);
follow:;
    struct agent_proc *old = agent_proc_find(a, child);
    if (old) { /* a stale state under a reused pid */
        old->drop = true;
        agent_proc_sweep(a);
    }
    enum bpfmm_scope_how how = bpfmm_scope_policy_of(a->scope, child, NULL);
    if (how == BPFMM_SCOPE_LOCAL || (how == BPFMM_SCOPE_GLOBAL && child != a->o.self_pid))
        agent_proc_add(a, child, start_time); /* ESRCH: it exited already; the exit follows */
    return 0;
}

int live_agent_on_exec(live_agent_t *a, pid_t tgid)
{
    if (tgid <= 0)
        return -EINVAL;
    bpfmm_scope_exec(a->scope, tgid);
    struct agent_proc *p = agent_proc_find(a, tgid);
    if (p) {
        agent_proc_invalidate(a, p, true);
        if (p->h)
            live_proc_refresh_comm(p->h);
        p->own_mm = a->o.fork_events; /* a new mm: nothing in it is anyone else's */
    }
    return 0;
}

void live_agent_events_lost(live_agent_t *a)
{
    for (size_t i = 0; i < a->nprocs; i++)
        if (a->procs[i]->own_mm) {
            a->procs[i]->own_mm = false;
            agent_proc_invalidate(a, a->procs[i], false);
        }
}

int live_agent_on_exit(live_agent_t *a, pid_t tgid)
{
    if (tgid <= 0)
        return -EINVAL;
    bpfmm_scope_exit(a->scope, tgid);
    struct agent_proc *p = agent_proc_find(a, tgid);
    if (p) {
        p->drop = true;
        agent_proc_sweep(a);
    }
    return 0;
}

/* --- status -------------------------------------------------------------------------------- */

int live_agent_procs(live_agent_t *a, pid_t *pids, size_t cap)
{
    for (size_t i = 0; i < a->nprocs && i < cap; i++)
        pids[i] = a->procs[i]->pid;
    return (int)a->nprocs;
}

int live_agent_proc_status(live_agent_t *a, pid_t pid, struct live_agent_proc_status *st)
{
    if (!st || st->sz < offsetof(struct live_agent_proc_status, c))
        return -EINVAL;
    struct agent_proc *p = agent_proc_find(a, pid);
    if (!p)
        return -ENOENT;
    struct live_agent_proc_status s = {0};
    s.sz = st->sz < sizeof(s) ? st->sz : sizeof(s);
    s.pid = p->pid;
    if (p->h)
        memcpy(s.comm, p->h->comm, sizeof(s.comm));
    s.how = bpfmm_scope_policy_of(a->scope, pid, &s.policy_id);
    if (s.how == BPFMM_SCOPE_NONE)
        s.policy_id = 0;
    struct bpfmm_scope_policy_info pi;
    if (s.policy_id && !bpfmm_scope_policy_info(a->scope, s.policy_id, &pi))
        memcpy(s.policy, pi.name, sizeof(s.policy));
    s.state = p->state;
    memcpy(s.state_msg, p->msg, sizeof(s.state_msg));
    s.anon_rss = p->anon_rss;
    s.anon_huge = p->anon_huge < p->anon_rss || !p->anon_rss ? p->anon_huge : p->anon_rss;
    s.thp_share = p->anon_rss ? (double)s.anon_huge / (double)p->anon_rss : 0;
    s.candidates = live_cand_pending(&p->cands);
    s.marked =
        live_marks_active(&p->marks, agent_now(a)) + live_marks_active(&p->vma_marks, agent_now(a));
    s.hot = p->hot;
    s.last_scan_ns = p->scan_ns;
    s.c = p->c;
    memcpy(st, &s, s.sz);
    return 0;
}

int live_agent_status(live_agent_t *a, struct live_agent_status *st)
{
    if (!st || st->sz < offsetof(struct live_agent_status, budget))
        return -EINVAL;
    struct live_agent_status s = {0};
    s.sz = st->sz < sizeof(s) ? st->sz : sizeof(s);
    s.now_ns = agent_now(a);
    s.nr_procs = (uint32_t)a->nprocs;
    s.nr_policies = (uint32_t)a->npols;
    for (size_t i = 0; i < a->nprocs; i++)
        if ((unsigned)a->procs[i]->state < 5)
            s.by_state[a->procs[i]->state]++;
    uint32_t gid = 0;
    if (!bpfmm_scope_global_get(a->scope, &gid))
        s.global_id = gid;
    s.c = a->total;
    s.cpu_ns = a->cpu_ns;
    if (a->total.bytes_scanned)
        s.cpu_ms_per_gib_scanned =
            ((double)a->cpu_ns / 1e6) / ((double)a->total.bytes_scanned / (double)(1ull << 30));
    s.enomem_until_ns = a->enomem_until > s.now_ns ? a->enomem_until : 0;
    s.mem_available = a->mem_available;
    s.budget = a->budget;
    s.batch_blocks = a->o.batch_blocks;
    memcpy(st, &s, s.sz);
    return 0;
}
