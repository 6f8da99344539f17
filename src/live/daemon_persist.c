/*
 * Persistence of the attach list (state.h): what is saved (policies with their knobs and map
 * edits, the global policy, every process governed locally with its start time), when (at
 * most once a second after a change, and at exit), and the restore at start: policies are
 * reloaded, then each process is re-attached only if a process with the same pid AND start
 * time still exists. Nothing is re-attached to a reused pid.
 *
 * While the agent is down nothing is tracked: children forked meanwhile are not inherited
 * (they are unmanaged after the restart); docs/agent-daemon.md says so.
 */
#include "daemon_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dpersist_save(struct live_daemon *d)
{
    if (!d->cfg.state[0])
        return 0;
    struct live_state st = {0};
    int rc = 0;
    /* The registry's policies, shallow: the strings stay the registry's. */
    st.policies = d->reg.policies;
    st.nr_policies = d->reg.nr_policies;
    struct live_state_policy *g = d->global_id ? dreg_by_id(d, d->global_id) : NULL;
    if (g)
        snprintf(st.global, sizeof(st.global), "%s", g->name);
    bpfmm_scope_t *s = live_agent_scope(d->agent);
    for (unsigned i = 0; i < d->reg.nr_policies && !rc; i++) {
        const struct live_state_policy *p = &d->reg.policies[i];
        int n = bpfmm_scope_policy_procs(s, p->id, NULL, 0);
        if (n <= 0)
            continue;
        int32_t *t = calloc((size_t)n, sizeof(*t));
        if (!t) {
            rc = -ENOMEM;
            break;
        }
        n = bpfmm_scope_policy_procs(s, p->id, t, (size_t)n);
        for (int j = 0; j < n && !rc; j++) {
            uint64_t start = dstart_get(d, t[j]);
            char comm[64] = "";
            if (!start) {
                if (dproc_identity(t[j], &start, comm, sizeof(comm)))
                    continue; /* gone: its exit event is on its way */
                dstart_set(d, t[j], start);
            }
            struct live_agent_proc_status ps = {.sz = sizeof(ps)};
            if (!comm[0] && live_agent_proc_status(d->agent, t[j], &ps) == 0)
                snprintf(comm, sizeof(comm), "%s", ps.comm);
            rc = live_state_add_proc(&st, t[j], start, p->name, comm);
        }
        free(t);
    }
    char err[1024];
    if (!rc)
        rc = live_state_save(d->cfg.state, &st, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "out of memory");
    free(st.procs);
    uint64_t now = d->os->now_ns();
    if (rc && (!d->save_err_logged_ns || now - d->save_err_logged_ns >= 60000000000ull)) {
        dlog(d, DLOG_ERR,
             "cannot save the state: %s (retrying; the attach list will not "
             "survive a restart until this is fixed)",
             err);
        d->save_err_logged_ns = now;
    } else if (!rc) {
        if (d->save_err_logged_ns)
            dlog(d, DLOG_INFO, "the state is saved again to %s", d->cfg.state);
        d->save_err_logged_ns = 0;
        d->dirty = false;
    }
    return rc;
}

/* Creates the state file's directory (0700) if it is missing, like systemd's StateDirectory
 * would. */
static void make_state_dir(struct live_daemon *d)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", d->cfg.state);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = 0;
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    if (mkdir(dir, 0700) && errno != EEXIST)
        dlog(d, DLOG_WARN, "cannot create %s for the state file: %s", dir, strerror(errno));
}

