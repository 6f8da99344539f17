/*
 * `bpfmm run` with a running agent asks it to attach the command before exec: the agent's
 * status lists the command under the policy, bpfmm run says so on stderr (unless --quiet),
 * and the command's exit status is still bpfmm run's.
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    dt_agent_start();
    int p[2], e[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(pipe(e), 0);
    fflush(NULL);
    pid_t run = fork();
    CHECK_GE(run, 0);
    if (run == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        dup2(e[1], 2);
        close(p[0]);
        close(e[0]);
        execl(dt_bpfmm(), dt_bpfmm(), "run", "--agent", "--socket", D.sock, "--policy", "always",
              "--", dt_bpfmm(), "workload", "--size", "16M", "--hold", (char *)NULL);
        _exit(98);
    }
    close(p[1]);
    close(e[1]);
    dt_track(run);
    FILE *f = fdopen(p[0], "r");
    char line[512];
    int pid = 0;
    CHECK_MSG(fgets(line, sizeof(line), f), "no ready line from the workload");
    CHECK_EQ(sscanf(line, "ready pid=%d", &pid), 1);
    dt_track(pid);
    CHECK(dt_proc_policy_is(pid, "always", "local"));
    CHECK(DT_WAIT(dt_proc_num(pid, "collapses") >= 8, 60));
    kill(pid, SIGTERM);
    int st;
    CHECK_EQ(waitpid(run, &st, 0), run);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bpfmm run status 0x%x", st);
    char err[4096];
    ssize_t n = read(e[0], err, sizeof(err) - 1);
    err[n > 0 ? n : 0] = 0;
    CHECK_STR_CONTAINS(err, "attached policy always");
    CHECK_STR_CONTAINS(err, D.sock);
    CHECK(DT_WAIT(!dt_listed(pid), 10));
    fclose(f);
    printf("ok\n");
    return 0;
}
