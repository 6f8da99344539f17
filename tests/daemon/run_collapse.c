/*
 * `bpfmm run` without an agent manages CMD from its first instruction: a workload started
 * through it gets its memory collapsed under the default policy (AnonHugePages reaches most of
 * its region), and bpfmm run exits with the workload's status once it is stopped.
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    int p[2];
    CHECK_EQ(pipe(p), 0);
    fflush(NULL);
    pid_t run = fork();
    CHECK_GE(run, 0);
    if (run == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(dt_bpfmm(), dt_bpfmm(), "run", "--no-agent", "--quiet", "--", dt_bpfmm(), "workload",
              "--size", "128M", "--pattern", "--hold", (char *)NULL);
        _exit(98);
    }
    close(p[1]);
    dt_track(run);
    FILE *f = fdopen(p[0], "r");
    char line[512];
    int pid = 0;
    if (!fgets(line, sizeof(line), f)) {
        int st;
        waitpid(run, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 125)
            test_skip("bpfmm run cannot manage a process here (exit 125)");
        TEST_FAIL("no ready line from the workload (bpfmm run status 0x%x)", st);
    }
    CHECK_EQ(sscanf(line, "ready pid=%d", &pid), 1);
    dt_track(pid);
    /* the workload is bpfmm run's child: it exec'ed in place of the waiting child */
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *sf = fopen(path, "r");
    CHECK(sf && fgets(buf, sizeof(buf), sf));
    fclose(sf);
    int ppid = 0;
    CHECK_EQ(sscanf(strrchr(buf, ')') + 2, "%*c %d", &ppid), 1);
    CHECK_EQ(ppid, run);

    CHECK_MSG(DT_WAIT(dt_anon_huge(pid) >= 120ll << 20, 90), "AnonHugePages %lld of 128 MiB",
              dt_anon_huge(pid));
    kill(pid, SIGUSR1);
    bool ok = false;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "verify", 6)) {
            ok = !strncmp(line, "verify ok", 9);
            break;
        }
    CHECK_MSG(ok, "the workload's pattern did not verify: %s", line);
    kill(pid, SIGTERM);
    int st;
    CHECK_EQ(waitpid(run, &st, 0), run);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bpfmm run status 0x%x", st);
    fclose(f);
    printf("ok\n");
    return 0;
}