void dpersist_restore(struct live_daemon *d)
{
    if (d->cfg.state[0])
        make_state_dir(d);
    struct live_state st;
    char err[1024];
    bool have_state = d->cfg.state[0] != 0;
    int rc = have_state ? live_state_load(d->cfg.state, &st, err, sizeof(err)) : -ENOENT;
    if (rc == -ENOENT) {
        if (have_state)
            dlog(d, DLOG_INFO, "no state file at %s yet: starting empty", d->cfg.state);
        memset(&st, 0, sizeof(st));
    } else if (rc) {
        dlog(d, DLOG_ERR, "%s; starting empty (the file is kept as %s.bad)", err, d->cfg.state);
        char bad[PATH_MAX + 8];
        snprintf(bad, sizeof(bad), "%s.bad", d->cfg.state);
        rename(d->cfg.state, bad);
        memset(&st, 0, sizeof(st));
    }
    unsigned attached = 0, dropped = 0, failed_policies = 0;
    for (unsigned i = 0; i < st.nr_policies; i++) {
        struct live_state_policy *p = &st.policies[i];
        uint32_t id;
        rc = dpolicy_add(d, p->name, p->source, (const char *const *)p->rodata, p->nr_rodata, &id,
                         err, sizeof(err));
        if (rc) {
            dlog(d, DLOG_ERR, "restore: policy %s (%s): %s; its processes are not re-attached",
                 p->name, p->source, err);
            failed_policies++;
            continue;
        }
        struct live_state_policy *rp = dreg_by_id(d, id);
        for (unsigned j = 0; rp && j < p->nr_edits; j++)
            live_state_add_edit(rp, p->edits[j].map, p->edits[j].key, p->edits[j].value);
        dpolicy_replay_edits(d, id);
        if (!strcmp(st.global, p->name)) {
            if (live_agent_global_set(d->agent, id, NULL, err, sizeof(err)))
                dlog(d, DLOG_ERR, "restore: global policy %s: %s", p->name, err);
            else
                d->global_id = id;
        }
    }
    for (unsigned i = 0; i < st.nr_procs; i++) {
        struct live_state_proc *sp = &st.procs[i];
        struct live_state_policy *rp = dreg_by_name(d, sp->policy);
        if (!rp) {
            dropped++;
            continue;
        }
        rc = dattach(d, rp->id, sp->pid, NULL, sp->start_time, err, sizeof(err));
        if (rc) {
            dropped++;
            dlog(d, DLOG_INFO, "restore: process %d (%s, policy %s) not re-attached: %s",
                 (int)sp->pid, sp->comm, sp->policy, err);
        } else {
            attached++;
        }
    }
    /* The next save drops what could not be restored: keep the file as it was beside it. */
    if (failed_policies) {
        char keep[PATH_MAX + 32];
        snprintf(keep, sizeof(keep), "%s.restore-failed", d->cfg.state);
        if (live_state_save(keep, &st, err, sizeof(err)))
            dlog(d, DLOG_ERR, "cannot keep a copy of the state: %s", err);
        else
            dlog(d, DLOG_WARN,
                 "%u policies could not be restored; the state as it was is kept in %s",
                 failed_policies, keep);
    }
    if (st.nr_policies || st.nr_procs)
        dlog(d, DLOG_INFO,
             "restored %u policies and %u processes from %s (%u processes gone or changed)",
             d->reg.nr_policies, attached, d->cfg.state, dropped);
    /* A global policy from the config applies when the state names none. */
    if (!d->global_id && d->cfg.global_policy[0]) {
        char ro_buf[sizeof(d->cfg.global_rodata)];
        const char *ro[64];
        unsigned nro = 0;
        snprintf(ro_buf, sizeof(ro_buf), "%s", d->cfg.global_rodata);
        for (char *save, *t = strtok_r(ro_buf, ",", &save); t && nro < 64;
             t = strtok_r(NULL, ",", &save))
            ro[nro++] = t;
        uint32_t id;
        struct live_state_policy *p = dreg_by_name(d, d->cfg.global_policy);
        rc = p ? (id = p->id, 0)
               : dpolicy_add(d, NULL, d->cfg.global_policy, ro, nro, &id, err, sizeof(err));
        if (!rc)
            rc = live_agent_global_set(d->agent, id, NULL, err, sizeof(err));
        if (rc)
            dlog(d, DLOG_ERR, "global_policy %s: %s", d->cfg.global_policy, err);
        else
            d->global_id = id;
    }
    live_state_free(&st);
    d->dirty = true;
}
