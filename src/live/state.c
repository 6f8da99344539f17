/*
 * The agent's state file (state.h): JSON encoding with json-c, validation on load, and the
 * atomic write (temporary file, fsync, rename, directory fsync).
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

int live_state_add_policy(struct live_state *st, const char *name, const char *source,
                          const char *const *rodata, unsigned nr_rodata)
{
    struct live_state_policy *n =
        realloc(st->policies, (st->nr_policies + 1) * sizeof(*st->policies));
    if (!n)
        return -ENOMEM;
    st->policies = n;
    struct live_state_policy *p = &n[st->nr_policies];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->source = dupstr(source);
    if (!p->source)
        return -ENOMEM;
    if (nr_rodata) {
        p->rodata = calloc(nr_rodata, sizeof(char *));
        if (!p->rodata) {
            free(p->source);
            return -ENOMEM;
        }
        for (unsigned i = 0; i < nr_rodata; i++)
            if (!(p->rodata[p->nr_rodata++] = dupstr(rodata[i])))
                goto nomem;
    }
    st->nr_policies++;
    return 0;
nomem:
    for (unsigned i = 0; i < p->nr_rodata; i++)
        free(p->rodata[i]);
    free(p->rodata);
    free(p->source);
    return -ENOMEM;
}

int live_state_add_edit(struct live_state_policy *p, const char *map, const char *key,
                        const char *value)
{
    for (unsigned i = 0; i < p->nr_edits; i++) {
        struct live_state_map_edit *e = &p->edits[i];
        if (!strcmp(e->map, map) && !strcmp(e->key, key)) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v)
                return -ENOMEM;
            free(e->value);
            e->value = v;
            return 0;
        }
    }
    struct live_state_map_edit *n = realloc(p->edits, (p->nr_edits + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    p->edits = n;
    struct live_state_map_edit *e = &n[p->nr_edits];
    e->map = strdup(map);
    e->key = strdup(key);
    e->value = value ? strdup(value) : NULL;
    if (!e->map || !e->key || (value && !e->value)) {
        free(e->map);
        free(e->key);
        free(e->value);
        return -ENOMEM;
    }
    p->nr_edits++;
    return 0;
}

int live_state_add_proc(struct live_state *st, int32_t pid, uint64_t start_time, const char *policy,
                        const char *comm)
{
    struct live_state_proc *n = realloc(st->procs, (st->nr_procs + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    st->procs = n;
    struct live_state_proc *p = &n[st->nr_procs++];
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->start_time = start_time;
    snprintf(p->policy, sizeof(p->policy), "%s", policy);
    snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
    return 0;
}

static void policy_free(struct live_state_policy *p)
{
    free(p->source);
    for (unsigned j = 0; j < p->nr_rodata; j++)
        free(p->rodata[j]);
    free(p->rodata);
    for (unsigned j = 0; j < p->nr_edits; j++) {
        free(p->edits[j].map);
        free(p->edits[j].key);
        free(p->edits[j].value);
    }
    free(p->edits);
}

void live_state_del_policy(struct live_state *st, unsigned i)
{
    if (i >= st->nr_policies)
        return;
    policy_free(&st->policies[i]);
    memmove(&st->policies[i], &st->policies[i + 1],
            (st->nr_policies - i - 1) * sizeof(st->policies[0]));
    st->nr_policies--;
}

int live_state_set_source(struct live_state_policy *p, const char *source,
                          const char *const *rodata, unsigned nr_rodata)
{
    char *src = strdup(source);
    char **ro = nr_rodata ? calloc(nr_rodata, sizeof(char *)) : NULL;
    if (!src || (nr_rodata && !ro))
        goto nomem;
    for (unsigned i = 0; i < nr_rodata; i++)
        if (!(ro[i] = strdup(rodata[i]))) {
            for (unsigned j = 0; j < i; j++)
                free(ro[j]);
            goto nomem;
        }
    free(p->source);
    for (unsigned j = 0; j < p->nr_rodata; j++)
        free(p->rodata[j]);
    free(p->rodata);
    p->source = src;
    p->rodata = ro;
    p->nr_rodata = nr_rodata;
    return 0;
nomem:
    free(src);
    free(ro);
    return -ENOMEM;
}

void live_state_free(struct live_state *st)
{
    for (unsigned i = 0; i < st->nr_policies; i++)
        policy_free(&st->policies[i]);
    free(st->policies);
    free(st->procs);
    memset(st, 0, sizeof(*st));
}

static struct json_object *encode(const struct live_state *st)
{
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(LIVE_STATE_VERSION));
    struct json_object *pols = json_object_new_array();
    for (unsigned i = 0; i < st->nr_policies; i++) {
        const struct live_state_policy *p = &st->policies[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "source", json_object_new_string(p->source));
        struct json_object *ro = json_object_new_array();
        for (unsigned j = 0; j < p->nr_rodata; j++)
            json_object_array_add(ro, json_object_new_string(p->rodata[j]));
        json_object_object_add(o, "rodata", ro);
        struct json_object *ed = json_object_new_array();
        for (unsigned j = 0; j < p->nr_edits; j++) {
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "map", json_object_new_string(p->edits[j].map));
            json_object_object_add(e, "key", json_object_new_string(p->edits[j].key));
            json_object_object_add(
                e, "value", p->edits[j].value ? json_object_new_string(p->edits[j].value) : NULL);
            json_object_array_add(ed, e);
        }
        json_object_object_add(o, "map_edits", ed);
        json_object_array_add(pols, o);
    }
    json_object_object_add(root, "policies", pols);
    json_object_object_add(root, "global",
                           st->global[0] ? json_object_new_string(st->global) : NULL);
    struct json_object *procs = json_object_new_array();
    for (unsigned i = 0; i < st->nr_procs; i++) {
        const struct live_state_proc *p = &st->procs[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "pid", json_object_new_int(p->pid));
        json_object_object_add(o, "start_time", json_object_new_int64((int64_t)p->start_time));
        json_object_object_add(o, "policy", json_object_new_string(p->policy));
        json_object_object_add(o, "comm", json_object_new_string(p->comm));
        json_object_array_add(procs, o);
    }
    json_object_object_add(root, "procs", procs);
    return root;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int live_state_save(const char *path, const struct live_state *st, char *err, size_t err_size)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, err_size, "state path %s is too long", path);
        return -ENAMETOOLONG;
    }
    struct json_object *root = encode(st);
    if (!root) {
        snprintf(err, err_size, "out of memory encoding the state");
        return -ENOMEM;
    }
    const char *text =
        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, err_size,
                 "cannot create %s: %s (does its directory exist and is it "
                 "writable?)",
                 tmp, strerror(-rc));
        goto out;
    }
    rc = write_all(fd, text, strlen(text));
    if (!rc)
        rc = write_all(fd, "\n", 1);
    if (!rc && fsync(fd))
        rc = -errno;
    if (close(fd) && !rc)
        rc = -errno;
    if (rc) {
        snprintf(err, err_size, "cannot write %s: %s", tmp, strerror(-rc));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path)) {
        rc = -errno;
        snprintf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(-rc));
        unlink(tmp);
        goto out;
    }
    /* The rename itself must reach the disk for the new file to survive a power loss. */
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    json_object_put(root);
    return rc;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        int _n = snprintf(err, err_size, "%s: ", path);                                            \
        if (_n > 0 && (size_t)_n < err_size)                                                       \
            snprintf(err + _n, err_size - (size_t)_n, __VA_ARGS__);                                \
        rc = -EINVAL;                                                                              \
        goto fail;                                                                                 \
    } while (0)

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int live_state_load(const char *path, struct live_state *st, char *err, size_t err_size)
{
    memset(st, 0, sizeof(*st));
    int rc = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        rc = -errno;
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(-rc));
        return rc;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (len < cap - 1)
            break;
        char *p = cap >= (256u << 20) ? NULL : realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    fclose(f);
    if (!buf) {
        snprintf(err, err_size, "%s: too large or out of memory", path);
        return -ENOMEM;
    }
    buf[len] = 0;
    enum json_tokener_error jerr;
    struct json_object *root = json_tokener_parse_verbose(buf, &jerr);
    free(buf);
    struct json_object *v, *arr;
    if (!root)
        BAD("not valid JSON (%s)", json_tokener_error_desc(jerr));
    if (!json_object_is_type(root, json_type_object))
        BAD("not a JSON object");
    if (!json_object_object_get_ex(root, "version", &v) ||
        json_object_get_int(v) != LIVE_STATE_VERSION)
        BAD("unsupported \"version\" (this agent reads version %d)", LIVE_STATE_VERSION);
    if (json_object_object_get_ex(root, "policies", &arr)) {
        if (!json_object_is_type(arr, json_type_array))
            BAD("\"policies\" must be an array");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            struct json_object *o = json_object_array_get_idx(arr, i);
            const char *name = get_str(o, "name"), *source = get_str(o, "source");
            if (!name || !*name || strlen(name) >= LIVE_STATE_NAME || !source || !*source)
                BAD("policies[%zu] needs a \"name\" (1..63 characters) and a \"source\"", i);
            const char *ro[256];
            unsigned nro = 0;
            struct json_object *ra;
            if (json_object_object_get_ex(o, "rodata", &ra)) {
                if (!json_object_is_type(ra, json_type_array) || json_object_array_length(ra) > 256)
                    BAD("policies[%zu].rodata must be an array of at most 256 strings", i);
                for (size_t j = 0; j < json_object_array_length(ra); j++) {
                    struct json_object *e = json_object_array_get_idx(ra, j);
                    if (!json_object_is_type(e, json_type_string))
                        BAD("policies[%zu].rodata[%zu] must be a string", i, j);
                    ro[nro++] = json_object_get_string(e);
                }
            }
            if ((rc = live_state_add_policy(st, name, source, ro, nro)))
                goto nomem;
            struct json_object *ea;
            if (json_object_object_get_ex(o, "map_edits", &ea)) {
                if (!json_object_is_type(ea, json_type_array))
                    BAD("policies[%zu].map_edits must be an array", i);
                for (size_t j = 0; j < json_object_array_length(ea); j++) {
                    struct json_object *e = json_object_array_get_idx(ea, j), *val;
                    const char *map = get_str(e, "map"), *key = get_str(e, "key");
                    const char *value = NULL;
                    if (!map || !key)
                        BAD("policies[%zu].map_edits[%zu] needs \"map\" and \"key\"", i, j);
                    if (json_object_object_get_ex(e, "value", &val) && val) {
                        if (!json_object_is_type(val, json_type_string))
                            BAD("policies[%zu].map_edits[%zu].value must be a string or null", i,
                                j);
                        value = json_object_get_string(val);
                    }
                    if ((rc = live_state_add_edit(&st->policies[st->nr_policies - 1], map, key,
                                                  value)))
                        goto nomem;
                }
            }
        }
    }
    if (json_object_object_get_ex(root, "global", &v) && v) {
        if (!json_object_is_type(v, json_type_string) ||
            strlen(json_object_get_string(v)) >= LIVE_STATE_NAME)
            BAD("\"global\" must be a policy name or null");
        snprintf(st->global, sizeof(st->global), "%s", json_object_get_string(v));
    }
    if (json_object_object_get_ex(root, "procs", &arr)) {
        if (!json_object_is_type(arr, json_type_array))
            BAD("\"procs\" must be an array");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            struct json_object *o = json_object_array_get_idx(arr, i), *pv, *sv;
            const char *pol = get_str(o, "policy"), *comm = get_str(o, "comm");
            if (!json_object_object_get_ex(o, "pid", &pv) ||
                !json_object_is_type(pv, json_type_int) ||
                !json_object_object_get_ex(o, "start_time", &sv) ||
                !json_object_is_type(sv, json_type_int) || !pol || strlen(pol) >= LIVE_STATE_NAME)
                BAD("procs[%zu] needs \"pid\", \"start_time\" (integers) and \"policy\"", i);
            int64_t pid = json_object_get_int64(pv), t = json_object_get_int64(sv);
            if (pid <= 0 || pid > INT32_MAX || t <= 0)
                BAD("procs[%zu] has pid %lld and start_time %lld; both must be positive", i,
                    (long long)pid, (long long)t);
            if ((rc = live_state_add_proc(st, (int32_t)pid, (uint64_t)t, pol, comm)))
                goto nomem;
        }
    }
    json_object_put(root);
    return 0;
nomem:
    snprintf(err, err_size, "%s: out of memory", path);
fail:
    json_object_put(root);
    live_state_free(st);
    return rc;
}
