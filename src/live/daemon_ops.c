/*
 * The agent's control operations (the handler behind control.c): attach, detach, update,
 * global set/clear, map show/update/delete, status, ping. Each checks what the caller may do,
 * calls the engine and the lifecycle through daemon.c's helpers, and answers with a reply
 * object (control_proto.h). docs/agent-daemon.md lists the messages.
 *
 * Permissions, beyond the socket's own (root or the configured group):
 *   - attach: the engine refuses a process the caller could not ptrace (EPERM);
 *   - detach --pid: the same rule (live_agent_caller_may_act);
 *   - operations on a whole policy (detach --policy, update, map edits) by a non-root caller:
 *     only when the caller could ptrace every process the policy governs locally, and the
 *     policy is not the global one;
 *   - global set/clear: root only;
 *   - a policy given as a path by a non-root caller is opened and loaded with that caller's
 *     file access (as_client_begin), so it must be readable by that caller.
 */
#include "daemon_impl.h"

#include "control_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RODATA 64

struct req_ctx {
    struct live_daemon *d;
    const struct live_ctl_peer *peer;
    struct live_agent_creds creds;
    char err[1024];
};

/* --- permission helpers ------------------------------------------------------------------ */

/* The ptrace rule without capabilities (the engine's, as for attach). Root may act on
 * anything. */
static int may_act_on(struct req_ctx *r, pid_t pid, const char *what)
{
    return live_agent_caller_may_act(r->d->agent, pid, &r->creds, what, r->err, sizeof(r->err));
}

static int may_change_policy(struct req_ctx *r, uint32_t id, const char *name)
{
    if (r->peer->uid == 0)
        return 0;
    if (r->d->global_id == id) {
        snprintf(r->err, sizeof(r->err),
                 "permission denied: policy %s is the global policy; only root may change it",
                 name);
        return -EPERM;
    }
    bpfmm_scope_t *s = live_agent_scope(r->d->agent);
    int n = bpfmm_scope_policy_procs(s, id, NULL, 0);
    if (n <= 0)
        return 0;
    int32_t *t = calloc((size_t)n, sizeof(*t));
    if (!t)
        return -ENOMEM;
    n = bpfmm_scope_policy_procs(s, id, t, (size_t)n);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        rc = may_act_on(r, t[i], "change the policy of");
        if (rc == -ESRCH)
            rc = 0;
    }
    free(t);
    if (rc == -EPERM) {
        size_t l = strlen(r->err);
        snprintf(r->err + l, sizeof(r->err) - l, " (policy %s governs it)", name);
    }
    return rc;
}

/* A policy file named by a client that is not root is opened - and loaded - with the client's
 * file-system identity (fsuid, fsgid, supplementary groups: os->fs_identity_set), so the
 * kernel itself checks every directory on the path and follows symlinks as the client, and no
 * file can be swapped in between a check and the load: the agent (root) loads only what the
 * client could read. Shipped policies (a name, no '/') are the agent's own files. */
struct as_client {
    bool on;
    int nr_saved;
    gid_t saved[LIVE_CTL_MAX_GROUPS];
};

static void as_client_end(struct req_ctx *r, struct as_client *s)
{
    if (!s->on)
        return;
    const struct live_os *os = r->d->os;
    int rc = os->fs_identity_set(os->geteuid(), getegid(), s->saved, s->nr_saved);
    if (rc) /* cannot happen to root; a thread left with a user's file access would fail loudly */
        fprintf(stderr, "bpfmm agent: cannot restore its own file access: %s\n", strerror(-rc));
    s->on = false;
}

