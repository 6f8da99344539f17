/*
 * The global policy and local policies interplay: by-name is set as the global policy, with
 * unmatched_orders=0 (every other process on the machine is left alone) and the comm "gwl"
 * allowed the PMD order. Two workloads named gwl run; one has the local policy `never`. The
 * unattached one is covered by the global policy and collapsed; the local one is not (a local
 * policy overrides the global). Clearing the global releases the first and keeps the local.
 * Only root may set the global policy (see security.c).
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    char link[160], out[8192];
    snprintf(link, sizeof(link), "%s/gwl", D.dir);
    CHECK_EQ(symlink(dt_bpfmm(), link), 0); /* comm = the name exec'ed: "gwl" */
    dt_agent_start("--set", "scan_interval_ms=500");
    struct dt_wl local, covered;
    const char *const args[] = {"--size", "16M", "--hold", NULL};
    dt_workload_as(&local, link, NULL, args);
    dt_workload_as(&covered, link, NULL, args);
    char pl[16];
    snprintf(pl, sizeof(pl), "%d", (int)local.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pl, "--policy", "never", NULL), 0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "global", "set", "by-name", "--rodata", "unmatched_orders=0",
                    NULL),
             0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "update", "orders_by_comm",
                    "gwl=0x200", NULL),
             0);
    struct json_object *st = dt_status();
    CHECK(!strcmp(dt_str(st, "global"), "by-name"));
    json_object_put(st);

    CHECK_MSG(DT_WAIT(dt_proc_policy_is(covered.pid, "by-name", "global"), 60),
              "the unattached workload was not covered by the global policy");
    CHECK_MSG(DT_WAIT(dt_proc_num(covered.pid, "collapses") >= 4, 60),
              "the covered workload was not collapsed");
    CHECK(dt_proc_policy_is(local.pid, "never", "local"));
    CHECK_EQ(dt_proc_num(local.pid, "collapses"), 0);
    CHECK_LT(dt_anon_huge(local.pid), 2 << 20);

    CHECK_EQ(dt_ctl(out, sizeof(out), "global", "clear", NULL), 0);
    st = dt_status();
    CHECK(json_object_is_type(dt_get(st, "global"), json_type_null) || !dt_get(st, "global"));
    json_object_put(st);
    CHECK_MSG(DT_WAIT(!dt_listed(covered.pid), 20), "still followed after global clear");
    CHECK(dt_proc_policy_is(local.pid, "never", "local"));
    printf("ok\n");
    return 0;
}
