/*
 * `bpfmm agent`: runs the live agent in the foreground (systemd: dist/bpfmm-agent.service).
 * Reads the config file (default /etc/bpfmm/agent.conf if present), applies command-line
 * overrides, and hands over to the daemon (src/live/daemon.h). Owns option parsing only.
 */
#include "cli.h"
#include "live/control_proto.h"
#include "live/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OVERRIDES 64

static void usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm agent [--config FILE] [--socket PATH] [--state FILE | --no-state]\n"
            "                   [--group NAME] [--lifecycle auto|bpf|procconn]\n"
            "                   [--prometheus-file FILE] [--prometheus-listen ADDR:PORT]\n"
            "                   [--set KEY=VALUE ...] [--debug] [--print-config]\n\n"
            "Runs the live agent in the foreground: it follows the processes policies are\n"
            "attached to (and their children), scans them, asks their policy about every 2 MiB\n"
            "range and collapses the allowed ones with process_madvise(MADV_COLLAPSE), within\n"
            "a budget. Control it with bpfmm attach|detach|update|global|map|status.\n"
            "Logs go to stderr (journald adds priorities). SIGTERM/SIGINT: clean exit (the\n"
            "attach list is saved; targets are left as they are). SIGHUP: reload the config.\n\n"
            "options (each overrides the config file key named in brackets):\n"
            "  --config FILE            config file (default %s, if present)\n"
            "  --socket PATH            control socket [socket] (default %s)\n"
            "  --state FILE             attach list kept across restarts [state]\n"
            "                           (default %s)\n"
            "  --no-state               keep no state file\n"
            "  --group NAME             group allowed on the socket besides root [socket_group]\n"
            "  --lifecycle MODE         auto, bpf or procconn [lifecycle]\n"
            "  --prometheus-file FILE   write metrics there every prometheus_interval s\n"
            "  --prometheus-listen A:P  serve GET /metrics on A:P [prometheus_listen]\n"
            "  --set KEY=VALUE          any config key (see --print-config)\n"
            "  --debug                  debug messages [log_debug]\n"
            "  --print-config           print the resulting settings and exit\n\n"
            "Requirements: Linux >= 6.1 (MADV_COLLAPSE); root, or CAP_SYS_NICE and\n"
            "CAP_SYS_PTRACE (collapse), plus CAP_BPF and CAP_PERFMON (lifecycle programs;\n"
            "without them the proc connector is used). See docs/agent-daemon.md.\n",
            LIVE_CTL_DEFAULT_CONFIG, LIVE_CTL_DEFAULT_SOCKET, LIVE_CTL_DEFAULT_STATE);
}

enum {
    O_CONFIG = 1000,
    O_SOCKET,
    O_STATE,
    O_NO_STATE,
    O_GROUP,
    O_LIFECYCLE,
    O_PFILE,
    O_PLISTEN,
    O_SET,
    O_DEBUG,
    O_PRINT
};

static int cmd_agent(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"socket", required_argument, NULL, O_SOCKET},
        {"state", required_argument, NULL, O_STATE},
        {"no-state", no_argument, NULL, O_NO_STATE},
        {"group", required_argument, NULL, O_GROUP},
        {"lifecycle", required_argument, NULL, O_LIFECYCLE},
        {"prometheus-file", required_argument, NULL, O_PFILE},
        {"prometheus-listen", required_argument, NULL, O_PLISTEN},
        {"set", required_argument, NULL, O_SET},
        {"debug", no_argument, NULL, O_DEBUG},
        {"print-config", no_argument, NULL, O_PRINT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *config = NULL;
    bool print = false;
    char *ov[MAX_OVERRIDES];
    unsigned nov = 0;
    int rc = CLI_EXIT_USAGE;
    optind = 1;
    for (int ch; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        const char *key = NULL, *val = optarg;
        switch (ch) {
        case O_CONFIG:
            config = optarg;
            continue;
        case O_SOCKET:
            key = "socket";
            break;
        case O_STATE:
            key = "state";
            break;
        case O_NO_STATE:
            key = "state", val = "";
            break;
        case O_GROUP:
            key = "socket_group";
            break;
        case O_LIFECYCLE:
            key = "lifecycle";
            break;
        case O_PFILE:
            key = "prometheus_file";
            break;
        case O_PLISTEN:
            key = "prometheus_listen";
            break;
        case O_DEBUG:
            key = "log_debug", val = "yes";
            break;
        case O_SET:
            if (!strchr(optarg, '=')) {
                cli_error("agent: --set wants KEY=VALUE, not '%s'", optarg);
                goto out;
            }
            break;
        case O_PRINT:
            print = true;
            continue;
        case 'h':
            usage(stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
        if (nov == MAX_OVERRIDES) {
            cli_error("agent: too many overrides");
            goto out;
        }
        if (key) {
            if (asprintf(&ov[nov], "%s=%s", key, val) < 0)
                goto out;
        } else if (!(ov[nov] = strdup(optarg)))
            goto out;
        nov++;
    }
    if (optind != argc) {
        cli_error("agent: unexpected argument '%s'", argv[optind]);
        goto out;
    }
    struct live_config cfg;
    char err[2048];
    live_config_defaults(&cfg);
    const char *cfg_path = config;
    if (!cfg_path && access(LIVE_CTL_DEFAULT_CONFIG, F_OK) == 0)
        cfg_path = LIVE_CTL_DEFAULT_CONFIG;
    if (cfg_path && live_config_load(&cfg, cfg_path, err, sizeof(err))) {
        cli_error("agent: %s", err);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (unsigned i = 0; i < nov; i++) {
        char *eq = strchr(ov[i], '=');
        *eq = 0;
        int r = live_config_set(&cfg, ov[i], eq + 1, err, sizeof(err));
        *eq = '=';
        if (r) {
            cli_error("agent: %s", err);
            goto out;
        }
    }
    if (print) {
        live_config_print(&cfg, stdout);
        rc = CLI_EXIT_OK;
        goto out;
    }
    struct live_daemon_opts o = {.sz = sizeof(o),
                                 .cfg = &cfg,
                                 .config_path = cfg_path,
                                 .overrides = (const char *const *)ov,
                                 .nr_overrides = nov,
                                 .watch_pidfd = -1};
    live_daemon_t *d = live_daemon_new(&o, err, sizeof(err));
    if (!d) {
        cli_error("agent: %s", err);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    rc = live_daemon_run(d) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    live_daemon_free(d);
out:
    for (unsigned i = 0; i < nov; i++)
        free(ov[i]);
    return rc;
}

static const struct cli_command agent_cmd = {"agent", "run the live agent (daemon, foreground)",
                                             cmd_agent};
CLI_COMMAND(agent_cmd)