static int as_client_begin(struct req_ctx *r, const char *source, struct as_client *s)
{
    s->on = false;
    if (r->peer->uid == 0 || !source || !strchr(source, '/'))
        return 0;
    const struct live_os *os = r->d->os;
    int n = os->getgroups(s->saved, LIVE_CTL_MAX_GROUPS);
    int rc = n < 0 ? n
                   : os->fs_identity_set(r->peer->uid, r->peer->gid, r->peer->groups,
                                         r->peer->nr_groups);
    if (rc) {
        if (n >= 0) {
            s->nr_saved = n;
            s->on = true;
            as_client_end(r, s);
        }
        snprintf(r->err, sizeof(r->err),
                 "cannot open policy file %s as uid %u: %s (an agent not running as root "
                 "cannot load files for other users; ask root, or use a shipped policy)",
                 source, (unsigned)r->peer->uid, strerror(-rc));
        return rc;
    }
    s->nr_saved = n;
    s->on = true;
    /* Opened once here too, for a message that says whose access was refused. */
    int fd = os->open(source, O_RDONLY);
    if (fd < 0) {
        as_client_end(r, s);
        snprintf(r->err, sizeof(r->err),
                 "%s: policy file %s: uid %u cannot open it, so the agent will not load it "
                 "for you",
                 fd == -EACCES ? "permission denied" : strerror(-fd), source,
                 (unsigned)r->peer->uid);
        return fd;
    }
    os->close(fd);
    return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

static struct json_object *fail(struct req_ctx *r, int rc)
{
    return live_ctl_reply_err(rc, "%s", r->err[0] ? r->err : strerror(rc < 0 ? -rc : rc));
}

static bool same_rodata(const struct live_state_policy *p, const char *const *ro, unsigned n)
{
    if (p->nr_rodata != n)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(p->rodata[i], ro[i]))
            return false;
    return true;
}

static struct live_state_policy *by_source(struct live_daemon *d, const char *source)
{
    for (unsigned i = 0; i < d->reg.nr_policies; i++)
        if (!strcmp(d->reg.policies[i].source, source))
            return &d->reg.policies[i];
    return NULL;
}

/* Finds or loads the policy a request names ("policy", optional "name" and "rodata"). */
static int resolve_policy(struct req_ctx *r, struct json_object *req, bool may_load, uint32_t *id,
                          bool *loaded)
{
    const char *policy, *name;
    const char *ro[MAX_RODATA];
    unsigned nro;
    int rc;
    *loaded = false;
    if ((rc = live_ctl_get_str(req, "policy", true, &policy, r->err, sizeof(r->err))) ||
        (rc = live_ctl_get_str(req, "name", false, &name, r->err, sizeof(r->err))) ||
        (rc = live_ctl_get_strv(req, "rodata", ro, MAX_RODATA, &nro, r->err, sizeof(r->err))))
        return rc;
    struct live_state_policy *p = name ? dreg_by_name(r->d, name) : dreg_by_name(r->d, policy);
    if (!p && !name)
        p = by_source(r->d, policy);
    if (p) {
        bool src_ok = !name || !strcmp(p->source, policy) || !strcmp(p->name, policy);
        if ((nro && !same_rodata(p, ro, nro)) || !src_ok) {
            snprintf(r->err, sizeof(r->err),
                     "policy %s is already loaded (from %s) with other knobs or another "
                     "source; change it for all its processes with `bpfmm update --policy %s "
                     "...`, or load another instance with --name NEW",
                     p->name, p->source, p->name);
            return -EEXIST;
        }
        *id = p->id;
        return 0;
    }
    if (!may_load) {
        snprintf(r->err, sizeof(r->err),
                 "no policy named %s is loaded (`bpfmm status` lists "
                 "them)",
                 name ? name : policy);
        return -ENOENT;
    }
    struct as_client ac;
    if ((rc = as_client_begin(r, policy, &ac)))
        return rc;
    rc = dpolicy_add(r->d, name, policy, ro, nro, id, r->err, sizeof(r->err));
    as_client_end(r, &ac);
    if (!rc)
        *loaded = true;
    return rc;
}

static int find_loaded(struct req_ctx *r, struct json_object *req, struct live_state_policy **out)
{
    const char *policy;
    int rc = live_ctl_get_str(req, "policy", true, &policy, r->err, sizeof(r->err));
    if (rc)
        return rc;
    *out = dreg_by_name(r->d, policy);
    if (!*out)
        *out = by_source(r->d, policy);
    if (!*out) {
        snprintf(r->err, sizeof(r->err),
                 "no policy named %s is loaded (`bpfmm status` lists the loaded policies)", policy);
        return -ENOENT;
    }
    return 0;
}

static int get_pid(struct req_ctx *r, struct json_object *req, pid_t *pid)
{
    long long v;
    int rc = live_ctl_get_int(req, "pid", true, &v, r->err, sizeof(r->err));
    if (rc)
        return rc;
    if (v <= 0 || v > 0x7fffffff) {
        snprintf(r->err, sizeof(r->err), "pid %lld is not a valid process id", v);
        return -EINVAL;
    }
    *pid = (pid_t)v;
    return 0;
}

