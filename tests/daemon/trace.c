/*
 * Policies' trace_printk output goes to the agent's log, with the policy's name: a policy
 * that traces every decision is attached to a workload; the log shows its lines, and the
 * rate limit (trace_per_s) drops the excess with a count instead of flooding the log.
 */
#include "daemon_test.h"

static bool log_has(const char *what)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "grep -q -e '%s' %s", what, D.log);
    return system(cmd) == 0;
}

int main(int argc, char **argv)
{
    CHECK_EQ(argc, 2); /* the tracer policy object */
    dt_init();
    dt_agent_start("--set", "trace_per_s=5");
    struct dt_wl w;
    dt_workload(&w, "--size", "64M", "--hold");
    char out[4096], pid[16], want[128];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", argv[1], NULL), 0);
    snprintf(want, sizeof(want),
             "policy tracer, pid %d: trace_printk: decision for tgid %d type 1", (int)w.pid,
             (int)w.pid);
    CHECK_MSG(DT_WAIT(log_has(want), 30), "no trace line in %s", D.log);
    /* 32 ranges decided at once, 5 lines a second: the rest are counted */
    CHECK_MSG(DT_WAIT(log_has("trace_printk lines dropped (trace_per_s = 5)"), 30),
              "no drop count in %s", D.log);
    printf("ok\n");
    return 0;
}
