/*
 * One followed process (agent_impl.h's struct agent_proc): its state and status line, the
 * caller-permission check of attach, and the scanning cadence:
 *
 *   every check_interval  a cheap check: /proc/PID/stat (CPU ticks: hotness), the VMA list
 *                         (PROCMAP_QUERY, ~30 us) and statm; nothing more if the layout
 *                         hash, the resident count, the policy version are unchanged and the
 *                         last scan is younger than scan_interval;
 *   otherwise             /proc/PID/status (THP_enabled, RssAnon), smaps on its slow clock
 *                         (it walks every page table), a full range scan (PAGEMAP_SCAN, with
 *                         nr_shared where a policy reads it), and a new decision.
 *
 * Owns: what is read when, per-process failures (gone, not permitted, THP disabled). Not:
 * acting on the candidates (agent_act.c).
 */
#include "agent_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

/* --- creation and removal ------------------------------------------------------------------ */

static void open_failed(live_agent_t *a, struct agent_proc *p, int err, const char *msg)
{
    uint64_t now = agent_now(a);
    if (err == -EACCES || err == -EPERM) {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_NOT_PERMITTED, "%s", msg);
        p->retry_ns = now + a->o.perm_retry_ms * MS;
    } else {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_ERROR, "%s", msg);
        p->retry_ns = now + 5ull * a->o.check_interval_ms * MS;
    }
}

struct agent_proc *agent_proc_add(live_agent_t *a, pid_t pid, uint64_t start_time)
{
    if (a->nprocs >= a->o.max_procs) {
        agent_log(a, LIVE_AGENT_LOG_WARN,
                  "process %d: not followed, the agent already follows %zu processes (max_procs)",
                  (int)pid, a->nprocs);
        errno = ENOSPC;
        return NULL;
    }
    if (a->nprocs == a->capprocs) {
        size_t cap = a->capprocs ? a->capprocs * 2 : 64;
        struct agent_proc **n = realloc(a->procs, cap * sizeof(*n));
        if (!n) {
            errno = ENOMEM;
            return NULL;
        }
        a->procs = n;
        a->capprocs = cap;
    }
    struct agent_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    p->pid = pid;
    p->start_time = start_time;
    char msg[256];
    p->h = live_proc_open(a->os, pid, start_time, msg, sizeof(msg));
    if (!p->h) {
        int e = errno;
        if (e == ESRCH || e == EINVAL) {
            free(p);
            errno = e;
            return NULL;
        }
        open_failed(a, p, -e, msg);
    } else {
        p->start_time = p->h->start_time;
        p->image_gen = p->h->image_gen;
    }
    agent_proc_budget_init(a, p, agent_now(a));
    size_t lo = 0, hi = a->nprocs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->procs[mid]->pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&a->procs[lo + 1], &a->procs[lo], (a->nprocs - lo) * sizeof(*a->procs));
    a->procs[lo] = p;
    a->nprocs++;
    return p;
}

void agent_proc_free(struct agent_proc *p)
{
    if (!p)
        return;
    live_proc_close(p->h);
    live_vma_list_free(&p->vmas);
    live_vma_list_free(&p->smaps);
    live_vma_list_free(&p->scratch);
    live_scan_result_free(&p->res);
    live_cand_list_free(&p->cands);
    live_marks_free(&p->marks);
    live_marks_free(&p->vma_marks);
    free(p);
}

void agent_proc_sweep(live_agent_t *a)
{
    size_t out = 0;
    for (size_t i = 0; i < a->nprocs; i++) {
        if (a->procs[i]->drop)
            agent_proc_free(a->procs[i]);
        else
            a->procs[out++] = a->procs[i];
    }
    a->nprocs = out;
    if (a->rr >= a->nprocs)
        a->rr = 0;
}

void agent_proc_invalidate(live_agent_t *a, struct agent_proc *p, bool mm_changed)
{
    p->cands.nr = p->cands.first = 0;
    p->suspect = 0;
    p->dirty = true;
    p->next_check_ns = 0;
    if (mm_changed) {
        p->marks.nr = 0;
        p->vma_marks.nr = 0;
        p->have_smaps = false;
        p->have_res = false;
        p->anon_huge = 0;
    }
}

void agent_proc_forked(live_agent_t *a, struct agent_proc *p)
{
    p->own_mm = false;
    p->have_smaps = false;
    agent_proc_invalidate(a, p, false);
}