/* --- operations ---------------------------------------------------------------------------- */

static struct json_object *op_attach(struct req_ctx *r, struct json_object *req)
{
    pid_t pid;
    uint32_t id;
    bool loaded;
    int rc = get_pid(r, req, &pid);
    if (rc || (rc = resolve_policy(r, req, true, &id, &loaded)))
        return fail(r, rc);
    struct live_state_policy *p = dreg_by_id(r->d, id);
    char pname[LIVE_STATE_NAME];
    snprintf(pname, sizeof(pname), "%s", p ? p->name : "?");
    rc = dattach(r->d, id, pid, &r->creds, 0, r->err, sizeof(r->err));
    if (rc) {
        if (loaded)
            dpolicy_remove(r->d, id);
        return fail(r, rc);
    }
    dlog(r->d, DLOG_INFO, "attached policy %s to process %d (asked by uid %u, pid %d)", pname,
         (int)pid, (unsigned)r->peer->uid, (int)r->peer->pid);
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "pid", json_object_new_int(pid));
    json_object_object_add(rep, "policy", json_object_new_string(pname));
    json_object_object_add(rep, "policy_id", json_object_new_int64(id));
    json_object_object_add(rep, "start_time",
                           json_object_new_int64((int64_t)dstart_get(r->d, pid)));
    return rep;
}

static struct json_object *op_detach(struct req_ctx *r, struct json_object *req)
{
    struct json_object *v;
    int rc;
    if (json_object_object_get_ex(req, "pid", &v)) {
        pid_t pid;
        if ((rc = get_pid(r, req, &pid)) || (rc = may_act_on(r, pid, "detach")))
            return fail(r, rc);
        uint32_t id;
        if (bpfmm_scope_policy_of(live_agent_scope(r->d->agent), pid, &id) != BPFMM_SCOPE_LOCAL) {
            snprintf(r->err, sizeof(r->err), "process %d has no local policy%s", (int)pid,
                     r->d->global_id ? " (the global policy covers it: `bpfmm global clear`)" : "");
            return fail(r, -ENOENT);
        }
        if ((rc = ddetach_pid(r->d, pid)))
            return fail(r, rc);
        dlog(r->d, DLOG_INFO, "detached process %d (asked by uid %u)", (int)pid,
             (unsigned)r->peer->uid);
        struct json_object *rep = live_ctl_reply_ok();
        json_object_object_add(rep, "pid", json_object_new_int(pid));
        return rep;
    }
    struct live_state_policy *p;
    if (!json_object_object_get_ex(req, "policy", &v)) {
        snprintf(r->err, sizeof(r->err), "detach needs \"pid\" or \"policy\"");
        return fail(r, -EINVAL);
    }
    if ((rc = find_loaded(r, req, &p)) || (rc = may_change_policy(r, p->id, p->name)))
        return fail(r, rc);
    char name[LIVE_STATE_NAME];
    snprintf(name, sizeof(name), "%s", p->name);
    uint32_t id = p->id;
    struct live_agent_policy_info info = {0};
    live_agent_policy_info(r->d->agent, id, &info);
    rc = dpolicy_remove(r->d, id);
    if (rc < 0)
        return fail(r, rc);
    dlog(r->d, DLOG_INFO, "policy %s detached and unloaded (%u processes released)", name,
         info.nr_procs);
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "policy", json_object_new_string(name));
    json_object_object_add(rep, "released", json_object_new_int64(info.nr_procs));
    return rep;
}

