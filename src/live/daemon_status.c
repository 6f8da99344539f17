/*
 * The status document (`bpfmm status --json`, and the input of the Prometheus output): the
 * features probed at start, the lifecycle mechanism and its counters, what is enforced and
 * what is not, the budget, the engine's totals, the policies, and per process: the policy,
 * anon RSS, THP share, collapses done and failed by errno, bytes collapsed, mmap-lock time
 * consumed, the last scan. docs/agent-daemon.md lists every field.
 */
#include "daemon_impl.h"

#include "control_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
#define JI(v)         json_object_new_int64((int64_t)(v))
#define JS(v)         json_object_new_string(v)
#define JB(v)         json_object_new_boolean((v) ? 1 : 0)
#define JD(v)         json_object_new_double(v)

static const char *const enforced[] = {
    "background collapse, per 2 MiB range: the policy is asked (type KHUGEPAGED) about every "
    "range that is not yet huge, and only the ranges it allows are collapsed "
    "(process_madvise MADV_COLLAPSE), within the budget",
    "one local policy per process, inherited by children forked after the attach, kept at "
    "exec; a global policy for processes without one",
    "THP at page fault, process-wide only, and only for commands started by `bpfmm run`: "
    "prctl(PR_SET_THP_DISABLE) before exec when the policy allows no THP at fault",
};
static const char *const not_enforced[] = {
    "per-VMA fault-time decisions (type PAGEFAULT): stock kernels have no hook; the kernel's "
    "THP settings (sysfs, MADV_HUGEPAGE) decide at fault",
    "mTHP sizes at fault (orders below 2 MiB): the per-size sysfs settings decide",
    "swap-in (type SWAPIN): the kernel decides",
    "khugepaged's own collapses: it keeps running with its sysfs settings",
    "THP at fault for processes attached after they started (prctl can only be set by the "
    "process itself)",
};

static struct json_object *counters_json(const struct live_agent_counters *c)
{
    struct json_object *o = json_object_new_object();
    JADD(o, "calls", JI(c->calls));
    JADD(o, "collapses", JI(c->collapses));
    JADD(o, "collapse_bytes", JI(c->collapse_bytes));
    JADD(o, "partial", JI(c->partial));
    struct json_object *f = json_object_new_object();
    for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
        if (c->failed[e])
            JADD(f, live_agent_err_name(e), JI(c->failed[e]));
    JADD(o, "failed", f);
    JADD(o, "mmap_lock_us", JI(c->lock_ns / 1000));
    JADD(o, "collapse_wall_us", JI(c->collapse_wall_ns / 1000));
    JADD(o, "collapse_cpu_us", JI(c->collapse_cpu_ns / 1000));
    JADD(o, "scans", JI(c->scans));
    JADD(o, "scanned_bytes", JI(c->bytes_scanned));
    JADD(o, "smaps_reads", JI(c->smaps_reads));
    JADD(o, "decisions", JI(c->decisions));
    JADD(o, "refused", JI(c->refused));
    JADD(o, "budget_waits", JI(c->budget_waits));
    JADD(o, "shared_unread_scans", JI(c->shared_unread_scans));
    return o;
}

static struct json_object *features_json(const struct live_features *f)
{
    struct json_object *o = json_object_new_object();
    char *report = live_probe_report(f);
    JADD(o, "report", JS(report ? report : ""));
    free(report);
    JADD(o, "kernel", JS(f->release));
    JADD(o, "madv_collapse", JB(f->madv_collapse));
    JADD(o, "madv_collapse_remote", JB(f->madv_collapse_remote));
    JADD(o, "pagemap_scan", JB(f->pagemap_scan));
    JADD(o, "pagemap_scan_guard", JB(f->pagemap_scan_guard));
    JADD(o, "procmap_query", JB(f->procmap_query));
    JADD(o, "thp_disable_except_advised", JB(f->thp_disable_except_advised));
    JADD(o, "root", JB(f->root));
    JADD(o, "can_collapse_others", JB(f->can_collapse_others));
    JADD(o, "can_lifecycle_bpf", JB(f->can_lifecycle_bpf));
    JADD(o, "thp_enabled", JS(f->thp_enabled));
    JADD(o, "thp_defrag", JS(f->thp_defrag));
    return o;
}

