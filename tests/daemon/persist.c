/*
 * The attach list survives an agent restart: three workloads are attached (one with rodata
 * knobs, one to by-name with a map entry set through the agent); the agent is stopped with
 * SIGTERM; meanwhile one workload exits and another one's start time is changed in the state
 * file (as if its pid had been reused by another process). After the restart the first is
 * managed again with its knobs, the exited one and the "reused" one are not, and the map
 * entry is back.
 */
#include "daemon_test.h"

static void fake_reuse(pid_t pid)
{
    struct json_object *st = json_object_from_file(D.state);
    CHECK_MSG(st, "state file %s is not JSON", D.state);
    struct json_object *procs = dt_get(st, "procs");
    bool found = false;
    for (size_t i = 0; procs && i < json_object_array_length(procs); i++) {
        struct json_object *p = json_object_array_get_idx(procs, i);
        if ((pid_t)dt_num(p, "pid") == pid) {
            json_object_object_add(p, "start_time",
                                   json_object_new_int64((int64_t)dt_num(p, "start_time") + 7));
            found = true;
        }
    }
    CHECK_MSG(found, "pid %d is not in the state file", (int)pid);
    CHECK_EQ(json_object_to_file(D.state, st), 0);
    json_object_put(st);
}

int main(void)
{
    dt_init();
    dt_agent_start();
    struct dt_wl w1, w2, w3;
    dt_workload(&w1, "--size", "8M", "--hold");
    dt_workload(&w2, "--size", "8M", "--hold");
    dt_workload(&w3, "--size", "8M", "--hold");
    char out[8192], p1[16], p2[16], p3[16];
    snprintf(p1, sizeof(p1), "%d", (int)w1.pid);
    snprintf(p2, sizeof(p2), "%d", (int)w2.pid);
    snprintf(p3, sizeof(p3), "%d", (int)w3.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", p1, "--policy", "default", "--rodata",
                    "max_ptes_none=100", NULL),
             0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", p2, "--policy", "by-name", NULL), 0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", p3, "--policy", "default", NULL), 0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "update", "orders_by_comm",
                    "postgres=0x200", NULL),
             0);

    int st = dt_agent_stop(SIGTERM);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the agent's exit status was 0x%x", st);
    struct json_object *saved = json_object_from_file(D.state);
    CHECK(saved);
    CHECK_EQ(json_object_array_length(dt_get(saved, "procs")), 3);
    CHECK_EQ(json_object_array_length(dt_get(saved, "policies")), 2);
    json_object_put(saved);
    CHECK(kill(w1.pid, 0) == 0 && kill(w2.pid, 0) == 0); /* stopping harmed nobody */

    /* while the agent is down: w2 exits, w3's pid "is reused" */
    dt_workload_stop(&w2, SIGKILL);
    fake_reuse(w3.pid);

    dt_agent_start();
    struct json_object *s = dt_status();
    struct json_object *q1 = dt_proc(s, w1.pid);
    CHECK_MSG(q1, "process %d was not re-attached", (int)w1.pid);
    CHECK(!strcmp(dt_str(q1, "policy"), "default"));
    CHECK(!dt_proc(s, w2.pid));
    CHECK_MSG(!dt_proc(s, w3.pid), "process %d was re-attached despite another start time",
              (int)w3.pid);
    struct json_object *pd = dt_policy(s, "default");
    CHECK(pd);
    CHECK_EQ(json_object_array_length(dt_get(pd, "rodata")), 1);
    CHECK(!strcmp(json_object_get_string(json_object_array_get_idx(dt_get(pd, "rodata"), 0)),
                  "max_ptes_none=100"));
    CHECK(dt_policy(s, "by-name"));
    json_object_put(s);
    CHECK_EQ(dt_ctl(out, sizeof(out), "map", "--policy", "by-name", "show", "orders_by_comm", NULL),
             0);
    CHECK_STR_CONTAINS(out, "postgres");
    CHECK_STR_CONTAINS(out, "512"); /* 0x200 as the map formats it */

    /* the re-attached process is managed for real: a second attach is EBUSY */
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", p1, "--policy", "always", NULL), 1);
    CHECK_STR_CONTAINS(out, "already managed");
    /* a policy that no longer loads is dropped with a message, and the old state is kept */
    dt_agent_stop(SIGTERM);
    struct json_object *sv = json_object_from_file(D.state);
    CHECK(sv);
    struct json_object *pols = dt_get(sv, "policies");
    for (size_t i = 0; i < json_object_array_length(pols); i++) {
        struct json_object *p = json_object_array_get_idx(pols, i);
        if (!strcmp(dt_str(p, "name"), "by-name"))
            json_object_object_add(p, "source", json_object_new_string("/nonexistent/x.bpf.o"));
    }
    CHECK_EQ(json_object_to_file(D.state, sv), 0);
    json_object_put(sv);
    dt_agent_start();
    s = dt_status();
    CHECK(!dt_policy(s, "by-name") && dt_policy(s, "default"));
    CHECK(dt_proc(s, w1.pid));
    json_object_put(s);
    char kept[160];
    snprintf(kept, sizeof(kept), "%s.restore-failed", D.state);
    sv = json_object_from_file(kept);
    CHECK_MSG(sv, "no copy of the state at %s", kept);
    CHECK_EQ(json_object_array_length(dt_get(sv, "policies")), 2);
    json_object_put(sv);

    /* the agent logged why w3 was dropped */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "grep -q 'now belongs to another process' %s", D.log);
    CHECK_MSG(system(cmd) == 0, "no message about the reused pid in %s", D.log);
    printf("ok\n");
    return 0;
}