static struct json_object *op_update(struct req_ctx *r, struct json_object *req)
{
    struct live_state_policy *p;
    const char *file;
    const char *ro[MAX_RODATA];
    unsigned nro;
    struct json_object *rov;
    int rc;
    if ((rc = find_loaded(r, req, &p)) ||
        (rc = live_ctl_get_str(req, "file", false, &file, r->err, sizeof(r->err))) ||
        (rc = live_ctl_get_strv(req, "rodata", ro, MAX_RODATA, &nro, r->err, sizeof(r->err))) ||
        (rc = may_change_policy(r, p->id, p->name)))
        return fail(r, rc);
    bool have_ro = json_object_object_get_ex(req, "rodata", &rov) && rov;
    /* No new file and no knobs: reload the same object with the same knobs. A new file
     * without knobs gets none (the old knobs may not exist in it). */
    const char *const *use_ro = have_ro || file ? ro : (const char *const *)p->rodata;
    unsigned use_nro = have_ro || file ? nro : p->nr_rodata;
    uint32_t id = p->id;
    struct as_client ac;
    if ((rc = as_client_begin(r, file, &ac)))
        return fail(r, rc);
    rc = live_agent_policy_update(r->d->agent, id, file, use_ro, use_nro, r->err, sizeof(r->err));
    as_client_end(r, &ac);
    if (rc)
        return fail(r, rc);
    p = dreg_by_id(r->d, id);
    if (p && live_state_set_source(p, file ? file : p->source, use_ro, use_nro))
        dlog(r->d, DLOG_WARN, "out of memory recording the update of policy %s", p->name);
    dpolicy_replay_edits(r->d, id);
    r->d->dirty = true;
    struct live_agent_policy_info info = {0};
    live_agent_policy_info(r->d->agent, id, &info);
    dlog(r->d, DLOG_INFO, "policy %s updated to version %llu (%s%s%s): %u processes moved",
         info.name, (unsigned long long)info.version, info.path, info.rodata[0] ? ", " : "",
         info.rodata, info.nr_procs);
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "policy", json_object_new_string(info.name));
    json_object_object_add(rep, "version", json_object_new_int64((int64_t)info.version));
    json_object_object_add(rep, "processes", json_object_new_int64(info.nr_procs));
    return rep;
}

static struct json_object *op_global_set(struct req_ctx *r, struct json_object *req)
{
    uint32_t id;
    bool loaded;
    int rc;
    if (r->peer->uid != 0) {
        snprintf(r->err, sizeof(r->err),
                 "permission denied: only root may set the global policy (it governs every "
                 "process)");
        return fail(r, -EPERM);
    }
    if ((rc = resolve_policy(r, req, true, &id, &loaded)))
        return fail(r, rc);
    rc = live_agent_global_set(r->d->agent, id, &r->creds, r->err, sizeof(r->err));
    if (rc) {
        if (loaded)
            dpolicy_remove(r->d, id);
        return fail(r, rc);
    }
    r->d->global_id = id;
    r->d->dirty = true;
    struct live_state_policy *p = dreg_by_id(r->d, id);
    dlog(r->d, DLOG_INFO, "global policy set to %s", p ? p->name : "?");
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "policy", json_object_new_string(p ? p->name : "?"));
    return rep;
}

static struct json_object *op_global_clear(struct req_ctx *r)
{
    if (r->peer->uid != 0) {
        snprintf(r->err, sizeof(r->err),
                 "permission denied: only root may clear the global "
                 "policy");
        return fail(r, -EPERM);
    }
    live_agent_global_clear(r->d->agent);
    r->d->global_id = 0;
    r->d->dirty = true;
    dlog(r->d, DLOG_INFO, "global policy cleared");
    return live_ctl_reply_ok();
}

static const char *map_type_name(const bpfmm_rt_map_t *m)
{
    if (bpfmm_rt_map_is_global(m))
        return "global";
    switch (bpfmm_rt_map_type(m)) {
    case BPFMM_RT_MAP_HASH:
        return "hash";
    case BPFMM_RT_MAP_ARRAY:
        return "array";
    case BPFMM_RT_MAP_LRU_HASH:
        return "lru_hash";
    }
    return "?";
}

/* The policy and map a map request names; *m NULL when no "map" was given and !need_map. */
static int map_target(struct req_ctx *r, struct json_object *req, bool need_map,
                      struct live_state_policy **pp, bpfmm_policy_t **pol, bpfmm_rt_map_t **m)
{
    const char *map;
    int rc;
    if ((rc = find_loaded(r, req, pp)) ||
        (rc = live_ctl_get_str(req, "map", need_map, &map, r->err, sizeof(r->err))))
        return rc;
    *pol = live_agent_policy_get(r->d->agent, (*pp)->id);
    if (!*pol) {
        snprintf(r->err, sizeof(r->err), "policy %s: the engine does not expose its maps",
                 (*pp)->name);
        return -EOPNOTSUPP;
    }
    *m = NULL;
    if (!map)
        return 0;
    *m = bpfmm_rt_obj_find_map(bpfmm_policy_obj(*pol), map);
    if (!*m) {
        int n = snprintf(r->err, sizeof(r->err),
                         "policy %s has no map named %s; its maps:", (*pp)->name, map);
        bpfmm_rt_obj_t *obj = bpfmm_policy_obj(*pol);
        for (unsigned i = 0; i < bpfmm_rt_obj_map_count(obj) && n > 0 && (size_t)n < sizeof(r->err);
             i++)
            n += snprintf(r->err + n, sizeof(r->err) - (size_t)n, " %s",
                          bpfmm_rt_map_name(bpfmm_rt_obj_map(obj, i)));
        return -ENOENT;
    }
    return 0;
}

