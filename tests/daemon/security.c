/*
 * Security of the control socket. The agent allows group "users" besides root:
 *   - with the socket made world-writable (socket_mode 0666), a client that is neither root
 *     nor in the group can connect but is refused by the SO_PEERCRED check (EACCES, message);
 *   - with the default 0660, such a client cannot even connect (message);
 *   - a member of the group is served, but may not attach a process it could not ptrace (a
 *     root workload: EPERM), may attach its own, but not one of its own that is not dumpable
 *     (nor detach it), may not set the global policy, and may not detach a root process.
 * Clients run as nobody (setgroups/setgid/setuid in a forked child).
 */
#include "daemon_test.h"

int main(void)
{
    dt_init();
    struct group *g = getgrnam("users");
    if (!g)
        test_skip("no group 'users' on this machine");
    gid_t users = g->gr_gid;
    const uid_t nobody = 65534;
    struct dt_as stranger = {.uid = nobody, .gid = 65534, .nr_groups = 0};
    struct dt_as member = {.uid = nobody, .gid = 65534, .groups = {users}, .nr_groups = 1};
    char out[8192];

    /* 1. world-writable socket: the peer check refuses the stranger */
    dt_agent_start("--group", "users", "--set", "socket_mode=0666");
    struct stat sb;
    CHECK_EQ(stat(D.sock, &sb), 0);
    CHECK_EQ(sb.st_gid, users);
    CHECK_EQ(sb.st_mode & 0777, 0666);
    CHECK_EQ(dt_ctl_as(&stranger, out, sizeof(out), "status", NULL), 1);
    CHECK_STR_CONTAINS(out, "permission denied");
    CHECK_STR_CONTAINS(out, "neither root nor a member of group users");
    /* the member is served */
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "status", NULL), 0);
    CHECK_STR_CONTAINS(out, "lifecycle:");

    /* 2. a root workload: the member could not ptrace it */
    struct dt_wl rootw, ownw;
    dt_workload(&rootw, "--size", "4M", "--hold");
    char pr[16], po[16];
    snprintf(pr, sizeof(pr), "%d", (int)rootw.pid);
    CHECK_EQ(
        dt_ctl_as(&member, out, sizeof(out), "attach", "--pid", pr, "--policy", "default", NULL),
        1);
    CHECK_STR_CONTAINS(out, "could not ptrace");
    CHECK(!dt_listed(rootw.pid));
    /* its own process: allowed (the agent, root, does the collapsing) */
    struct dt_as owner = {.uid = nobody, .gid = 65534};
    dt_workload_as(&ownw, NULL, &owner, (const char *const[]){"--size", "4M", "--hold", NULL});
    snprintf(po, sizeof(po), "%d", (int)ownw.pid);
    CHECK_EQ(
        dt_ctl_as(&member, out, sizeof(out), "attach", "--pid", po, "--policy", "default", NULL),
        0);
    CHECK(dt_proc_policy_is(ownw.pid, "default", "local"));
    /* its own process, but not dumpable: Linux would not let it read that one, so neither may
     * the agent act on it for the member; root may detach it */
    struct dt_wl nodump;
    dt_workload_as(&nodump, NULL, &owner,
                   (const char *const[]){"--size", "4M", "--hold", "--nondumpable", NULL});
    char pn[16];
    snprintf(pn, sizeof(pn), "%d", (int)nodump.pid);
    CHECK_EQ(
        dt_ctl_as(&member, out, sizeof(out), "attach", "--pid", pn, "--policy", "default", NULL),
        1);
    CHECK_STR_CONTAINS(out, "not dumpable");
    CHECK(!dt_listed(nodump.pid));
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pn, "--policy", "default", NULL), 0);
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "detach", "--pid", pn, NULL), 1);
    CHECK_STR_CONTAINS(out, "not dumpable");
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--pid", pn, NULL), 0);
    /* root attaches the root workload; the member may not detach it */
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pr, "--policy", "always", NULL), 0);
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "detach", "--pid", pr, NULL), 1);
    CHECK_STR_CONTAINS(out, "permission denied");
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "detach", "--policy", "always", NULL), 1);
    CHECK_STR_CONTAINS(out, "permission denied");
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "map", "--policy", "always", "show", NULL), 0);
    CHECK(dt_proc_policy_is(rootw.pid, "always", "local"));
    /* nor set the global policy */
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "global", "set", "never", NULL), 1);
    CHECK_STR_CONTAINS(out, "only root");
    /* but may detach its own process */
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "detach", "--pid", po, NULL), 0);
    CHECK(dt_agent_alive());
    dt_agent_stop(SIGTERM);

    /* 3. the default mode 0660: the stranger cannot connect at all */
    dt_agent_start("--group", "users");
    CHECK_EQ(stat(D.sock, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0660);
    CHECK_EQ(dt_ctl_as(&stranger, out, sizeof(out), "status", NULL), 1);
    CHECK_STR_CONTAINS(out, "permission denied on the agent's socket");
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "status", NULL), 0);
    printf("ok\n");
    return 0;
}
