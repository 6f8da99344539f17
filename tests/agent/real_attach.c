/*
 * live_agent_attach: attach semantics through the engine on real processes.
 *   - a second attach fails with EBUSY (even with the same policy), after a detach it works;
 *   - a caller that could not ptrace the target is refused with EPERM: a non-root uid that is
 *     not the target's (the target runs as root); the same uid as a target running as that
 *     user is accepted;
 *   - a pid that does not exist gives ESRCH, an unknown policy ENOENT;
 *   - only a root caller may set a global policy.
 */
#include "agent_test.h"

#include <grp.h>

#define UID 54321
#define GID 54322

/* live_workload as uid/gid UID/GID. */
static pid_t start_as_user(FILE **out)
{
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        static char exe[4096];
        snprintf(exe, sizeof(exe), "%s/tests/live/live_workload", test_build_dir());
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (setgroups(0, NULL) || setresgid(GID, GID, GID) || setresuid(UID, UID, UID))
            _exit(126);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(exe, exe, "--size", "4M", "--hold", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out = fdopen(fds[0], "r");
    char line[512];
    CHECK_MSG(fgets(line, sizeof(line), *out) && !strncmp(line, "ready ", 6),
              "the workload did not start as uid %d", UID);
    return pid;
}

int main(void)
{
    at_require("attaches to real processes");
    struct workload w;
    workload_start(&w, "--size", "4M", "--hold", NULL);
    struct live_agent_opts o = {0};
    uint32_t id, id2;
    live_agent_t *a = at_agent(&o, "default", &id);
    char err[512], path[4096];
    snprintf(path, sizeof(path), "%s/policies/never.bpf.o", test_build_dir());
    CHECK_EQ(live_agent_policy_add(a, "other", path, NULL, 0, &id2, err, sizeof(err)), 0);

    struct live_agent_creds root = {0, 0, 0}, user = {0, UID, GID};
    CHECK_EQ(live_agent_attach(a, id, w.pid, &user, err, sizeof(err)), -EPERM);
    CHECK_STR_CONTAINS(err, "could not ptrace");
    CHECK_EQ(live_agent_procs(a, NULL, 0), 0);
    CHECK_EQ(live_agent_attach(a, id, w.pid, &root, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_attach(a, id, w.pid, &root, err, sizeof(err)), -EBUSY);
    CHECK_EQ(live_agent_attach(a, id2, w.pid, NULL, err, sizeof(err)), -EBUSY);
    CHECK_EQ(live_agent_detach(a, w.pid), 0);
    CHECK_EQ(live_agent_detach(a, w.pid), -ENOENT);
    CHECK_EQ(live_agent_attach(a, id2, w.pid, NULL, err, sizeof(err)), 0);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, w.pid, &st), 0);
    CHECK_EQ(st.policy_id, id2);
    CHECK_EQ(st.how, BPFMM_SCOPE_LOCAL);
    CHECK_EQ(st.pid, w.pid);

    FILE *out;
    pid_t u = start_as_user(&out);
    CHECK_EQ(
        live_agent_attach(a, id, u, &(struct live_agent_creds){0, UID + 1, GID}, err, sizeof(err)),
        -EPERM);
    CHECK_EQ(live_agent_attach(a, id, u, &user, err, sizeof(err)), 0);
    at_run(a, 0.5, NULL, NULL);
    CHECK_EQ(live_agent_proc_status(a, u, &st), 0);
    CHECK_EQ(st.state, LIVE_AGENT_PROC_ACTIVE);
    CHECK_GE(st.c.scans, 1);

    /* A dead pid: fork a child that exits, reap it. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    CHECK_EQ(waitpid(dead, NULL, 0), dead);
    CHECK_EQ(live_agent_attach(a, id, dead, NULL, err, sizeof(err)), -ESRCH);
    CHECK_EQ(live_agent_attach(a, 9999, w.pid, NULL, err, sizeof(err)), -ENOENT);
    CHECK_EQ(live_agent_attach(a, id, 0, NULL, err, sizeof(err)), -EINVAL);
    CHECK_EQ(live_agent_global_set(a, id, &user, err, sizeof(err)), -EPERM);
    CHECK_STR_CONTAINS(err, "only root");

    live_agent_free(a);
    kill(u, SIGTERM);
    waitpid(u, NULL, 0);
    fclose(out);
    CHECK_EQ(workload_stop(&w), 0);
    return 0;
}
