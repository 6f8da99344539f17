/*
 * The agent daemon: `bpfmm agent` (a control socket, persistence, metrics) and the in-process
 * agent of `bpfmm run` (no socket, no state, ends when the launched command exits). One epoll
 * loop, single-threaded, over: a signalfd (SIGTERM/SIGINT: clean exit; SIGHUP: reload the
 * config), the lifecycle fd (fork/exec/exit of managed processes), the control socket, the
 * Prometheus endpoint, an optional pidfd to watch, and the engine's own timing (epoll's
 * timeout is the engine's next step).
 *
 * Owns: start-up checks and the features report, wiring the engine (agent.h) to lifecycle
 * events (lifecycle.h), the control operations (daemon_ops.c), the status document
 * (daemon_status.c), persistence (daemon_persist.c, state.h), metrics output (prom.h) and
 * logging. Not: decisions, collapses, budgets (the engine), lifecycle mechanics.
 *
 * Killing the daemon, even with SIGKILL, never harms targets: the engine leaves nothing
 * pending on them, the lifecycle's BPF programs and maps go away with the daemon's file
 * descriptors, and no prctl or madvise state is ever set on a target by the daemon.
 */
#ifndef BPFMM_LIVE_DAEMON_H
#define BPFMM_LIVE_DAEMON_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct live_daemon live_daemon_t;

struct live_daemon_opts {
    size_t sz;
    const struct live_config *cfg; /* copied */
    /* SIGHUP re-reads this file (NULL: SIGHUP only re-applies the overrides) and then the
     * overrides ("key=value", as the command line gave them). */
    const char *config_path;
    const char *const *overrides;
    unsigned nr_overrides;
    /* `bpfmm run` without an agent: no control socket, no state file, no metrics; the loop
     * ends when watch_pidfd becomes readable (the launched command exited). */
    bool in_process;
    int watch_pidfd;        /* -1: none */
    bool quiet;             /* info messages off (warnings and errors still shown) */
    const char *log_prefix; /* "bpfmm agent" by default */
};

/* Checks requirements (prints what is missing and refuses: -ENOTSUP, -EPERM), prints the
 * features found, opens the engine, the lifecycle, the control socket, restores the state.
 * NULL + errno, with a message in err. */
live_daemon_t *live_daemon_new(const struct live_daemon_opts *o, char *err, size_t err_size);
/* Runs the loop until SIGTERM/SIGINT, or watch_pidfd is readable. Saves the state on the way
 * out. 0, or -errno for a fatal failure. */
int live_daemon_run(live_daemon_t *d);
/* Closes everything; managed processes are not touched. */
void live_daemon_free(live_daemon_t *d);

/* For `bpfmm run` in-process: loads the policy (shipped name or path + rodata) and attaches it
 * to pid as the agent itself. 0 or -errno with a message. */
int live_daemon_attach_self(live_daemon_t *d, const char *policy, const char *const *rodata,
                            unsigned nr_rodata, pid_t pid, char *err, size_t err_size);

#endif
