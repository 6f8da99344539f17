/*
 * Internals shared by the daemon's files: daemon.c (set-up, loop, lifecycle events, reload,
 * logging), daemon_reg.c (policy registry, start times, attach/detach), daemon_ops.c (control operations), daemon_status.c (the status document),
 * daemon_persist.c (state file). Not for use outside src/live/daemon*.c.
 */
#ifndef BPFMM_LIVE_DAEMON_IMPL_H
#define BPFMM_LIVE_DAEMON_IMPL_H

#include "agent.h"
#include "control.h"
#include "daemon.h"
#include "lifecycle.h"
#include "prom.h"
#include "state.h"

#include <bpfmm/policy.h>
#include <json-c/json.h>
#include <stdarg.h>

/* pid -> start time of the processes managed locally (persistence pins identities). */
struct dstart {
    pid_t pid;
    uint64_t start_time;
};

struct live_daemon {
    struct live_config cfg;
    char *config_path;
    char **overrides;
    unsigned nr_overrides;
    bool in_process, quiet, journal;
    const char *log_prefix;
    int watch_pidfd;

    const struct live_os *os;
    const struct live_features *f;
    live_agent_t *agent;
    live_lifecycle_t *lc;
    uint64_t lc_gaps; /* lifecycle gap counters last seen (lc_check_lost) */
    live_ctl_t *ctl;
    live_prom_http_t *http;
    int ep, sfd;

    /* What the operator asked for: the loaded policies (with their source, rodata knobs and
     * map edits, by the agent's id) and the global policy. procs is unused here. */
    struct live_state reg;
    uint32_t global_id;

    struct dstart *starts;
    size_t nr_starts, cap_starts;

    bool dirty; /* the state file is behind */
    uint64_t start_ns, last_save_ns, last_prom_ns;
    uint64_t save_err_logged_ns; /* a failing save is reported once a minute, not per try */
    bool stop;
    const char *stop_reason;
    uint64_t trace_window_ns; /* trace_printk rate limit: the current 1 s window */
    unsigned traces_in_window;
    unsigned long long traces_dropped;
};

__attribute__((format(printf, 3, 4))) void dlog(struct live_daemon *d, int level, const char *fmt,
                                                ...);
#define DLOG_ERR   LIVE_AGENT_LOG_ERR
#define DLOG_WARN  LIVE_AGENT_LOG_WARN
#define DLOG_INFO  LIVE_AGENT_LOG_INFO
#define DLOG_DEBUG LIVE_AGENT_LOG_DEBUG

/* start times */
void dstart_set(struct live_daemon *d, pid_t pid, uint64_t start_time);
void dstart_del(struct live_daemon *d, pid_t pid);
uint64_t dstart_get(struct live_daemon *d, pid_t pid); /* 0 if unknown */
/* /proc/PID/stat start time and comm; 0 or -errno. */
int dproc_identity(pid_t pid, uint64_t *start_time, char *comm, size_t comm_size);

/* registry */
struct live_state_policy *dreg_by_id(struct live_daemon *d, uint32_t id);
struct live_state_policy *dreg_by_name(struct live_daemon *d, const char *name);
/* The policy object of a loaded policy (borrowed until its next update or removal), for map
 * edits; NULL when the engine cannot say. */
/* Loads a policy into the engine and the registry. 0 or -errno with a message. */
int dpolicy_add(struct live_daemon *d, const char *name, const char *source,
                const char *const *rodata, unsigned nr_rodata, uint32_t *id, char *err,
                size_t err_size);
int dpolicy_remove(struct live_daemon *d, uint32_t id);
/* Applies a registry policy's map edits to its current program; logs the ones that fail. */
void dpolicy_replay_edits(struct live_daemon *d, uint32_t id);

/* attach pid to policy id in the engine and the lifecycle (kernel), or neither */
int dattach(struct live_daemon *d, uint32_t id, pid_t pid, const struct live_agent_creds *caller,
            uint64_t expect_start, char *err, size_t err_size);
int ddetach_pid(struct live_daemon *d, pid_t pid);

/* control operations (daemon_ops.c) */
struct json_object *dops_handle(void *arg, const struct live_ctl_peer *peer,
                                struct json_object *req);

/* the status document (daemon_status.c) */
struct json_object *dstatus(struct live_daemon *d);
char *dprom_text(void *arg);

/* persistence (daemon_persist.c) */
int dpersist_save(struct live_daemon *d);
void dpersist_restore(struct live_daemon *d);

#endif
