/*
 * The agent's configuration file (config.h): a table of keys, each with its parser, so that
 * the file, the command line and --print-config agree on names and formats.
 */
#include "config.h"

#include <bpfmm/policy.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_proto.h"

enum kind { K_STR, K_MODE, K_UINT, K_SIZE, K_BOOL, K_LIFECYCLE, K_LISTEN };

struct key {
    const char *name;
    enum kind kind;
    size_t off, size;
    const char *help;
};

#define F(field) offsetof(struct live_config, field), sizeof(((struct live_config *)0)->field)

static const struct key keys[] = {
    {"socket", K_STR, F(socket), "control socket path"},
    {"socket_group", K_STR, F(socket_group), "group allowed besides root (empty: root only)"},
    {"socket_mode", K_MODE, F(socket_mode), "control socket file mode (octal)"},
    {"state", K_STR, F(state), "state file (empty: no persistence)"},
    {"prometheus_file", K_STR, F(prom_file), "textfile for node_exporter (empty: none)"},
    {"prometheus_interval", K_UINT, F(prom_interval_s), "seconds between textfile writes"},
    {"prometheus_listen", K_LISTEN, F(prom_listen), "HTTP /metrics on ADDR:PORT (empty: none)"},
    {"lifecycle", K_LIFECYCLE, F(lifecycle), "auto | bpf | procconn"},
    {"global_policy", K_STR, F(global_policy), "global policy at first start (empty: none)"},
    {"global_rodata", K_STR, F(global_rodata), "its knobs, k=v,k=v"},
    {"budget_bytes_per_s", K_SIZE, F(budget_bytes_per_s), "collapse bytes/s, all processes"},
    {"budget_proc_bytes_per_s", K_SIZE, F(budget_proc_bytes_per_s), "collapse bytes/s, each"},
    {"budget_lock_us_per_s", K_UINT, F(budget_lock_us_per_s), "mmap-lock us/s per process"},
    {"budget_off", K_BOOL, F(budget_off), "no budget at all (benchmarks only)"},
    {"batch_blocks", K_UINT, F(batch_blocks), "2 MiB blocks per process_madvise call"},
    {"scan_interval_ms", K_UINT, F(scan_interval_ms), "minimum time between scans of a process"},
    {"log_debug", K_BOOL, F(log_debug), "debug messages"},
    {"trace_per_s", K_UINT, F(trace_per_s), "policy trace_printk lines logged per second"},
};

void live_config_defaults(struct live_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->socket, sizeof(c->socket), "%s", LIVE_CTL_DEFAULT_SOCKET);
    c->socket_mode = 0660;
    snprintf(c->state, sizeof(c->state), "%s", LIVE_CTL_DEFAULT_STATE);
    c->prom_interval_s = 15;
    snprintf(c->lifecycle, sizeof(c->lifecycle), "auto");
    c->trace_per_s = 100;
}

static int parse_u64(const char *v, bool sizes, uint64_t *out)
{
    if (sizes)
        return bpfmm_policy_parse_size(v, out);
    char *end;
    errno = 0;
    if (!*v || *v == '-')
        return -EINVAL;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno)
        return -ERANGE;
    if (*end)
        return -EINVAL;
    *out = x;
    return 0;
}