void agent_proc_set_state(live_agent_t *a, struct agent_proc *p, enum live_agent_proc_state s,
                          const char *fmt, ...)
{
    char msg[sizeof(p->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    bool changed = p->state != s || strcmp(p->msg, msg);
    p->state = s;
    memcpy(p->msg, msg, sizeof(msg));
    if (s != LIVE_AGENT_PROC_ACTIVE) {
        p->cands.nr = p->cands.first = 0;
        p->suspect = 0;
    }
    /* A process exiting is the normal end of its life, not a problem: only the states that
     * ask an operator to act are warnings. */
    bool normal = s == LIVE_AGENT_PROC_ACTIVE || s == LIVE_AGENT_PROC_GONE;
    if (changed)
        agent_log(a, normal ? LIVE_AGENT_LOG_INFO : LIVE_AGENT_LOG_WARN, "process %d: %s%s%s",
                  (int)p->pid, live_agent_proc_state_name(s), msg[0] ? ": " : "", msg);
}

/* --- /proc/PID/status and stat ------------------------------------------------------------- */

struct proc_status {
    int thp_enabled; /* -1 when the kernel does not say */
    uint64_t rss_anon;
    long uid[4], gid[4]; /* real, effective, saved, fs; -1 when unknown */
};

static int read_status(struct live_proc *h, struct proc_status *st)
{
    struct live_buf b = {0};
    int err = live_proc_read(h, "status", &b);
    memset(st, 0, sizeof(*st));
    st->thp_enabled = -1;
    for (int i = 0; i < 4; i++)
        st->uid[i] = st->gid[i] = -1;
    if (err) {
        live_buf_free(&b);
        return err;
    }
    for (char *line = b.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, "THP_enabled:", 12))
            st->thp_enabled = (int)strtol(line + 12, NULL, 10);
        else if (!strncmp(line, "RssAnon:", 8))
            st->rss_anon = strtoull(line + 8, NULL, 10) << 10;
        else if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4)) {
            long *v = line[0] == 'U' ? st->uid : st->gid;
            char *s = line + 4;
            for (int i = 0; i < 4; i++) {
                char *end;
                long x = strtol(s, &end, 10);
                if (end == s)
                    break;
                v[i] = x;
                s = end;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    live_buf_free(&b);
    return 0;
}

/* Fields 4 (ppid), 14 and 15 (utime, stime) of /proc/PID/stat. */
static int read_stat_fields(struct live_proc *h, uint64_t *ppid, uint64_t *ticks)
{
    char buf[1024];
    int fd = live_proc_openat(h, "stat", O_RDONLY);
    if (fd < 0)
        return fd;
    ssize_t n = h->os->read(fd, buf, sizeof(buf) - 1);
    h->os->close(fd);
    if (n < 0)
        return (int)n;
    buf[n] = 0;
    const char *s = strrchr(buf, ')');
    if (!s)
        return -EINVAL;
    s++;
    unsigned long long v[3] = {0, 0, 0};
    for (int field = 3; field <= 15; field++) {
        while (*s == ' ')
            s++;
        if (!*s)
            return -EINVAL;
        if (field == 4)
            v[0] = strtoull(s, NULL, 10);
        if (field >= 14)
            v[field - 13] = strtoull(s, NULL, 10);
        while (*s && *s != ' ')
            s++;
    }
    if (ppid)
        *ppid = v[0];
    if (ticks)
        *ticks = v[1] + v[2];
    return 0;
}

int agent_proc_ppid(struct live_proc *h)
{
    uint64_t ppid = 0;
    int r = read_stat_fields(h, &ppid, NULL);
    return r ? r : (int)ppid;
}

int agent_caller_may_ptrace(live_agent_t *a, struct live_proc *h, const struct live_agent_creds *c,
                            const char *what, char *err, size_t err_size)
{
    if (!c || c->uid == 0)
        return 0;
    struct proc_status st;
    int r = read_status(h, &st);
    if (r) {
        if (err)
            snprintf(err, err_size, "%s %d: cannot read its credentials: %s", what, (int)h->pid,
                     live_errno_name(r));
        return r == -ENOENT ? -ESRCH : r;
    }
    /* Linux's ptrace access rule (PTRACE_MODE_READ_FSCREDS, what process_madvise and
     * /proc/PID/pagemap check) without CAP_SYS_PTRACE: the caller's uid must be the target's
     * real, effective and saved uid, and likewise for gids. */
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok &= st.uid[i] == (long)c->uid && st.gid[i] == (long)c->gid;
    if (ok) {
        /* ... and the target must be dumpable, which /proc/PID's owner tells. */
        uid_t ou;
        gid_t og;
        r = live_proc_owner(h, &ou, &og);
        if (!r && ou == c->uid)
            return 0;
        if (err && r)
            snprintf(err, err_size, "%s %d (%s): cannot tell whether it is dumpable: %s", what,
                     (int)h->pid, h->comm, live_errno_name(r));
        else if (err)
            snprintf(err, err_size,
                     "%s %d (%s): permission denied: it is not dumpable (PR_SET_DUMPABLE 0, or "
                     "it changed credentials), so Linux would not let uid %u read it; only "
                     "root may do that",
                     what, (int)h->pid, h->comm, (unsigned)c->uid);
        return r ? r : -EPERM;
    }
    if (err)
        snprintf(err, err_size,
                 "%s %d (%s): permission denied: the caller (uid %u, gid %u) could not ptrace "
                 "it (uid %ld/%ld/%ld, gid %ld/%ld/%ld); only root or the process's own user "
                 "may do that",
                 what, (int)h->pid, h->comm, (unsigned)c->uid, (unsigned)c->gid, st.uid[0],
                 st.uid[1], st.uid[2], st.gid[0], st.gid[1], st.gid[2]);
    return -EPERM;
}

/* --- the check ----------------------------------------------------------------------------- */

/* A per-process failure while reading it. */
static void proc_fail(live_agent_t *a, struct agent_proc *p, int err, uint64_t now)
{
    if (err == -ESTALE) { /* it exec'd during the scan: start over with the new image */
        agent_proc_invalidate(a, p, true);
        return;
    }
    if (err == -ESRCH || err == -ENOENT) {
        if (!p->h || live_proc_alive(p->h) == -ESRCH) {
            /* Gone for good. The lifecycle's exit event may never come (no daemon, or it was
             * lost): the scope forgets it too, as an exit would. */
            bpfmm_scope_exit(a->scope, p->pid);
            p->drop = true;
        } else {
            agent_proc_set_state(a, p, LIVE_AGENT_PROC_GONE,
                                 "exited (a zombie: its memory is gone; waiting to be reaped)");
        }
        return;
    }
    if (err == -EACCES || err == -EPERM) {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_NOT_PERMITTED, "%s",
                             p->h ? live_proc_error(p->h) : live_proc_err_hint(err));
        p->retry_ns = now + a->o.perm_retry_ms * MS;
        return;
    }
    agent_proc_set_state(a, p, LIVE_AGENT_PROC_ERROR, "%s",
                         p->h && p->h->errmsg[0] ? live_proc_error(p->h) : strerror(-err));
    p->retry_ns = now + 5ull * a->o.check_interval_ms * MS;
}

