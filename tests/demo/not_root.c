/*
 * live_demo_not_root: without the privileges to collapse other processes' memory (here: as
 * user nobody, in a forked child), `bpfmm demo` says exactly what is missing and what to do,
 * and exits 1 before starting anything.
 */
#include "demo_test.h"

static struct cmd_result r;

int main(void)
{
    /* As root, drop to nobody; otherwise we already are the unprivileged case. */
    bpfmm_run((const char *[]){"demo", "--quick", NULL}, geteuid() == 0, &r);
    CHECK_MSG(r.status != 126, "could not become nobody: %s", r.err);
    CHECK_MSG(r.status == 1, "bpfmm demo as an unprivileged user exited %d (want 1): %s", r.status,
              r.err);
    CHECK_STR_CONTAINS(r.err, "bpfmm: demo: cannot run here: ");
    CHECK_MSG(strstr(r.err, "run as root") || strstr(r.err, "MADV_COLLAPSE"),
              "the message does not say what is missing: %s", r.err);
    CHECK_MSG(!strstr(r.err, "run 1 of 2"), "it started a run: %s", r.err);
    CHECK_EQ(r.out[0], 0);
    return 0;
}
