/*
 * The bpfmm command's subcommand registry and shared output helpers. Each src/cli/cmd_*.c
 * defines one top-level subcommand and registers it with CLI_COMMAND(); main.c dispatches.
 * This header owns argument conventions and exit codes, not any subcommand's logic.
 */
#ifndef BPFMM_CLI_H
#define BPFMM_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes shared by every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* the operation failed (a message says what and why) */
    CLI_EXIT_USAGE = 2, /* bad arguments (a message says which and what to do) */
};

struct cli_command {
    const char *name;    /* e.g. "bench" */
    const char *summary; /* one line for `bpfmm --help` */
    /* argv[0] is the subcommand name; returns a CLI_EXIT_* code. */
    int (*run)(int argc, char **argv);
};

void cli_register(const struct cli_command *cmd);

#define CLI_COMMAND(var)                                                                           \
    __attribute__((constructor)) static void var##_register(void)                                  \
    {                                                                                              \
        cli_register(&var);                                                                        \
    }

/* "bpfmm: <message>" on stderr. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);

/* True when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

#endif