static void update_hotness(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    uint64_t ticks = 0;
    if (read_stat_fields(p->h, NULL, &ticks))
        return;
    if (p->ticks_ns && now > p->ticks_ns && ticks >= p->ticks) {
        /* ticks per 100 s over the last interval, smoothed (weight 1/2) */
        uint64_t rate = (ticks - p->ticks) * 100ull * 1000000000ull / (now - p->ticks_ns);
        p->hot = (p->hot + rate) / 2;
    }
    p->ticks = ticks;
    p->ticks_ns = now;
}

static bool unmatched_eligible(live_agent_t *a, const struct live_vma_list *l)
{
    for (size_t i = 0; i < l->nr; i++)
        if (!l->v[i].have_smaps && live_vma_eligibility(&l->v[i], a->pmd_size) == LIVE_ELIG_OK)
            return true;
    return false;
}

/* The scanner counts nr_shared (one pagemap read per present range) only in VMAs whose smaps
 * shows shared pages (LIVE_SHARED_IF_SMAPS). A VMA without smaps data - none read yet, the
 * VMA is new, or the process forked since - may share pages too: mark it "shared unknown" so
 * that the scanner counts it as well, then restore it. Returns how many were marked. */
static size_t mark_unknown_shared(struct agent_proc *p, bool on)
{
    size_t n = 0;
    for (size_t i = 0; i < p->vmas.nr; i++) {
        struct live_vma *v = &p->vmas.v[i];
        if (on && !v->have_smaps) {
            v->have_smaps = true;
            v->sm.shared = 1;
            v->sm.thp_eligible = -2; /* our marker: not real smaps data */
            n++;
        } else if (!on && v->have_smaps && v->sm.thp_eligible == -2) {
            memset(&v->sm, 0, sizeof(v->sm));
            v->have_smaps = false;
            n++;
        }
    }
    return n;
}

