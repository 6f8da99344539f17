/*
 * Mode selection and the "why" for `bpfmm status`: AUTO picks BPF where it loads; when BPF
 * cannot load (here: a kernel map too large to create), AUTO falls back to the proc connector
 * and says why, while mode BPF fails with the reason; forcing the proc connector says so.
 */
#include "lc_test.h"

int main(int argc, char **argv)
{
    test_require_root("the lifecycle programs and the proc connector need root");
    char err[512] = "";

    struct live_lifecycle_opts o = {.sz = sizeof(o), .mode = LIVE_LC_AUTO};
    live_lifecycle_t *lc = live_lifecycle_open(&o, err, sizeof(err));
    CHECK_MSG(lc, "auto: %s", err);
    printf("auto: %s\n", live_lifecycle_describe(lc));
    if (live_lifecycle_mode(lc) == LIVE_LC_BPF) {
        CHECK_STR_CONTAINS(live_lifecycle_describe(lc), "BPF raw tracepoints");
        CHECK_EQ(strlen(live_lifecycle_bpf_reason(lc)), 0);
    } else {
        CHECK_STR_CONTAINS(live_lifecycle_describe(lc), "BPF unavailable: ");
    }
    live_lifecycle_close(lc);

    /* A procs map of 2^32-1 entries cannot be created: BPF is unavailable. */
    o.max_procs = UINT32_MAX;
    lc = live_lifecycle_open(&o, err, sizeof(err));
    CHECK_MSG(lc, "auto with BPF failing: %s", err);
    CHECK_EQ(live_lifecycle_mode(lc), LIVE_LC_PROCCONN);
    const char *d = live_lifecycle_describe(lc);
    printf("auto, BPF failing: %s\n", d);
    CHECK_STR_CONTAINS(d, "proc connector + /proc rescan every 1 s (BPF unavailable: ");
    CHECK_STR_CONTAINS(live_lifecycle_bpf_reason(lc), "loading the lifecycle BPF programs");
    live_lifecycle_close(lc);

    o.mode = LIVE_LC_BPF;
    CHECK(!live_lifecycle_open(&o, err, sizeof(err)));
    CHECK_STR_CONTAINS(err, "BPF requested but unavailable: loading");
    printf("bpf, failing: %s\n", err);

    o.mode = LIVE_LC_PROCCONN;
    o.max_procs = 0;
    o.rescan_ms = 250;
    lc = live_lifecycle_open(&o, err, sizeof(err));
    CHECK_MSG(lc, "procconn: %s", err);
    CHECK_STR_CONTAINS(live_lifecycle_describe(lc), "every 250 ms (BPF not tried");
    printf("procconn: %s\n", live_lifecycle_describe(lc));
    live_lifecycle_close(lc);
    return 0;
}
