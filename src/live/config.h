/*
 * The agent's configuration (default /etc/bpfmm/agent.conf; dist/agent.conf is the annotated
 * example): `key = value` lines, `#` comments. Command-line options of `bpfmm agent` override
 * the file; SIGHUP re-reads the file (and re-applies the same overrides).
 *
 * Owns the keys, their defaults, parsing and validation (messages name the file, the line and
 * what is accepted). It does not apply anything: the daemon does (and says which keys need a
 * restart to change).
 */
#ifndef BPFMM_LIVE_CONFIG_H
#define BPFMM_LIVE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

struct live_config {
    /* control socket */
    char socket[108];
    char socket_group[64]; /* "" = root only */
    unsigned socket_mode;
    /* persistence ("" = none) */
    char state[PATH_MAX];
    /* Prometheus: a textfile for node_exporter ("" = none) every prom_interval_s, and/or an
     * HTTP endpoint ("" = none), "ADDR:PORT" with ADDR an IPv4 or [IPv6] literal. */
    char prom_file[PATH_MAX];
    unsigned prom_interval_s;
    char prom_listen[128];
    /* lifecycle: "auto" | "bpf" | "procconn" */
    char lifecycle[16];
    /* A global policy to set at start when the state file names none ("" = none): a shipped
     * name or a path; global_rodata: "k=v,k=v". */
    char global_policy[PATH_MAX];
    char global_rodata[1024];
    /* engine (0 = the engine's default) */
    uint64_t budget_bytes_per_s;      /* collapse bytes per second, all processes */
    uint64_t budget_proc_bytes_per_s; /* collapse bytes per second, per process */
    uint64_t budget_lock_us_per_s;    /* mmap-lock time per process per second */
    bool budget_off;                  /* no budget at all (benchmarks) */
    unsigned batch_blocks;            /* 2 MiB blocks per process_madvise call */
    unsigned scan_interval_ms;        /* a process is rescanned at most this often */
    /* logging */
    bool log_debug;
    unsigned trace_per_s; /* policies' trace_printk lines logged per second (0: none) */
};

/* Defaults (socket /run/bpfmm/agent.sock mode 0660, state /var/lib/bpfmm/state.json,
 * prom_interval_s 15, lifecycle auto). */
void live_config_defaults(struct live_config *c);

/* Parses the file over *c (keys absent keep their value). -ENOENT when the file does not
 * exist; -EINVAL with "FILE:LINE: ..." in err for a bad line. */
int live_config_load(struct live_config *c, const char *path, char *err, size_t err_size);

/* Applies one "key=value" (command-line overrides use the same keys). */
int live_config_set(struct live_config *c, const char *key, const char *value, char *err,
                    size_t err_size);

/* Resolves socket_group to a gid (or (gid_t)-1 when empty). -ENOENT with a message for an
 * unknown group. */
int live_config_group(const struct live_config *c, gid_t *gid, char *err, size_t err_size);

/* Writes every key with its value (for `bpfmm agent --print-config`). */
void live_config_print(const struct live_config *c, FILE *out);

#endif