/* KSM merges pages across processes without a fork: a process's memory is provably its own
 * only while KSM merges nothing (not running, no merged page anywhere) or is not built in. */
static bool ksm_idle(live_agent_t *a)
{
    uint64_t run = 0, shared = 0;
    int rc = live_os_read_u64(a->os, "/sys/kernel/mm/ksm/run", &run);
    if (rc == -ENOENT)
        return true;
    return !rc && run == 0 &&
           !live_os_read_u64(a->os, "/sys/kernel/mm/ksm/pages_shared", &shared) && shared == 0;
}

static void account_scan(live_agent_t *a, struct agent_proc *p)
{
    uint64_t scanned = 0, huge = 0;
    for (size_t i = 0; i < p->vmas.nr; i++) {
        const struct live_vma *v = &p->vmas.v[i];
        if (!v->scan.scanned_ns)
            continue;
        scanned += (v->scan.present + v->scan.swapped) * a->page_size;
        if (v->flags & BPFMM_VMA_ANON)
            huge += v->scan.huge * a->page_size;
    }
    p->anon_huge = huge;
    p->c.scans++;
    a->total.scans++;
    p->c.bytes_scanned += scanned;
    a->total.bytes_scanned += scanned;
}

static void scan_and_decide(live_agent_t *a, struct agent_proc *p,
                            const struct bpfmm_scope_ref *ref, bool layout_changed, uint64_t now)
{
    struct agent_prog *prog = ref->prog;
    struct proc_status st;
    int err = read_status(p->h, &st);
    if (err) {
        proc_fail(a, p, err, now);
        return;
    }
    p->anon_rss = st.rss_anon;
    if (st.thp_enabled == 0) {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_THP_DISABLED,
                             "THP disabled by prctl(PR_SET_THP_DISABLE): the kernel refuses "
                             "MADV_COLLAPSE for all its memory; left alone");
        p->retry_ns = now + a->o.scan_interval_ms * MS;
        p->scan_ns = now;
        return;
    }
    if (p->state != LIVE_AGENT_PROC_ACTIVE)
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_ACTIVE, "%s", "");

    /* smaps: VmFlags (hg/nh: a MADV_NOHUGEPAGE VMA is never submitted), Shared_* (which VMAs
     * need nr_shared counted) and Referenced (the VMA order, vma_referenced). It walks every
     * page table (12 ms per GiB of 4 KiB pages, 4x a PAGEMAP_SCAN scan), so it runs on the
     * slow clock: first smaps_interval after the first scan, when collapsed memory makes it
     * cheap - unless the policy reads a field only smaps gives (vma_referenced, the hg/nh bits
     * of vma_flags), then at the first scan too and early after a layout change. */
    if (p->have_smaps)
        live_smaps_merge(&p->vmas, &p->smaps);
    bool needs = prog->reads_referenced || prog->reads_vma_flags;
    if (!p->smaps_ns)
        p->smaps_ns = now; /* the slow clock starts at the first scan */
    uint64_t age = now - p->smaps_ns;
    bool want =
        age >= a->o.smaps_interval_ms * MS ||
        (needs && (!p->have_smaps || (layout_changed && age >= a->o.smaps_min_interval_ms * MS &&
                                      unmatched_eligible(a, &p->vmas))));
    if (want) {
        err = live_smaps_read(p->h, &p->smaps);
        if (err == -ESRCH || err == -EACCES || err == -EPERM) {
            proc_fail(a, p, err, now);
            return;
        }
        p->smaps_ns = now;
        if (!err) {
            p->have_smaps = true;
            p->c.smaps_reads++;
            a->total.smaps_reads++;
            live_smaps_merge(&p->vmas, &p->smaps);
            /* Referenced then counts what is touched from now on (a lower bound: clear_refs
             * does not flush TLBs). Only when a policy reads it: clearing accessed bits
             * also ages the target's pages for reclaim. */
            if (prog->reads_referenced)
                live_clear_refs(p->h, LIVE_CLEAR_REFS_ANON);
        }
    }
    live_marks_prune(&p->marks, &p->vmas);
    live_marks_prune(&p->vma_marks, &p->vmas);

    bool count_shared = prog->reads_shared && !(p->own_mm && ksm_idle(a));
    struct live_scan_opts so = {
        .sz = sizeof(so),
        .shared = count_shared ? LIVE_SHARED_IF_SMAPS : LIVE_SHARED_NONE,
    };
    if (count_shared)
        mark_unknown_shared(p, true);
    err = live_scan_process(a->sc, p->h, &p->vmas, &so, &p->res);
    if (count_shared)
        mark_unknown_shared(p, false);
    if (!count_shared && prog->reads_shared) {
        p->c.shared_unread_scans++;
        a->total.shared_unread_scans++;
    }
    if (err) {
        p->have_res = false;
        proc_fail(a, p, err, now);
        return;
    }
    p->have_res = true;
    p->scan_ns = now;
    p->dirty = false;
    p->guard_known = p->res.guard_known;
    account_scan(a, p);

    struct live_decide_stats ds;
    struct live_decide_in in = {
        .sc = a->sc,
        .page_size = a->page_size,
        .p = p->h,
        .vmas = &p->vmas,
        .res = &p->res,
        .policy = prog->pol,
        .type = BPFMM_THP_KHUGEPAGED,
        .now_ns = now,
        .marks = &p->marks,
        .vma_marks = &p->vma_marks,
        .defer_without_smaps = prog->reads_referenced,
    };
    a->deciding = p->pid;
    int derr = live_decide(&in, &p->cands, &ds, NULL, NULL);
    a->deciding = 0;
    if (derr) {
        p->cands.nr = 0;
        proc_fail(a, p, -ENOMEM, now);
        return;
    }
    p->policy_id = ref->policy_id;
    p->policy_version = ref->version;
    if (p->suspect && !live_cand_find(&p->cands, p->suspect))
        p->suspect = 0;
    p->c.decisions += ds.decisions;
    a->total.decisions += ds.decisions;
    p->c.refused += ds.by[LIVE_DEC_REFUSED];
    a->total.refused += ds.by[LIVE_DEC_REFUSED];
}

