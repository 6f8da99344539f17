/*
 * attach / status / detach through the agent: a workload is attached to `default`; a second
 * attach fails with EBUSY; status lists it with sane per-process fields (policy, anon RSS,
 * THP share in [0, 1], collapses that grow, bytes collapsed, mmap-lock time, the last scan)
 * and the agent-wide sections (features, lifecycle, budget, enforcement); detach removes it.
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    dt_agent_start();
    struct dt_wl w;
    dt_workload(&w, "--size", "64M", "--hold");
    char out[8192], pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);

    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "default", NULL), 0);
    CHECK_STR_CONTAINS(out, "attached policy default");
    /* one local policy per process */
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "default", NULL), 1);
    CHECK_STR_CONTAINS(out, "already managed");
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "always", NULL), 1);
    CHECK_STR_CONTAINS(out, "already managed");
    /* the failed attach of `always` left no policy loaded behind */
    struct json_object *st = dt_status();
    CHECK(dt_policy(st, "default") && !dt_policy(st, "always"));
    json_object_put(st);

    /* the engine collapses the workload's 4 KiB pages */
    CHECK_MSG(DT_WAIT(dt_proc_num(w.pid, "collapses") >= 8, 90), "no collapse within 90 s");
    st = dt_status();
    struct json_object *p = dt_proc(st, w.pid);
    CHECK(p);
    CHECK(!strcmp(dt_str(p, "policy"), "default"));
    CHECK(!strcmp(dt_str(p, "how"), "local"));
    CHECK(!strcmp(dt_str(p, "comm"), "bpfmm"));
    CHECK_GE(dt_num(p, "anon_rss"), 60 << 20);
    CHECK_GE(dt_num(p, "thp_share"), 0);
    CHECK_LE(dt_num(p, "thp_share"), 1);
    CHECK_EQ(dt_num(p, "collapsed_bytes"), dt_num(p, "collapses") * (2 << 20));
    CHECK_GT(dt_num(p, "mmap_lock_us"), 0);
    CHECK_GE(dt_num(p, "last_scan_age_s"), 0);
    CHECK_GT(dt_num(p, "start_time"), 0);
    CHECK(json_object_is_type(dt_get(p, "collapse_failures"), json_type_object));
    CHECK_GT(dt_num(dt_get(st, "lifecycle"), "managed"), 0);
    CHECK(strlen(dt_str(dt_get(st, "lifecycle"), "mechanism")) > 0);
    CHECK(strlen(dt_str(dt_get(st, "features"), "report")) > 0);
    CHECK(dt_get(dt_get(st, "budget"), "batch_blocks"));
    CHECK_GT(json_object_array_length(dt_get(dt_get(st, "enforcement"), "not_enforced")), 0);
    json_object_put(st);

    /* the human form shows the same process and the enforcement sections */
    static char human[1 << 16];
    CHECK_EQ(dt_ctl(human, sizeof(human), "status", NULL), 0);
    CHECK_STR_CONTAINS(human, pid);
    CHECK_STR_CONTAINS(human, "not enforced:");
    CHECK_STR_CONTAINS(human, "lifecycle: ");

    /* the workload's memory really became huge */
    CHECK_MSG(DT_WAIT(dt_anon_huge(w.pid) >= 16 << 20, 60), "AnonHugePages stayed %lld",
              dt_anon_huge(w.pid));

    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--pid", pid, NULL), 0);
    CHECK(DT_WAIT(!dt_listed(w.pid), 10));
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--pid", pid, NULL), 1);
    CHECK_STR_CONTAINS(out, "no local policy");
    /* after the detach the policy is still loaded, with no process */
    st = dt_status();
    CHECK_EQ(dt_num(dt_policy(st, "default"), "processes"), 0);
    json_object_put(st);
    CHECK(kill(w.pid, 0) == 0); /* the target is untouched */
    CHECK_EQ(WIFSIGNALED(dt_workload_stop(&w, SIGTERM)) ? -1 : 0, 0);
    CHECK(dt_agent_alive());
    printf("ok\n");
    return 0;
}
