/*
 * Killing the agent with SIGKILL in the middle of collapsing a workload never harms the
 * target: a 512 MiB workload filled with a pattern is attached with a low per-process budget
 * (so the collapse takes seconds), the agent is SIGKILLed once some ranges are collapsed and
 * others are not; the workload then verifies every byte, keeps running, has no THP prctl
 * (THP_enabled 1), and verifies again at a normal exit. A restarted agent reads the state
 * file the killed one left (atomic writes) and manages the workload again.
 */
#include "daemon_test.h"

static int thp_enabled(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    int v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "THP_enabled: %d", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

int main(void)
{
    dt_init();
    dt_agent_start("--set", "budget_proc_bytes_per_s=64M");
    struct dt_wl w;
    dt_workload(&w, "--size", "512M", "--pattern", "--hold");
    int thp_before = thp_enabled(w.pid);
    char out[8192], pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "default", NULL), 0);

    CHECK_MSG(DT_WAIT(dt_proc_num(w.pid, "collapses") >= 4, 90), "no collapse within 90 s");
    double done = dt_proc_num(w.pid, "collapses");
    int st = dt_agent_stop(SIGKILL);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    printf("killed the agent after %.0f of 256 ranges\n", done);
    CHECK_MSG(done < 256, "the collapse finished before the kill; the test proves nothing");
    long long huge = dt_anon_huge(w.pid);
    CHECK_GT(huge, 0);

    CHECK(kill(w.pid, 0) == 0);
    CHECK_MSG(dt_workload_verify(&w), "the pattern did not verify after the SIGKILL");
    CHECK_EQ(thp_enabled(w.pid), thp_before); /* nothing process-wide was changed */
    dt_sleep_ms(300);
    CHECK(kill(w.pid, 0) == 0);
    CHECK_MSG(dt_workload_verify(&w), "the pattern did not verify a second time");

    /* a new agent takes over from the state file the killed one left */
    dt_agent_start("--set", "budget_proc_bytes_per_s=1G");
    CHECK(dt_proc_policy_is(w.pid, "default", "local"));
    CHECK_MSG(DT_WAIT(dt_anon_huge(w.pid) >= 400ll << 20, 120), "only %lld bytes huge",
              dt_anon_huge(w.pid));
    CHECK_MSG(dt_workload_verify(&w), "the pattern did not verify after the full collapse");

    /* a normal exit, verifying once more */
    kill(w.pid, SIGTERM);
    char line[256];
    bool ok = false;
    while (fgets(line, sizeof(line), w.out))
        ok |= !strncmp(line, "verify ok", 9);
    int ws;
    CHECK_EQ(waitpid(w.pid, &ws, 0), w.pid);
    CHECK_MSG(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && ok, "workload exit 0x%x, verify %d", ws, ok);
    printf("ok\n");
    return 0;
}