int live_config_set(struct live_config *c, const char *key, const char *value, char *err,
                    size_t err_size)
{
    const struct key *k = NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(keys[i].name, key))
            k = &keys[i];
    if (!k) {
        int n = snprintf(err, err_size, "unknown key '%s'; known keys:", key);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n > 0 && (size_t)n < err_size; i++)
            n += snprintf(err + n, err_size - (size_t)n, " %s", keys[i].name);
        return -EINVAL;
    }
    void *dst = (char *)c + k->off;
    uint64_t u;
    int rc;
    switch (k->kind) {
    case K_LISTEN:
        if (*value && (!strrchr(value, ':') || !strrchr(value, ':')[1])) {
            snprintf(err, err_size, "%s: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9464)", key, value);
            return -EINVAL;
        }
        /* fall through */
    case K_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, err_size, "%s: value longer than %zu characters", key, k->size - 1);
            return -ENAMETOOLONG;
        }
        snprintf(dst, k->size, "%s", value);
        return 0;
    case K_LIFECYCLE:
        if (strcmp(value, "auto") && strcmp(value, "bpf") && strcmp(value, "procconn")) {
            snprintf(err, err_size, "%s: '%s' is not auto, bpf or procconn", key, value);
            return -EINVAL;
        }
        snprintf(dst, k->size, "%s", value);
        return 0;
    case K_BOOL:
        if (!strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") ||
            !strcmp(value, "on"))
            *(bool *)dst = true;
        else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false") ||
                 !strcmp(value, "off"))
            *(bool *)dst = false;
        else {
            snprintf(err, err_size, "%s: '%s' is not yes/no/true/false/1/0", key, value);
            return -EINVAL;
        }
        return 0;
    case K_MODE: {
        char *end;
        errno = 0;
        unsigned long m = strtoul(value, &end, 8);
        if (errno || end == value || *end || m > 0777) {
            snprintf(err, err_size, "%s: '%s' is not an octal file mode (e.g. 0660)", key, value);
            return -EINVAL;
        }
        *(unsigned *)dst = (unsigned)m;
        return 0;
    }
    case K_UINT:
    case K_SIZE:
        rc = parse_u64(value, k->kind == K_SIZE, &u);
        if (rc || (k->size == sizeof(unsigned) && u > 0xffffffffull)) {
            snprintf(err, err_size, "%s: '%s' is not a %s", key, value,
                     k->kind == K_SIZE ? "size (bytes, or with K/M/G suffix)"
                                       : "non-negative integer");
            return -EINVAL;
        }
        if (k->size == sizeof(unsigned))
            *(unsigned *)dst = (unsigned)u;
        else
            *(uint64_t *)dst = u;
        return 0;
    }
    return -EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int live_config_load(struct live_config *c, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        snprintf(err, err_size, "cannot open the config file %s: %s", path, strerror(e));
        return -e;
    }
    char line[PATH_MAX + 256];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, err_size, "%s:%u: line too long", path, lineno);
            rc = -EINVAL;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, err_size, "%s:%u: expected `key = value`, got '%s'", path, lineno, s);
            rc = -EINVAL;
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        char msg[512];
        if ((rc = live_config_set(c, key, value, msg, sizeof(msg)))) {
            snprintf(err, err_size, "%s:%u: %s", path, lineno, msg);
            break;
        }
    }
    fclose(f);
    return rc;
}

int live_config_group(const struct live_config *c, gid_t *gid, char *err, size_t err_size)
{
    *gid = (gid_t)-1;
    if (!c->socket_group[0])
        return 0;
    struct group *g = getgrnam(c->socket_group);
    if (g) {
        *gid = g->gr_gid;
        return 0;
    }
    char *end;
    unsigned long n = strtoul(c->socket_group, &end, 10);
    if (!*end && end != c->socket_group) {
        *gid = (gid_t)n;
        return 0;
    }
    snprintf(err, err_size,
             "socket_group '%s': no such group; create it (groupadd %s) or change the setting",
             c->socket_group, c->socket_group);
    return -ENOENT;
}

void live_config_print(const struct live_config *c, FILE *out)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key *k = &keys[i];
        const void *src = (const char *)c + k->off;
        fprintf(out, "%-24s = ", k->name);
        switch (k->kind) {
        case K_STR:
        case K_LIFECYCLE:
        case K_LISTEN:
            fprintf(out, "%s", (const char *)src);
            break;
        case K_MODE:
            fprintf(out, "%04o", *(const unsigned *)src);
            break;
        case K_BOOL:
            fprintf(out, "%s", *(const bool *)src ? "yes" : "no");
            break;
        case K_UINT:
        case K_SIZE:
            if (k->size == sizeof(unsigned))
                fprintf(out, "%u", *(const unsigned *)src);
            else
                fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)src);
            break;
        }
        fprintf(out, "  # %s\n", k->help);
    }
}