#define MAP_SHOW_MAX 65536

static struct json_object *op_map_show(struct req_ctx *r, struct json_object *req)
{
    struct live_state_policy *p;
    bpfmm_policy_t *pol;
    bpfmm_rt_map_t *m;
    int rc = map_target(r, req, false, &p, &pol, &m);
    if (rc)
        return fail(r, rc);
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "policy", json_object_new_string(p->name));
    if (!m) {
        bpfmm_rt_obj_t *obj = bpfmm_policy_obj(pol);
        struct json_object *maps = json_object_new_array();
        for (unsigned i = 0; i < bpfmm_rt_obj_map_count(obj); i++) {
            bpfmm_rt_map_t *mm = bpfmm_rt_obj_map(obj, i);
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(bpfmm_rt_map_name(mm)));
            json_object_object_add(o, "type", json_object_new_string(map_type_name(mm)));
            json_object_object_add(o, "key_size", json_object_new_int(bpfmm_rt_map_key_size(mm)));
            json_object_object_add(o, "value_size",
                                   json_object_new_int(bpfmm_rt_map_value_size(mm)));
            json_object_object_add(o, "max_entries",
                                   json_object_new_int64(bpfmm_rt_map_max_entries(mm)));
            json_object_array_add(maps, o);
        }
        json_object_object_add(rep, "maps", maps);
        return rep;
    }
    uint32_t ks = bpfmm_rt_map_key_size(m), vs = bpfmm_rt_map_value_size(m);
    char *key = calloc(1, ks + 1), *next = calloc(1, ks + 1), *val = calloc(1, vs + 1);
    char kt[1024], vt[4096];
    struct json_object *entries = json_object_new_array();
    bool first = true, truncated = false;
    unsigned n = 0;
    rc = key && next && val ? 0 : -ENOMEM;
    while (!rc) {
        rc = bpfmm_rt_map_next_key(m, first ? NULL : key, next);
        if (rc == -ENOENT) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        first = false;
        memcpy(key, next, ks);
        if (bpfmm_rt_map_lookup(m, key, val))
            continue; /* deleted meanwhile */
        if (++n > MAP_SHOW_MAX) {
            truncated = true;
            break;
        }
        bpfmm_rt_map_format_key(m, key, kt, sizeof(kt));
        bpfmm_rt_map_format_value(m, val, vt, sizeof(vt));
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "key", json_object_new_string(kt));
        json_object_object_add(e, "value", json_object_new_string(vt));
        json_object_array_add(entries, e);
    }
    free(key);
    free(next);
    free(val);
    if (rc) {
        json_object_put(entries);
        json_object_put(rep);
        snprintf(r->err, sizeof(r->err), "map %s: %s", bpfmm_rt_map_name(m),
                 bpfmm_rt_map_strerror(m, rc));
        return fail(r, rc);
    }
    json_object_object_add(rep, "map", json_object_new_string(bpfmm_rt_map_name(m)));
    json_object_object_add(rep, "type", json_object_new_string(map_type_name(m)));
    json_object_object_add(rep, "entries", entries);
    if (truncated)
        json_object_object_add(rep, "truncated", json_object_new_boolean(1));
    return rep;
}

