/*
 * The /proc readings the lifecycle relies on (lifecycle_sys.c), on the real kernel: a
 * process's children by /proc/PID/task/TID/children and by the ppid scan (the path for kernels
 * without CONFIG_PROC_CHILDREN) agree; stat gives the ppid and the start time; a thread id
 * maps to its process; a running process is not "exiting", an exiting one is. No root needed.
 */
#include "lc_test.h"
#include "live/lifecycle_sys.h"

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static atomic_int tid_seen;

static void *thread_fn(void *arg)
{
    atomic_store(&tid_seen, (int)syscall(SYS_gettid));
    pause();
    return NULL;
}

int main(int argc, char **argv)
{
    puppet_main_hook(argc, argv);
    slots_init();
    pid_t p = puppet_spawn(0);
    pid_t want[3];
    for (int i = 0; i < 3; i++)
        want[i] = pcmd(0, P_FORK, i + 1, true);
    pid_t first = want[0];      /* the puppet in slot 1 */
    pcmd(0, P_THREAD, 0, true); /* children are listed per thread: the extra thread has none */
    qsort(want, 3, sizeof(pid_t), cmp_pid);

    pid_t a[8], b[8];
    int na = lc_sys_children(&live_os_linux, p, a, 8, false);
    int nb = lc_sys_children(&live_os_linux, p, b, 8, true);
    CHECK_EQ(na, 3);
    CHECK_EQ(nb, 3);
    qsort(a, 3, sizeof(pid_t), cmp_pid);
    qsort(b, 3, sizeof(pid_t), cmp_pid);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(a[i], want[i]);
        CHECK_EQ(b[i], want[i]);
    }
    CHECK_EQ(lc_sys_children(&live_os_linux, p, a, 1, false), 3); /* count beyond cap */
    CHECK_EQ(lc_sys_children(&live_os_linux, first, a, 8, false), 0);

    struct lc_stat st, self;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)first);
    CHECK_EQ(lc_sys_stat_path(&live_os_linux, path, &st), 0);
    CHECK_EQ(st.ppid, p);
    CHECK_EQ(lc_sys_stat_path(&live_os_linux, "/proc/self/stat", &self), 0);
    CHECK_EQ(self.ppid, getppid());
    CHECK_LE(self.start_ticks, st.start_ticks); /* the test started before its grandchild */
    CHECK_EQ(lc_sys_stat_path(&live_os_linux, "/proc/0/stat", &st), -ESRCH);

    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, thread_fn, NULL), 0);
    while (!atomic_load(&tid_seen))
        usleep(1000);
    CHECK_EQ(lc_sys_tgid_of(&live_os_linux, atomic_load(&tid_seen)), getpid());
    CHECK_EQ(lc_sys_tgid_of(&live_os_linux, getpid()), getpid());

    CHECK_EQ(lc_sys_group_exiting(&live_os_linux, p), 0);
    pcmd(1, P_EXIT, 0, false);
    uint64_t end = mono_ms() + 10000;
    while (task_state(first, first) != 'Z') { /* a zombie: every thread is past do_exit */
        CHECK_MSG(mono_ms() < end, "%d did not exit", (int)first);
        usleep(1000);
    }
    CHECK_EQ(lc_sys_group_exiting(&live_os_linux, first), 1);
    CHECK_EQ(pcmd(0, P_WAIT, first, true), first);
    CHECK_EQ(lc_sys_group_exiting(&live_os_linux, first), 1); /* gone counts as exiting */
    return 0;
}
