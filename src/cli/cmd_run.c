/*
 * `bpfmm run [--policy NAME|FILE] [--rodata k=v] -- CMD ARGS...`: starts CMD already governed
 * by a policy. The child waits until the policy is attached (through the running agent, or
 * an agent run in-process for this process tree when none is reachable), then execs; THP at
 * fault is restricted with prctl before exec when the policy allows none (src/live/launch.h).
 * Exits with CMD's exit status, or 128 + N when a signal N killed it; 125 when bpfmm run
 * itself failed, 126/127 when CMD could not be executed / found.
 */
#include "cli.h"
#include "ctl_client.h"
#include "live/daemon.h"
#include "live/launch.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_FAIL 125
#define MAX_RO   64

static void usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm run [--policy NAME|FILE] [--rodata KNOB=VALUE ...] [--socket PATH]\n"
            "                 [--agent | --no-agent] [--set KEY=VALUE ...] [--quiet]\n"
            "                 -- CMD [ARGS...]\n\n"
            "Runs CMD governed by a THP policy (default: default) from its first instruction:\n"
            "the policy is attached before CMD execs, so all its memory and all the children it\n"
            "forks are managed. If a `bpfmm agent` is reachable on the socket, it is asked to\n"
            "attach CMD; otherwise bpfmm run is the agent for CMD's process tree until CMD\n"
            "exits.\n\n"
            "THP at fault: stock kernels cannot apply a policy's fault-time decision per VMA.\n"
            "When the policy allows no THP at fault, CMD starts with\n"
            "prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED) if the policy still\n"
            "allows collapse (Linux 6.18), or prctl(PR_SET_THP_DISABLE, 1, 0) if it allows\n"
            "none; both are inherited by CMD's children and last for their lifetime.\n\n"
            "options:\n"
            "  --policy NAME|FILE   shipped policy name or .bpf.o file (default: default)\n"
            "  --rodata KNOB=VALUE  set a policy knob (repeatable)\n"
            "  --socket PATH        the agent's socket (default: $BPFMM_SOCKET or\n"
            "                       /run/bpfmm/agent.sock)\n"
            "  --agent              require a running agent\n"
            "  --no-agent           do not use a running agent; be the agent for CMD\n"
            "  --set KEY=VALUE      in-process agent settings (agent config keys, e.g.\n"
            "                       budget_off=yes)\n"
            "  --quiet              no messages about what was done (warnings and errors still\n"
            "                       shown)\n\n"
            "exit status: CMD's, or 128+N if signal N killed it; 125 if bpfmm run failed,\n"
            "126 if CMD could not be executed, 127 if it was not found.\n");
}

enum { O_POLICY = 1000, O_RODATA, O_SOCKET, O_AGENT, O_NO_AGENT, O_SET, O_QUIET };