static struct json_object *lifecycle_json(struct live_daemon *d)
{
    struct json_object *o = json_object_new_object();
    JADD(o, "mechanism", JS(live_lifecycle_describe(d->lc)));
    JADD(o, "mode", JS(live_lifecycle_mode(d->lc) == LIVE_LC_BPF ? "bpf" : "procconn"));
    JADD(o, "bpf_reason", JS(live_lifecycle_bpf_reason(d->lc)));
    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    if (live_lifecycle_get_stats(d->lc, &st) == 0) {
        JADD(o, "managed", JI(st.managed));
        JADD(o, "forks", JI(st.forks));
        JADD(o, "execs", JI(st.execs));
        JADD(o, "exits", JI(st.exits));
        JADD(o, "lost", JI(st.lost));
        JADD(o, "reconciles", JI(st.reconciles));
        JADD(o, "rescans", JI(st.rescans));
        JADD(o, "rescan_found", JI(st.rescan_found));
        JADD(o, "insert_fails", JI(st.insert_fails));
        JADD(o, "pidfd_fails", JI(st.pidfd_fails));
    }
    return o;
}

static struct json_object *policies_json(struct live_daemon *d)
{
    struct json_object *arr = json_object_new_array();
    for (unsigned i = 0; i < d->reg.nr_policies; i++) {
        const struct live_state_policy *p = &d->reg.policies[i];
        struct live_agent_policy_info info = {0};
        if (live_agent_policy_info(d->agent, p->id, &info))
            continue;
        struct json_object *o = json_object_new_object();
        JADD(o, "name", JS(p->name));
        JADD(o, "id", JI(p->id));
        JADD(o, "source", JS(p->source));
        JADD(o, "path", JS(info.path));
        struct json_object *ro = json_object_new_array();
        for (unsigned j = 0; j < p->nr_rodata; j++)
            json_object_array_add(ro, JS(p->rodata[j]));
        JADD(o, "rodata", ro);
        JADD(o, "version", JI(info.version));
        JADD(o, "processes", JI(info.nr_procs));
        JADD(o, "global", JB(info.global));
        JADD(o, "calls", JI(info.calls));
        JADD(o, "faults", JI(info.faults));
        JADD(o, "map_edits", JI(p->nr_edits));
        json_object_array_add(arr, o);
    }
    return arr;
}

static struct json_object *proc_json(struct live_daemon *d, const struct live_agent_proc_status *s,
                                     uint64_t now)
{
    struct json_object *o = json_object_new_object();
    JADD(o, "pid", JI(s->pid));
    JADD(o, "comm", JS(s->comm));
    JADD(o, "policy", JS(s->policy));
    JADD(o, "how",
         JS(s->how == BPFMM_SCOPE_LOCAL    ? "local"
            : s->how == BPFMM_SCOPE_GLOBAL ? "global"
                                           : "none"));
    JADD(o, "state", JS(live_agent_proc_state_name(s->state)));
    JADD(o, "state_msg", JS(s->state_msg));
    JADD(o, "start_time", JI(dstart_get(d, s->pid)));
    JADD(o, "anon_rss", JI(s->anon_rss));
    JADD(o, "anon_huge", JI(s->anon_huge));
    JADD(o, "thp_share", JD(s->thp_share));
    JADD(o, "collapses", JI(s->c.collapses));
    JADD(o, "collapsed_bytes", JI(s->c.collapse_bytes));
    struct json_object *f = json_object_new_object();
    for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
        if (s->c.failed[e])
            JADD(f, live_agent_err_name(e), JI(s->c.failed[e]));
    JADD(o, "collapse_failures", f);
    JADD(o, "calls", JI(s->c.calls));
    JADD(o, "partial", JI(s->c.partial));
    JADD(o, "mmap_lock_us", JI(s->c.lock_ns / 1000));
    JADD(o, "scans", JI(s->c.scans));
    JADD(o, "scanned_bytes", JI(s->c.bytes_scanned));
    JADD(o, "decisions", JI(s->c.decisions));
    JADD(o, "refused", JI(s->c.refused));
    JADD(o, "shared_unread_scans", JI(s->c.shared_unread_scans));
    JADD(o, "candidates", JI(s->candidates));
    JADD(o, "marked", JI(s->marked));
    if (s->last_scan_ns)
        JADD(o, "last_scan_age_s", JD(now > s->last_scan_ns ? (now - s->last_scan_ns) / 1e9 : 0));
    else
        JADD(o, "last_scan_age_s", NULL);
    return o;
}

