/*
 * Children forked after an attach through the agent are managed, and so are grandchildren: a
 * parent process is attached, then forks a child that forks a grandchild (both exec `bpfmm
 * workload`); status lists parent, child and grandchild under the parent's policy. A child
 * that existed before the attach is not managed. Run with BPF lifecycle programs, and with
 * the proc connector (argument "procconn").
 */
#include "daemon_test.h"

/* The parent: forks one "existing" child at once, then, on each byte read from cmd, forks a
 * child that forks a grandchild; children exec `bpfmm workload`, pids go to reply. */
static void parent_main(int cmd, int reply)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char *const wl[] = {(char *)dt_bpfmm(), "workload", "--size", "4M", "--hold", NULL};
    pid_t early = fork();
    if (early == 0) {
        execv(wl[0], wl);
        _exit(98);
    }
    if (write(reply, &early, sizeof(early)) != sizeof(early))
        _exit(1);
    char c;
    while (read(cmd, &c, 1) == 1) {
        int p[2];
        if (pipe(p))
            _exit(1);
        pid_t child = fork();
        if (child == 0) {
            pid_t gc = fork();
            if (gc == 0) {
                execv(wl[0], wl);
                _exit(98);
            }
            if (write(p[1], &gc, sizeof(gc)) != sizeof(gc))
                _exit(1);
            execv(wl[0], wl);
            _exit(98);
        }
        pid_t gc;
        if (read(p[0], &gc, sizeof(gc)) != sizeof(gc))
            _exit(1);
        pid_t both[2] = {child, gc};
        if (write(reply, both, sizeof(both)) != sizeof(both))
            _exit(1);
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    dt_init();
    /* "procconn": the same through the proc connector fallback */
    if (argc > 1 && !strcmp(argv[1], "procconn"))
        dt_agent_start("--lifecycle", "procconn");
    else
        dt_agent_start();
    int cmd[2], reply[2];
    CHECK_EQ(pipe(cmd), 0);
    CHECK_EQ(pipe(reply), 0);
    pid_t parent = fork();
    CHECK_GE(parent, 0);
    if (parent == 0)
        parent_main(cmd[0], reply[1]);
    dt_track(parent);
    pid_t early, kids[2];
    CHECK_EQ(read(reply[0], &early, sizeof(early)), (ssize_t)sizeof(early));
    dt_track(early);

    char out[8192], pp[16];
    snprintf(pp, sizeof(pp), "%d", (int)parent);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pp, "--policy", "default", NULL), 0);

    /* fork right after the attach returned */
    CHECK_EQ(write(cmd[1], "f", 1), 1);
    CHECK_EQ(read(reply[0], kids, sizeof(kids)), (ssize_t)sizeof(kids));
    dt_track(kids[0]);
    dt_track(kids[1]);

    CHECK_MSG(DT_WAIT(dt_proc_policy_is(kids[0], "default", "local") &&
                          dt_proc_policy_is(kids[1], "default", "local"),
                      30),
              "child %d or grandchild %d not managed", (int)kids[0], (int)kids[1]);
    CHECK(dt_proc_policy_is(parent, "default", "local"));
    /* the child that existed before the attach is not */
    CHECK(!dt_listed(early));
    struct json_object *st = dt_status();
    CHECK_GE(dt_num(dt_get(st, "lifecycle"), "forks"), 2);
    CHECK_EQ(dt_num(dt_policy(st, "default"), "processes"), 3);
    json_object_put(st);

    /* a second attach to an inherited child is EBUSY */
    char pk[16];
    snprintf(pk, sizeof(pk), "%d", (int)kids[1]);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pk, "--policy", "always", NULL), 1);
    CHECK_STR_CONTAINS(out, "already managed");

    /* exit removes: the grandchild's exit takes it off the list */
    kill(kids[1], SIGKILL);
    CHECK(DT_WAIT(!dt_listed(kids[1]), 20));
    printf("ok\n");
    return 0;
}
