/*
 * `bpfmm run` with a running agent asks it to attach the command before exec: the agent's
 * status lists the command under the policy, bpfmm run says so on stderr (unless --quiet),
 * and the command's exit status is still bpfmm run's. Under a policy that reads nr_shared
 * ("default"), the agent, having seen the command exec and not fork, scans it without reading
 * nr_shared from pagemap (shared_unread_scans); a process attached by pid gets the exact count.
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

    /* "default" reads nr_shared: not read for the launched command, read for an attached one */
    run = fork();
    CHECK_GE(run, 0);
    if (run == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(dt_bpfmm(), dt_bpfmm(), "run", "--agent", "--socket", D.sock, "--policy", "default",
              "--", dt_bpfmm(), "workload", "--size", "16M", "--hold", (char *)NULL);
        _exit(98);
    }
    dt_track(run);
    struct dt_wl w;
    dt_workload(&w, "--size", "16M", "--hold");
    char wp[16];
    snprintf(wp, sizeof(wp), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(line, sizeof(line), "attach", "--pid", wp, "--policy", "default", NULL), 0);
    CHECK(DT_WAIT(dt_proc_num(w.pid, "collapses") >= 8, 60));
    CHECK_EQ(dt_proc_num(w.pid, "shared_unread_scans"), 0);
    /* the launched one: the agent lists it once it has exec'd */
    pid_t launched = 0;
    for (double t0 = dt_now(); !launched && dt_now() - t0 < 30; dt_sleep_ms(50)) {
        struct json_object *st = dt_status(), *ps = dt_get(st, "processes");
        for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
            pid_t q = (pid_t)dt_num(json_object_array_get_idx(ps, i), "pid");
            if (q != w.pid)
                launched = q;
        }
        json_object_put(st);
    }
    CHECK_MSG(launched, "the launched workload never appeared in the status");
    CHECK(DT_WAIT(dt_proc_num(launched, "collapses") >= 8, 60));
    CHECK_GE(dt_proc_num(launched, "shared_unread_scans"), 1);
    kill(run, SIGTERM);
    printf("ok\n");
    return 0;
}
