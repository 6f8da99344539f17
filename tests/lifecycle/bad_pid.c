/*
 * Bad input to attach/detach: a pid that does not exist (ESRCH), a thread id (EINVAL, naming
 * the process to attach instead), pid and policy id out of range (EINVAL), detaching what is
 * not managed (ENOENT). Every failure leaves a message and changes nothing.
 */
#include "lc_test.h"

#include <stdatomic.h>

static atomic_int thread_tid;

static void *idle(void *arg)
{
    atomic_store(&thread_tid, (int)syscall(SYS_gettid));
    pause();
    return NULL;
}

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    struct live_lifecycle_opts o = {0};
    open_mode(argc, argv, &o);
    char err[256] = "";

    /* A pid that no longer exists: a reaped child's, checked free. */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    CHECK_EQ(waitpid(gone, NULL, 0), gone);
    if (kill(gone, 0) == 0)
        test_skip("pid %d was reused at once; cannot test a missing pid", (int)gone);
    CHECK_EQ(live_lifecycle_attach(g_lc, gone, 1, err, sizeof(err)), -ESRCH);
    CHECK_STR_CONTAINS(err, "no process with pid");
    printf("message: %s\n", err);

    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, idle, NULL), 0);
    while (!atomic_load(&thread_tid))
        usleep(1000);
    pid_t tid = atomic_load(&thread_tid);
    CHECK_EQ(live_lifecycle_attach(g_lc, tid, 1, err, sizeof(err)), -EINVAL);
    char want[64];
    snprintf(want, sizeof(want), "is a thread of process %d", (int)getpid());
    CHECK_STR_CONTAINS(err, want);
    printf("message: %s\n", err);
    CHECK_EQ(live_lifecycle_attach(g_lc, 0, 1, err, sizeof(err)), -EINVAL);
    CHECK_EQ(live_lifecycle_attach(g_lc, -5, 1, err, sizeof(err)), -EINVAL);
    CHECK_EQ(live_lifecycle_attach(g_lc, getpid(), 0, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, "policy id 0");
    CHECK_EQ(live_lifecycle_detach(g_lc, getpid()), -ENOENT);
    CHECK_EQ(live_lifecycle_detach_policy(g_lc, 0), -EINVAL);
    CHECK_EQ(live_lifecycle_list(g_lc, 0, NULL, 0), 0);
    uint32_t id;
    CHECK_EQ(live_lifecycle_lookup(g_lc, gone, &id), -ENOENT);
    CHECK_EQ(live_lifecycle_pidfd(g_lc, getpid()), -ENOENT);

    struct live_lifecycle_opts bad = {.sz = sizeof(bad), .mode = (enum live_lc_mode)7};
    CHECK(!live_lifecycle_open(&bad, err, sizeof(err)));
    CHECK_EQ(errno, EINVAL);
    CHECK_STR_CONTAINS(err, "unknown mode");
    struct live_lifecycle_stats st = {0};
    CHECK_EQ(live_lifecycle_get_stats(g_lc, &st), -EINVAL); /* sz not set */
    live_lifecycle_close(g_lc);
    return 0;
}
