/*
 * Map editing through the agent changes a running policy's decisions: a workload (comm
 * "bpfmm") is attached to by-name with unmatched_orders=0, so the policy refuses its ranges;
 * `bpfmm map update --policy by-name orders_by_comm bpfmm=0x200` allows the PMD order for that
 * comm, and the workload gets collapsed. map show lists maps and entries; bad names, keys and
 * values are refused with messages; delete removes the entry.
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    dt_agent_start("--set", "scan_interval_ms=500");
    struct dt_wl w;
    dt_workload(&w, "--size", "32M", "--hold");
    char out[8192], pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "by-name", "--rodata",
                    "unmatched_orders=0", NULL),
             0);
    CHECK_MSG(DT_WAIT(dt_proc_num(w.pid, "refused") >= 8, 60), "the policy was not consulted");
    CHECK_EQ(dt_proc_num(w.pid, "collapses"), 0);

    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "show", NULL), 0);
    CHECK_STR_CONTAINS(out, "orders_by_comm");
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "update", "orders_by_comm",
                    "bpfmm=0x200", NULL),
             0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "show", "orders_by_comm", NULL),
             0);
    CHECK_STR_CONTAINS(out, "bpfmm");
    CHECK_STR_CONTAINS(out, "1 entry");
    CHECK_MSG(DT_WAIT(dt_proc_num(w.pid, "collapses") >= 8, 90),
              "no collapse after the map update (collapses %g)", dt_proc_num(w.pid, "collapses"));

    /* errors */
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "show", "nosuchmap", NULL), 1);
    CHECK_STR_CONTAINS(out, "no map named nosuchmap");
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "update", "orders_by_comm",
                    "x=notanumber", NULL),
             1);
    CHECK_STR_CONTAINS(out, "value");
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "update", "orders_by_comm",
                    "a-name-that-is-far-too-long-for-comm=1", NULL),
             1);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "nosuch", "show", NULL), 1);
    CHECK_STR_CONTAINS(out, "no policy named nosuch");
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "delete", "orders_by_comm",
                    "bpfmm", NULL),
             0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "show", "orders_by_comm",
                    "--json", NULL),
             0);
    struct json_object *r = json_tokener_parse(out);
    CHECK(r);
    CHECK_EQ(json_object_array_length(dt_get(r, "entries")), 0);
    json_object_put(r);
    CHECK(dt_agent_alive());
    printf("ok\n");
    return 0;
}