struct json_object *dstatus(struct live_daemon *d)
{
    struct json_object *st = live_ctl_reply_ok();
    if (!st)
        return NULL;
    uint64_t now = d->os->now_ns();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    struct json_object *agent = json_object_new_object();
    JADD(agent, "pid", JI(getpid()));
    JADD(agent, "version", JS("0.1.0"));
    JADD(agent, "uptime_s", JD((now - d->start_ns) / 1e9));
    JADD(agent, "cpu_s",
         JD(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6));
    JADD(agent, "socket", JS(d->cfg.socket));
    JADD(agent, "state_file", JS(d->cfg.state));
    JADD(agent, "config_file", JS(d->config_path ? d->config_path : ""));
    JADD(st, "agent", agent);
    JADD(st, "features", features_json(d->f));
    JADD(st, "lifecycle", lifecycle_json(d));

    struct json_object *enf = json_object_new_object(), *a1 = json_object_new_array(),
                       *a2 = json_object_new_array();
    for (size_t i = 0; i < sizeof(enforced) / sizeof(enforced[0]); i++)
        json_object_array_add(a1, JS(enforced[i]));
    for (size_t i = 0; i < sizeof(not_enforced) / sizeof(not_enforced[0]); i++)
        json_object_array_add(a2, JS(not_enforced[i]));
    JADD(enf, "enforced", a1);
    JADD(enf, "not_enforced", a2);
    JADD(st, "enforcement", enf);

    struct live_agent_status as = {.sz = sizeof(as)};
    if (live_agent_status(d->agent, &as) == 0) {
        struct json_object *b = json_object_new_object();
        const struct live_agent_budget *bg = &as.budget;
        JADD(b, "off", JB(bg->off));
        JADD(b, "global_bytes_per_s",
             bg->global_bytes_per_s == LIVE_AGENT_UNLIMITED ? NULL : JI(bg->global_bytes_per_s));
        JADD(b, "proc_bytes_per_s",
             bg->proc_bytes_per_s == LIVE_AGENT_UNLIMITED ? NULL : JI(bg->proc_bytes_per_s));
        JADD(b, "proc_lock_us_per_s",
             bg->proc_lock_us_per_s == LIVE_AGENT_UNLIMITED ? NULL : JI(bg->proc_lock_us_per_s));
        JADD(b, "burst_ms", JI(bg->burst_ms));
        JADD(b, "batch_blocks", JI(as.batch_blocks));
        JADD(b, "enomem_backoff_s",
             JD(as.enomem_until_ns > as.now_ns ? (as.enomem_until_ns - as.now_ns) / 1e9 : 0));
        JADD(st, "budget", b);
        struct json_object *e = counters_json(&as.c);
        JADD(e, "processes", JI(as.nr_procs));
        struct json_object *bs = json_object_new_object();
        for (int s = 0; s < 5; s++)
            JADD(bs, live_agent_proc_state_name(s), JI(as.by_state[s]));
        JADD(e, "by_state", bs);
        JADD(e, "cpu_ms", JD(as.cpu_ns / 1e6));
        JADD(e, "cpu_ms_per_gib_scanned", JD(as.cpu_ms_per_gib_scanned));
        JADD(e, "mem_available", JI(as.mem_available));
        JADD(st, "engine", e);
    }
    struct live_state_policy *g = d->global_id ? dreg_by_id(d, d->global_id) : NULL;
    JADD(st, "global", g ? JS(g->name) : NULL);
    JADD(st, "policies", policies_json(d));

    struct json_object *procs = json_object_new_array();
    int n = live_agent_procs(d->agent, NULL, 0);
    pid_t *pids = n > 0 ? calloc((size_t)n, sizeof(*pids)) : NULL;
    if (pids) {
        n = live_agent_procs(d->agent, pids, (size_t)n);
        for (int i = 0; i < n; i++) {
            struct live_agent_proc_status ps = {.sz = sizeof(ps)};
            if (live_agent_proc_status(d->agent, pids[i], &ps) == 0)
                json_object_array_add(procs, proc_json(d, &ps, now));
        }
        free(pids);
    }
    JADD(st, "processes", procs);
    return st;
}

char *dprom_text(void *arg)
{
    struct json_object *st = dstatus(arg);
    if (!st)
        return NULL;
    char *text = live_prom_format(st);
    json_object_put(st);
    return text;
}
