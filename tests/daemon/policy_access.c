/*
 * live_daemon_policy_access: a client that is not root may have the agent (root) load only
 * policy files it could read itself. Set up in the test's temp directory (D.dir, 0755):
 *   private/      0700, root's  - private/p.bpf.o is 0644, yet nobody cannot reach it
 *   public/       0755          - public/p.bpf.o 0644 (readable by all), public/root.bpf.o 0600
 *   link.bpf.o    a symlink to private/p.bpf.o
 * A member of the socket group (running as nobody) is refused private/p.bpf.o (the file's own
 * mode would allow it: only the directory forbids it), the symlink to it, and root.bpf.o, for
 * attach and for update - each with a message that says so - and none of them is loaded.
 * public/p.bpf.o is loaded for it. Root may load any of them.
 */
#include "daemon_test.h"

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(chmod(to, mode), 0);
}

int main(void)
{
    dt_init();
    struct group *g = getgrnam("users");
    if (!g)
        test_skip("no group 'users' on this machine");
    const uid_t nobody = 65534;
    struct dt_as member = {.uid = nobody, .gid = 65534, .groups = {g->gr_gid}, .nr_groups = 1};
    char out[8192], src[512], priv[160], pub[160], privf[200], pubf[200], rootf[200], link[200];

    snprintf(src, sizeof(src), "%s/policies/always.bpf.o", test_build_dir());
    snprintf(priv, sizeof(priv), "%s/private", D.dir);
    snprintf(pub, sizeof(pub), "%s/public", D.dir);
    CHECK_EQ(mkdir(priv, 0700), 0);
    CHECK_EQ(mkdir(pub, 0755), 0);
    snprintf(privf, sizeof(privf), "%s/p.bpf.o", priv);
    snprintf(pubf, sizeof(pubf), "%s/p.bpf.o", pub);
    snprintf(rootf, sizeof(rootf), "%s/root.bpf.o", pub);
    snprintf(link, sizeof(link), "%s/link.bpf.o", D.dir);
    copy_file(src, privf, 0644);
    copy_file(src, pubf, 0644);
    copy_file(src, rootf, 0600);
    CHECK_EQ(symlink(privf, link), 0);

    dt_agent_start("--group", "users");
    struct dt_wl own;
    struct dt_as owner = {.uid = nobody, .gid = 65534};
    dt_workload_as(&own, NULL, &owner, (const char *const[]){"--size", "4M", "--hold", NULL});
    char po[16];
    snprintf(po, sizeof(po), "%d", (int)own.pid);

    /* refused: behind a directory it cannot search, through a symlink, and unreadable */
    const char *refused[] = {privf, link, rootf};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "attach", "--pid", po, "--policy", refused[i],
                           NULL),
                 1);
        CHECK_STR_CONTAINS(out, "permission denied");
        CHECK_STR_CONTAINS(out, "uid 65534 cannot open it");
        CHECK(!dt_listed(own.pid));
    }

    /* allowed: a file it can read; then update to the refused ones is refused too */
    CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "attach", "--pid", po, "--policy", pubf, "--name",
                       "mine", NULL),
             0);
    CHECK(dt_listed(own.pid));
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(dt_ctl_as(&member, out, sizeof(out), "update", "--policy", "mine", "--file",
                           refused[i], NULL),
                 1);
        CHECK_STR_CONTAINS(out, "permission denied");
    }
    CHECK_EQ(
        dt_ctl_as(&member, out, sizeof(out), "update", "--policy", "mine", "--file", pubf, NULL),
        0);

    /* the agent still has its own file access afterwards: root loads the private file */
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--pid", po, NULL), 0);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", po, "--policy", privf, NULL), 0);
    CHECK(dt_listed(own.pid));
    CHECK(dt_agent_alive());
    dt_agent_stop(SIGTERM);
    printf("ok\n");
    return 0;
}
