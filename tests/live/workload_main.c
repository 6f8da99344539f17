/*
 * live_workload: the `bpfmm workload` subcommand (src/cli/cmd_workload.c, compiled in
 * unchanged) as a stand-alone program, so the live tests can start targets without building
 * the whole bpfmm command. Provides the few cli.h functions the subcommand uses; owns nothing
 * else. `live_workload ARGS` behaves as `bpfmm workload ARGS`.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_command *the_cmd;

void cli_register(const struct cli_command *cmd)
{
    if (!strcmp(cmd->name, "workload"))
        the_cmd = cmd;
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
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (!the_cmd)
        return 1;
    argv[0] = "workload";
    return the_cmd->run(argc, argv);
}