/* Through a running agent: ask it to attach the waiting child. */
static int attach_via_agent(int fd, const char *socket, const char *policy, const char *const *ro,
                            unsigned nro, pid_t pid, bool quiet)
{
    char err[1024], abs[4096];
    size_t n = strlen(policy);
    if ((strchr(policy, '/') || (n > 2 && !strcmp(policy + n - 2, ".o"))) && policy[0] != '/' &&
        realpath(policy, abs))
        policy = abs;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct json_object *req = ctl_new_request("attach"), *reply = NULL;
        json_object_object_add(req, "pid", json_object_new_int(pid));
        json_object_object_add(req, "policy", json_object_new_string(policy));
        if (nro) {
            struct json_object *a = json_object_new_array();
            for (unsigned i = 0; i < nro; i++)
                json_object_array_add(a, json_object_new_string(ro[i]));
            json_object_object_add(req, "rodata", a);
        }
        if (attempt) {
            /* The agent has this policy loaded with other knobs: load our own instance. */
            char name[64];
            char *base = strdup(policy);
            if (!base) {
                json_object_put(req);
                return -ENOMEM;
            }
            snprintf(name, sizeof(name), "%.40s@%d", basename(base), (int)pid);
            free(base);
            json_object_object_add(req, "name", json_object_new_string(name));
        }
        int rc = ctl_call(fd, req, &reply, 120000, err, sizeof(err));
        json_object_put(req);
        if (rc) {
            cli_error("run: the agent at %s: %s", socket, err);
            return rc;
        }
        struct json_object *ok, *code, *msg;
        if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
            struct json_object *pn;
            if (!quiet)
                fprintf(stderr, "bpfmm run: the agent at %s attached policy %s to process %d\n",
                        socket,
                        json_object_object_get_ex(reply, "policy", &pn) ? json_object_get_string(pn)
                                                                        : policy,
                        (int)pid);
            json_object_put(reply);
            return 0;
        }
        rc = json_object_object_get_ex(reply, "code", &code) ? -json_object_get_int(code) : -EIO;
        if (rc == -EEXIST && !attempt) {
            json_object_put(reply);
            continue;
        }
        cli_error("run: the agent at %s refused to attach: %s", socket,
                  json_object_object_get_ex(reply, "error", &msg) ? json_object_get_string(msg)
                                                                  : "no reason given");
        json_object_put(reply);
        return rc;
    }
    return -EEXIST;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, O_POLICY},
        {"rodata", required_argument, NULL, O_RODATA},
        {"socket", required_argument, NULL, O_SOCKET},
        {"agent", no_argument, NULL, O_AGENT},
        {"no-agent", no_argument, NULL, O_NO_AGENT},
        {"set", required_argument, NULL, O_SET},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *policy = "default", *socket_opt = NULL;
    const char *ro[MAX_RO], *sets[MAX_RO];
    unsigned nro = 0, nsets = 0;
    bool need_agent = false, no_agent = false, quiet = false;
    optind = 1;
    /* "+": stop at the first non-option, so CMD's own options are left alone. */
    for (int ch; (ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1;) {
        switch (ch) {
        case O_POLICY:
            policy = optarg;
            break;
        case O_RODATA:
        case O_SET:
            if (!strchr(optarg, '=') || (ch == O_RODATA ? nro : nsets) == MAX_RO) {
                cli_error("run: --%s wants KNOB=VALUE (at most %d), not '%s'",
                          ch == O_RODATA ? "rodata" : "set", MAX_RO, optarg);
                return CLI_EXIT_USAGE;
            }
            if (ch == O_RODATA)
                ro[nro++] = optarg;
            else
                sets[nsets++] = optarg;
            break;
        case O_SOCKET:
            socket_opt = optarg;
            break;
        case O_AGENT:
            need_agent = true;
            break;
        case O_NO_AGENT:
            no_agent = true;
            break;
        case O_QUIET:
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("run: no command given (bpfmm run [OPTIONS] -- CMD [ARGS...])");
        return CLI_EXIT_USAGE;
    }
    if (need_agent && no_agent) {
        cli_error("run: --agent and --no-agent contradict each other");
        return CLI_EXIT_USAGE;
    }
    char **cmd = argv + optind;
    char err[2048];

    /* What the kernel can enforce at fault for CMD, decided before it starts. */
    const struct live_features *f = live_probe_cached(&live_os_linux);
    char comm[64], argv0[4096];
    snprintf(argv0, sizeof(argv0), "%s", cmd[0]);
    snprintf(comm, 16, "%s", basename(argv0));
    struct live_launch_thp thp;
    if (live_launch_thp_decide(policy, ro, nro, comm, f, &thp, err, sizeof(err))) {
        cli_error("run: %s", err);
        return RUN_FAIL;
    }

    /* A running agent, unless told otherwise. */
    const char *socket = ctl_socket_path(socket_opt);
    int fd = -1;
    if (!no_agent) {
        fd = ctl_connect(socket, err, sizeof(err));
        if (fd < 0 && (need_agent || fd == -EACCES || fd == -EPERM)) {
            cli_error("run: %s", err);
            return RUN_FAIL;
        }
    }
    if (fd < 0 && live_probe_require(f, err, sizeof(err))) {
        cli_error("run: no agent is running at %s, and this process cannot be one: %s", socket,
                  err);
        return RUN_FAIL;
    }
    if (!quiet)
        fprintf(stderr, "bpfmm run: THP at fault: %s (%s)\n", live_launch_thp_mode_name(thp.mode),
                thp.why);

    struct live_launch l;
    if (live_launch_start(&live_os_linux, cmd, thp.mode, &l, err, sizeof(err))) {
        cli_error("run: %s", err);
        if (fd >= 0)
            close(fd);
        return RUN_FAIL;
    }

    if (fd >= 0) {
        int rc = attach_via_agent(fd, socket, policy, ro, nro, l.pid, quiet);
        close(fd);
        if (rc) {
            live_launch_abort(&l);
            return RUN_FAIL;
        }
        if (live_launch_release(&l, err, sizeof(err))) {
            cli_error("run: %s: %s", cmd[0], err);
            return live_launch_reap(&l);
        }
        return live_launch_wait(&l);
    }

    /* No agent: be the agent for CMD's process tree. */
    struct live_config cfg;
    live_config_defaults(&cfg);
    cfg.socket[0] = cfg.state[0] = 0;
    for (unsigned i = 0; i < nsets; i++) {
        char kv[1024];
        snprintf(kv, sizeof(kv), "%s", sets[i]);
        char *eq = strchr(kv, '=');
        if (!eq) { /* the '=' was past what fits */
            cli_error("run: --set %.40s...: too long (at most %zu bytes)", sets[i], sizeof(kv) - 1);
            live_launch_abort(&l);
            return RUN_FAIL;
        }
        *eq = 0;
        if (live_config_set(&cfg, kv, eq + 1, err, sizeof(err))) {
            cli_error("run: --set: %s", err);
            live_launch_abort(&l);
            return RUN_FAIL;
        }
    }
    struct live_daemon_opts o = {.sz = sizeof(o),
                                 .cfg = &cfg,
                                 .in_process = true,
                                 .watch_pidfd = l.pidfd,
                                 .quiet = quiet,
                                 .log_prefix = "bpfmm run"};
    live_daemon_t *d = live_daemon_new(&o, err, sizeof(err));
    if (!d) {
        cli_error("run: %s", err);
        live_launch_abort(&l);
        return RUN_FAIL;
    }
    if (live_daemon_attach_self(d, policy, ro, nro, l.pid, err, sizeof(err))) {
        cli_error("run: cannot attach policy %s: %s", policy, err);
        live_launch_abort(&l);
        live_daemon_free(d);
        return RUN_FAIL;
    }
    if (!quiet)
        fprintf(stderr,
                "bpfmm run: no agent at %s: managing %s (pid %d) in-process with "
                "policy %s\n",
                socket, cmd[0], (int)l.pid, policy);
    if (live_launch_release(&l, err, sizeof(err))) {
        cli_error("run: %s: %s", cmd[0], err);
        live_daemon_free(d);
        return live_launch_reap(&l);
    }
    live_daemon_run(d);
    int code = live_launch_reap(&l);
    live_daemon_free(d);
    return code;
}

static const struct cli_command run_cmd = {"run", "run a command governed by a THP policy",
                                           cmd_run};
CLI_COMMAND(run_cmd)