static struct json_object *op_map_edit(struct req_ctx *r, struct json_object *req, bool del)
{
    struct live_state_policy *p;
    bpfmm_policy_t *pol;
    bpfmm_rt_map_t *m;
    const char *ktext, *vtext = NULL, *flags = NULL;
    int rc;
    if ((rc = map_target(r, req, true, &p, &pol, &m)) ||
        (rc = live_ctl_get_str(req, "key", true, &ktext, r->err, sizeof(r->err))) ||
        (!del && (rc = live_ctl_get_str(req, "value", true, &vtext, r->err, sizeof(r->err)))) ||
        (!del && (rc = live_ctl_get_str(req, "flags", false, &flags, r->err, sizeof(r->err)))) ||
        (rc = may_change_policy(r, p->id, p->name)))
        return fail(r, rc);
    uint64_t f = 0;
    if (flags && !strcmp(flags, "noexist"))
        f = 1;
    else if (flags && !strcmp(flags, "exist"))
        f = 2;
    else if (flags && strcmp(flags, "any")) {
        snprintf(r->err, sizeof(r->err), "flags '%s': use any, noexist or exist", flags);
        return fail(r, -EINVAL);
    }
    uint32_t ks = bpfmm_rt_map_key_size(m), vs = bpfmm_rt_map_value_size(m);
    char *key = calloc(1, ks + 1), *val = calloc(1, vs + 1);
    char log[512] = "", kt[1024], vt[4096];
    if (!key || !val) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = bpfmm_rt_map_parse_key(m, ktext, key, log, sizeof(log)))) {
        snprintf(r->err, sizeof(r->err), "map %s: key '%s': %s", bpfmm_rt_map_name(m), ktext, log);
        goto out;
    }
    if (!del && (rc = bpfmm_rt_map_parse_value(m, vtext, val, log, sizeof(log)))) {
        snprintf(r->err, sizeof(r->err), "map %s: value '%s': %s", bpfmm_rt_map_name(m), vtext,
                 log);
        goto out;
    }
    rc = del ? bpfmm_rt_map_delete(m, key) : bpfmm_rt_map_update(m, key, val, f);
    if (rc) {
        snprintf(r->err, sizeof(r->err), "map %s: %s %s: %s", bpfmm_rt_map_name(m),
                 del ? "delete" : "update", ktext, bpfmm_rt_map_strerror(m, rc));
        goto out;
    }
    bpfmm_rt_map_format_key(m, key, kt, sizeof(kt));
    if (!del)
        bpfmm_rt_map_format_value(m, val, vt, sizeof(vt));
    if (live_state_add_edit(p, bpfmm_rt_map_name(m), kt, del ? NULL : vt))
        dlog(r->d, DLOG_WARN, "out of memory recording a map edit; it will not be persisted");
    r->d->dirty = true;
    dlog(r->d, DLOG_INFO, "policy %s: map %s: %s %s%s%s (uid %u)", p->name, bpfmm_rt_map_name(m),
         del ? "deleted" : "set", kt, del ? "" : " = ", del ? "" : vt, (unsigned)r->peer->uid);
out:
    free(key);
    free(val);
    if (rc)
        return fail(r, rc);
    struct json_object *rep = live_ctl_reply_ok();
    json_object_object_add(rep, "key", json_object_new_string(kt));
    if (!del)
        json_object_object_add(rep, "value", json_object_new_string(vt));
    return rep;
}

struct json_object *dops_handle(void *arg, const struct live_ctl_peer *peer,
                                struct json_object *req)
{
    struct req_ctx r = {.d = arg, .peer = peer};
    r.creds = (struct live_agent_creds){.pid = peer->pid, .uid = peer->uid, .gid = peer->gid};
    const char *op;
    int rc = live_ctl_get_str(req, "op", true, &op, r.err, sizeof(r.err));
    if (rc)
        return fail(&r, rc);
    if (!strcmp(op, "ping")) {
        struct json_object *rep = live_ctl_reply_ok();
        json_object_object_add(rep, "pid", json_object_new_int(getpid()));
        json_object_object_add(rep, "version", json_object_new_string("0.1.0"));
        return rep;
    }
    if (!strcmp(op, "status"))
        return dstatus(r.d);
    if (!strcmp(op, "attach"))
        return op_attach(&r, req);
    if (!strcmp(op, "detach"))
        return op_detach(&r, req);
    if (!strcmp(op, "update"))
        return op_update(&r, req);
    if (!strcmp(op, "global_set"))
        return op_global_set(&r, req);
    if (!strcmp(op, "global_clear"))
        return op_global_clear(&r);
    if (!strcmp(op, "map_show"))
        return op_map_show(&r, req);
    if (!strcmp(op, "map_update"))
        return op_map_edit(&r, req, false);
    if (!strcmp(op, "map_delete"))
        return op_map_edit(&r, req, true);
    return live_ctl_reply_err(EOPNOTSUPP,
                              "unknown operation '%s'; known: ping status attach detach update "
                              "global_set global_clear map_show map_update map_delete",
                              op);
}
