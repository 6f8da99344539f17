/*
 * live_demo_usage: bad arguments are refused with exit status 2 and a message naming the
 * option and what it takes, before any requirement is checked; --help prints the usage.
 */
#include "demo_test.h"

static struct cmd_result r;

static void refused(const char *const *args, const char *msg)
{
    bpfmm_run(args, false, &r);
    CHECK_MSG(r.status == 2, "%s %s: exit %d (want 2): %s", args[0], args[1], r.status, r.err);
    CHECK_STR_CONTAINS(r.err, msg);
}

int main(void)
{
    refused((const char *[]){"demo", "--size", "lots", NULL}, "--size 'lots' is not a size");
    refused((const char *[]){"demo", "--size", "1M", NULL}, "at least 4M");
    refused((const char *[]){"demo", "--sparse-size", "-5", NULL}, "--sparse-size");
    refused((const char *[]){"demo", "--khugepaged-seconds", "0", NULL},
            "--khugepaged-seconds takes 1 to 3600 seconds");
    refused((const char *[]){"demo", "--khugepaged-seconds", "1e9", NULL}, "not '1e9'");
    refused((const char *[]){"demo", "extra", NULL}, "unexpected argument 'extra'");
    refused((const char *[]){"demo", "--frobnicate", NULL}, "usage: bpfmm demo");
    bpfmm_run((const char *[]){"demo", "--help", NULL}, false, &r);
    CHECK_EQ(r.status, 0);
    CHECK_STR_CONTAINS(r.out, "usage: bpfmm demo");
    CHECK_STR_CONTAINS(r.out, "--khugepaged-seconds");
    return 0;
}
