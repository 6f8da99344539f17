/*
 * live_proc_identity: a handle pins one process. While the child lives the handle works
 * (comm, start time, statm, status); once the child is dead and reaped every call reports
 * ESRCH with a message saying it exited, a new handle on the reaped pid is refused, a handle
 * that expects another start time is refused (pid reuse), bad pids are EINVAL, and a caller
 * without privileges gets EACCES/EPERM with what to do.
 */
#include "live_test.h"

#include <sys/prctl.h>

static pid_t spawn_sleeper(void)
{
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_NAME, "bpfmm-sleeper");
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;)
            pause();
    }
    return pid;
}

int main(void)
{
    const struct live_features *f = require_live("opens handles on other processes");
    (void)f;
    pid_t pid = spawn_sleeper();
    usleep(20000); /* let the child set its name */
    struct live_proc *p = open_target(pid);
    CHECK_EQ(p->pid, pid);
    CHECK_GE(p->pidfd, 0);
    CHECK_EQ(live_proc_alive(p), 0);
    CHECK_EQ(live_proc_refresh_comm(p), 0);
    CHECK_MSG(!strcmp(p->comm, "bpfmm-sleeper"), "comm '%s'", p->comm);
    CHECK_GT(p->start_time, 0);
    struct live_statm sm;
    CHECK_EQ(live_proc_statm(p, &sm), 0);
    CHECK_GT(sm.resident, 0);
    struct live_status_mem st;
    CHECK_EQ(live_proc_status_mem(p, &st), 0);
    CHECK_GT(st.vm_rss, 0);
    CHECK_GE(st.threads, 1);
    CHECK_GE(live_proc_pagemap_fd(p), 0);

    /* The right start time is accepted, another refused. */
    char msg[256];
    struct live_proc *q = live_proc_open(&live_os_linux, pid, p->start_time, msg, sizeof(msg));
    CHECK_MSG(q, "%s", msg);
    live_proc_close(q);
    errno = 0;
    CHECK(live_proc_open(&live_os_linux, pid, p->start_time + 1, msg, sizeof(msg)) == NULL);
    CHECK_EQ(errno, ESRCH);
    CHECK_STR_CONTAINS(msg, "another process");

    /* Dead and reaped. */
    kill(pid, SIGKILL);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_EQ(live_proc_alive(p), -ESRCH);
    struct page_region vec[4];
    struct pm_scan_arg a = {.size = sizeof(a),
                            .start = 0x10000,
                            .end = 0x20000,
                            .vec = (uintptr_t)vec,
                            .vec_len = 4,
                            .category_anyof_mask = PAGE_IS_PRESENT,
                            .return_mask = PAGE_IS_PRESENT};
    CHECK_EQ(live_proc_pagemap_scan(p, &a), -ESRCH);
    CHECK_STR_CONTAINS(live_proc_error(p), "ESRCH");
    CHECK_STR_CONTAINS(live_proc_error(p), "exited");
    CHECK_STR_CONTAINS(live_proc_error(p), "bpfmm-sleeper");
    struct live_vma_list l = {0};
    CHECK_EQ(live_vma_read(p, true, &l), -ESRCH);
    CHECK_EQ(live_vma_read(p, false, &l), -ESRCH);
    CHECK_EQ(live_proc_statm(p, &sm), -ESRCH);
    struct iovec iov = {.iov_base = (void *)0x10000, .iov_len = 2u << 20};
    CHECK_EQ(live_proc_madvise(p, &iov, 1, MADV_COLLAPSE), -ESRCH);
    live_proc_close(p);

    errno = 0;
    CHECK(live_proc_open(&live_os_linux, pid, 0, msg, sizeof(msg)) == NULL);
    CHECK_EQ(errno, ESRCH);
    CHECK_STR_CONTAINS(msg, "exited");
    errno = 0;
    CHECK(live_proc_open(&live_os_linux, 0, 0, msg, sizeof(msg)) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK(live_proc_open(&live_os_linux, -4, 0, NULL, 0) == NULL);
    CHECK_EQ(errno, EINVAL);

    /* Without privileges: a child that became "nobody" inspects a root process. */
    pid_t target = spawn_sleeper();
    pid_t probe = fork();
    CHECK_GE(probe, 0);
    if (probe == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(3);
        char m[256];
        struct live_proc *h = live_proc_open(&live_os_linux, target, 0, m, sizeof(m));
        if (!h)
            _exit(4); /* pidfd_open and /proc/PID are allowed to anyone */
        int e = live_proc_pagemap_scan(h, &a);
        if (e != -EACCES && e != -EPERM)
            _exit(5);
        if (!strstr(live_proc_error(h), "CAP_SYS_PTRACE") || !strstr(live_proc_error(h), "root"))
            _exit(6);
        struct iovec v = {.iov_base = (void *)0x10000, .iov_len = 2u << 20};
        ssize_t r = live_proc_madvise(h, &v, 1, MADV_COLLAPSE);
        if (r != -EPERM && r != -EACCES)
            _exit(7);
        _exit(0);
    }
    CHECK_EQ(waitpid(probe, &status, 0), probe);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged probe failed at step %d",
              WEXITSTATUS(status));
    kill(target, SIGKILL);
    waitpid(target, &status, 0);
    return 0;
}