void agent_proc_check(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    p->next_check_ns = now + a->o.check_interval_ms * MS;
    if (p->state == LIVE_AGENT_PROC_GONE) {
        proc_fail(a, p, -ESRCH, now);
        return;
    }
    if (p->state != LIVE_AGENT_PROC_ACTIVE && now < p->retry_ns) {
        p->next_check_ns = p->retry_ns;
        return;
    }
    if (!p->h) {
        char msg[256];
        p->h = live_proc_open(a->os, p->pid, p->start_time, msg, sizeof(msg));
        if (!p->h) {
            if (errno == ESRCH) {
                proc_fail(a, p, -ESRCH, now);
            } else {
                open_failed(a, p, -errno, msg);
                p->next_check_ns = p->retry_ns;
            }
            return;
        }
        p->image_gen = p->h->image_gen;
    }
    struct bpfmm_scope_ref ref;
    if (bpfmm_scope_lookup(a->scope, p->pid, &ref)) {
        p->drop = true; /* no policy governs it any more */
        return;
    }
    update_hotness(a, p, now);
    int err = live_vma_read(p->h, a->f->procmap_query, &p->scratch);
    if (!err && p->h->image_gen != p->image_gen) { /* an exec noticed by the handle */
        p->image_gen = p->h->image_gen;
        agent_proc_invalidate(a, p, true);
    }
    if (err) {
        proc_fail(a, p, err, now);
    } else {
        bool layout_changed = !p->have_res || p->scratch.layout_hash != p->res.layout_hash;
        bool policy_changed = ref.policy_id != p->policy_id || ref.version != p->policy_version;
        bool stale = now - p->scan_ns >= a->o.scan_interval_ms * MS;
        bool unchanged = !p->dirty && !layout_changed && !policy_changed && !stale &&
                         p->state == LIVE_AGENT_PROC_ACTIVE &&
                         live_scan_unchanged(p->h, &p->scratch, &p->res);
        if (!unchanged) {
            struct live_vma_list t = p->vmas;
            p->vmas = p->scratch;
            p->scratch = t;
            scan_and_decide(a, p, &ref, layout_changed, now);
        }
    }
    bpfmm_scope_ref_put(&ref);
}
