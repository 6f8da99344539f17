/*
 * Entry point of the bpfmm command: finds the subcommand registered under argv[1] and runs it.
 * Subcommands live in their own files (cmd_*.c); this file owns only dispatch and top-level help.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_COMMANDS 32

static const struct cli_command *commands[CLI_MAX_COMMANDS];
static unsigned nr_commands;

void cli_register(const struct cli_command *cmd)
{
    if (nr_commands == CLI_MAX_COMMANDS) {
        fprintf(stderr, "bpfmm: internal error: more than %d subcommands\n", CLI_MAX_COMMANDS);
        abort();
    }
    commands[nr_commands++] = cmd;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bpfmm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    }
    return false;
}

static int cmp_commands(const void *a, const void *b)
{
    const struct cli_command *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bpfmm COMMAND [ARGS...]\n\n"
                 "Programmable transparent huge pages: BPF THP policies for Linux processes.\n\n"
                 "commands:\n");
    for (unsigned i = 0; i < nr_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun `bpfmm COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    qsort(commands, nr_commands, sizeof(commands[0]), cmp_commands);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("bpfmm 0.1.0\n");
        return CLI_EXIT_OK;
    }
    for (unsigned i = 0; i < nr_commands; i++)
        if (!strcmp(argv[1], commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    cli_error("unknown command '%s'; run `bpfmm --help` for the list", argv[1]);
    return CLI_EXIT_USAGE;
}
