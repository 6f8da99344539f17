/*
 * update swaps a policy's program for every process it manages at once: two sparse workloads
 * (one page per 2 MiB) are attached to a policy instance loaded from default.bpf.o, which
 * refuses such ranges (max_ptes_none 255); `bpfmm update --file always.bpf.o` moves both to
 * `always`, after which both get collapsed. Status shows version 2, the new file, and both
 * processes still under the instance.
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    dt_agent_start("--set", "scan_interval_ms=1000");
    struct dt_wl a, b;
    dt_workload(&a, "--size", "32M", "--sparse", "--hold");
    dt_workload(&b, "--size", "32M", "--sparse", "--hold");
    char out[8192], pa[16], pb[16];
    snprintf(pa, sizeof(pa), "%d", (int)a.pid);
    snprintf(pb, sizeof(pb), "%d", (int)b.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pa, "--policy", "default", "--name", "web",
                    NULL),
             0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pb, "--policy", "web", NULL), 0);

    /* default refuses sparse ranges: decisions are made, the sparse regions stay small (other
     * VMAs of the workload may be collapsed: they are not sparse) */
    CHECK(DT_WAIT(dt_proc_num(a.pid, "refused") >= 8 && dt_proc_num(b.pid, "refused") >= 8, 60));
    CHECK_EQ(dt_region_huge(a.pid, a.addr), 0);
    CHECK_EQ(dt_region_huge(b.pid, b.addr), 0);

    CHECK_EQ(dt_ctl(out, sizeof(out), "update", "--policy", "web", "--file",
                    dt_policy_file("always"), NULL),
             0);
    CHECK_STR_CONTAINS(out, "version 2");
    CHECK_STR_CONTAINS(out, "2 processes");
    struct json_object *st = dt_status();
    struct json_object *p = dt_policy(st, "web");
    CHECK(p);
    CHECK_EQ(dt_num(p, "version"), 2);
    CHECK_EQ(dt_num(p, "processes"), 2);
    CHECK_STR_CONTAINS(dt_str(p, "path"), "always.bpf.o");
    json_object_put(st);
    CHECK(dt_proc_policy_is(a.pid, "web", "local") && dt_proc_policy_is(b.pid, "web", "local"));

    /* both processes now follow the new program */
    CHECK_MSG(
        DT_WAIT(dt_proc_num(a.pid, "collapses") >= 8 && dt_proc_num(b.pid, "collapses") >= 8, 90),
        "not both collapsed after the update: %g %g", dt_proc_num(a.pid, "collapses"),
        dt_proc_num(b.pid, "collapses"));

    /* an unknown policy and a missing file are refused with a message */
    CHECK_EQ(dt_ctl(out, sizeof(out), "update", "--policy", "nosuch", NULL), 1);
    CHECK_STR_CONTAINS(out, "no policy named nosuch");
    CHECK_EQ(dt_ctl(out, sizeof(out), "update", "--policy", "web", "--file", "/nonexistent/x.bpf.o",
                    NULL),
             1);
    CHECK_EQ(dt_proc_num(a.pid, "pid"), a.pid); /* still managed after the failed update */

    /* detach --policy releases both */
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--policy", "web", NULL), 0);
    CHECK_STR_CONTAINS(out, "2 processes released");
    CHECK(DT_WAIT(!dt_listed(a.pid) && !dt_listed(b.pid), 10));
    printf("ok\n");
    return 0;
}
