/*
 * The daemon's bookkeeping of what the operator asked for: the loaded policies (the registry,
 * with source, rodata knobs and map edits, by the engine's id), their maps (for `bpfmm map`),
 * the start time of every locally managed process (persistence pins identities with it), and
 * attach/detach kept consistent in the engine and the lifecycle (kernel). Used by daemon.c,
 * daemon_ops.c and daemon_persist.c; no event loop, no socket.
 */
#include "daemon_impl.h"

#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- start times ------------------------------------------------------------------------- */

static size_t dstart_pos(struct live_daemon *d, pid_t pid)
{
    size_t lo = 0, hi = d->nr_starts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->starts[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void dstart_set(struct live_daemon *d, pid_t pid, uint64_t start_time)
{
    size_t i = dstart_pos(d, pid);
    if (i < d->nr_starts && d->starts[i].pid == pid) {
        d->starts[i].start_time = start_time;
        return;
    }
    if (d->nr_starts == d->cap_starts) {
        size_t cap = d->cap_starts ? d->cap_starts * 2 : 64;
        struct dstart *n = realloc(d->starts, cap * sizeof(*n));
        if (!n)
            return; /* persistence then reads /proc for this pid */
        d->starts = n;
        d->cap_starts = cap;
    }
    memmove(&d->starts[i + 1], &d->starts[i], (d->nr_starts - i) * sizeof(d->starts[0]));
    d->starts[i] = (struct dstart){pid, start_time};
    d->nr_starts++;
}

void dstart_del(struct live_daemon *d, pid_t pid)
{
    size_t i = dstart_pos(d, pid);
    if (i < d->nr_starts && d->starts[i].pid == pid) {
        memmove(&d->starts[i], &d->starts[i + 1], (d->nr_starts - i - 1) * sizeof(d->starts[0]));
        d->nr_starts--;
    }
}

uint64_t dstart_get(struct live_daemon *d, pid_t pid)
{
    size_t i = dstart_pos(d, pid);
    return i < d->nr_starts && d->starts[i].pid == pid ? d->starts[i].start_time : 0;
}

int dproc_identity(pid_t pid, uint64_t *start_time, char *comm, size_t comm_size)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int n = live_os_read_small(&live_os_linux, path, buf, sizeof(buf));
    if (n < 0)
        return n == -ENOENT ? -ESRCH : n;
    char c[64];
    int rc = live_parse_stat(buf, c, sizeof(c), start_time);
    if (rc)
        return rc;
    if (comm)
        snprintf(comm, comm_size, "%s", c);
    return 0;
}

/* --- policies ---------------------------------------------------------------------------- */

struct live_state_policy *dreg_by_id(struct live_daemon *d, uint32_t id)
{
    for (unsigned i = 0; i < d->reg.nr_policies; i++)
        if (d->reg.policies[i].id == id)
            return &d->reg.policies[i];
    return NULL;
}

struct live_state_policy *dreg_by_name(struct live_daemon *d, const char *name)
{
    for (unsigned i = 0; i < d->reg.nr_policies; i++)
        if (!strcmp(d->reg.policies[i].name, name))
            return &d->reg.policies[i];
    return NULL;
}

int dpolicy_add(struct live_daemon *d, const char *name, const char *source,
                const char *const *rodata, unsigned nr_rodata, uint32_t *id, char *err,
                size_t err_size)
{
    int rc = live_agent_policy_add(d->agent, name, source, rodata, nr_rodata, id, err, err_size);
    if (rc)
        return rc;
    struct live_agent_policy_info info;
    if ((rc = live_agent_policy_info(d->agent, *id, &info)) ||
        (rc = live_state_add_policy(&d->reg, info.name, source, rodata, nr_rodata))) {
        live_agent_policy_remove(d->agent, *id);
        snprintf(err, err_size, "cannot record policy %s: %s", source, strerror(-rc));
        return rc;
    }
    d->reg.policies[d->reg.nr_policies - 1].id = *id;
    d->dirty = true;
    return 0;
}

int dpolicy_remove(struct live_daemon *d, uint32_t id)
{
    int released = 0;
    if (d->lc)
        released = live_lifecycle_detach_policy(d->lc, id);
    int rc = live_agent_policy_remove(d->agent, id);
    for (unsigned i = 0; i < d->reg.nr_policies; i++)
        if (d->reg.policies[i].id == id) {
            live_state_del_policy(&d->reg, i);
            break;
        }
    if (d->global_id == id)
        d->global_id = 0;
    d->dirty = true;
    return rc ? rc : (released > 0 ? released : 0);
}

void dpolicy_replay_edits(struct live_daemon *d, uint32_t id)
{
    struct live_state_policy *rp = dreg_by_id(d, id);
    if (!rp || !rp->nr_edits)
        return;
    bpfmm_policy_t *p = live_agent_policy_get(d->agent, id);
    if (!p) {
        dlog(d, DLOG_WARN, "policy %s: cannot reach its maps to restore %u map edits", rp->name,
             rp->nr_edits);
        return;
    }
    for (unsigned i = 0; i < rp->nr_edits; i++) {
        const struct live_state_map_edit *e = &rp->edits[i];
        bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(bpfmm_policy_obj(p), e->map);
        char log[256] = "";
        int rc = -ENOENT;
        if (m) {
            uint32_t ks = bpfmm_rt_map_key_size(m), vs = bpfmm_rt_map_value_size(m);
            void *key = calloc(1, ks ? ks : 1), *val = calloc(1, vs ? vs : 1);
            rc = -ENOMEM;
            if (key && val) {
                rc = bpfmm_rt_map_parse_key(m, e->key, key, log, sizeof(log));
                if (!rc && e->value)
                    rc = bpfmm_rt_map_parse_value(m, e->value, val, log, sizeof(log));
                if (!rc)
                    rc = e->value ? bpfmm_rt_map_update(m, key, val, 0)
                                  : bpfmm_rt_map_delete(m, key);
                if (rc == -ENOENT && !e->value)
                    rc = 0;
            }
            free(key);
            free(val);
        }
        if (rc)
            dlog(d, DLOG_WARN, "policy %s: map %s: cannot restore %s %s%s%s: %s%s%s", rp->name,
                 e->map, e->value ? "update" : "delete", e->key, e->value ? "=" : "",
                 e->value ? e->value : "", m ? strerror(-rc) : "no such map in this program",
                 log[0] ? ": " : "", log);
    }
}

/* --- processes --------------------------------------------------------------------------- */

int dattach(struct live_daemon *d, uint32_t id, pid_t pid, const struct live_agent_creds *caller,
            uint64_t expect_start, char *err, size_t err_size)
{
    uint64_t st = 0;
    char comm[64] = "";
    if (expect_start) {
        int rc = dproc_identity(pid, &st, comm, sizeof(comm));
        if (rc) {
            snprintf(err, err_size, "process %d is gone", (int)pid);
            return -ESRCH;
        }
        if (st != expect_start) {
            snprintf(err, err_size,
                     "pid %d now belongs to another process (%s, start time %llu, expected "
                     "%llu): not attached",
                     (int)pid, comm, (unsigned long long)st, (unsigned long long)expect_start);
            return -ESRCH;
        }
    }
    int rc = live_agent_attach(d->agent, id, pid, caller, err, err_size);
    if (rc)
        return rc;
    if (d->lc) {
        rc = live_lifecycle_attach(d->lc, pid, id, err, err_size);
        if (rc) {
            live_agent_detach(d->agent, pid);
            return rc;
        }
    }
    if (dproc_identity(pid, &st, comm, sizeof(comm)) == 0) {
        if (expect_start && st != expect_start) {
            ddetach_pid(d, pid);
            snprintf(err, err_size, "pid %d was reused while it was being attached", (int)pid);
            return -ESRCH;
        }
        dstart_set(d, pid, st);
    }
    d->dirty = true;
    return 0;
}

int ddetach_pid(struct live_daemon *d, pid_t pid)
{
    int rc_lc = d->lc ? live_lifecycle_detach(d->lc, pid) : -ENOENT;
    int rc = live_agent_detach(d->agent, pid);
    dstart_del(d, pid);
    d->dirty = true;
    return rc == 0 || rc_lc == 0 ? 0 : rc;
}
