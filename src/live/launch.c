/*
 * `bpfmm run`'s launcher (launch.h): the THP-at-launch decision, the fork/wait/exec
 * handshake through two pipes, exit status mapping and signal forwarding.
 */
#include "launch.h"

#include <bpfmm/policy.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

const char *live_launch_thp_mode_name(enum live_launch_thp_mode m)
{
    switch (m) {
    case LIVE_LAUNCH_THP_KEEP:
        return "none";
    case LIVE_LAUNCH_THP_EXCEPT_ADVISED:
        return "prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED)";
    case LIVE_LAUNCH_THP_DISABLE:
        return "prctl(PR_SET_THP_DISABLE, 1, 0)";
    }
    return "?";
}

int live_launch_thp_decide(const char *policy, const char *const *rodata, unsigned nr_rodata,
                           const char *comm, const struct live_features *f,
                           struct live_launch_thp *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    char log[1024] = "";
    struct bpfmm_policy_opts po = {.sz = sizeof(po),
                                   .rodata = rodata,
                                   .nr_rodata = nr_rodata,
                                   .log_buf = log,
                                   .log_size = sizeof(log)};
    bpfmm_policy_t *p = bpfmm_policy_open(policy, &po);
    if (!p) {
        int e = errno;
        snprintf(err, err_size, "policy %s: %s", policy, log[0] ? log : strerror(e));
        return -e;
    }
    unsigned pmd = f->pmd_order ? f->pmd_order : 9;
    const uint64_t base = 1ull << 40, size = 1ull << 30;
    struct bpfmm_thp_ctx ctx;

    /* A page fault in a generic private anonymous read-write VMA. */
    bpfmm_policy_ctx_init(&ctx, BPFMM_THP_PAGEFAULT);
    ctx.address = base;
    ctx.vma_start = base;
    ctx.vma_end = base + size;
    ctx.vma_flags = BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON;
    snprintf(ctx.comm, sizeof(ctx.comm), "%s", comm ? comm : "");
    out->fault_orders = bpfmm_policy_get_orders(p, &ctx);

    /* A fully populated 2 MiB range of the same VMA, as the agent would ask. */
    bool collapse = false;
    static const enum bpfmm_thp_type types[] = {BPFMM_THP_KHUGEPAGED, BPFMM_THP_FORCED_COLLAPSE};
    for (unsigned i = 0; i < 2 && !collapse; i++) {
        bpfmm_policy_ctx_init(&ctx, types[i]);
        ctx.orders = 1ull << pmd;
        ctx.address = base;
        ctx.vma_start = base;
        ctx.vma_end = base + size;
        ctx.vma_flags = BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON;
        snprintf(ctx.comm, sizeof(ctx.comm), "%s", comm ? comm : "");
        ctx.pmd_order = pmd;
        ctx.range_start = base;
        ctx.range_pages = 1u << pmd;
        ctx.nr_present = 1u << pmd;
        ctx.vma_resident = size;
        ctx.vma_referenced = size;
        collapse = bpfmm_policy_get_orders(p, &ctx) & (1ull << pmd);
    }
    out->collapse_allowed = collapse;
    bpfmm_policy_close(p);

    char orders[64];
    bpfmm_policy_format_orders(out->fault_orders, orders, sizeof(orders));
    if (out->fault_orders) {
        out->mode = LIVE_LAUNCH_THP_KEEP;
        snprintf(out->why, sizeof(out->why),
                 "policy %s allows THP at fault (%s): the kernel's settings decide at fault",
                 policy, orders);
    } else if (!collapse) {
        out->mode = LIVE_LAUNCH_THP_DISABLE;
        snprintf(out->why, sizeof(out->why),
                 "policy %s allows no THP at fault and no collapse: THP disabled for the "
                 "command and its children",
                 policy);
    } else if (f->thp_disable_except_advised) {
        out->mode = LIVE_LAUNCH_THP_EXCEPT_ADVISED;
        snprintf(out->why, sizeof(out->why),
                 "policy %s allows no THP at fault but allows collapse: THP at fault disabled "
                 "outside MADV_HUGEPAGE regions; collapse still works",
                 policy);
    } else {
        out->mode = LIVE_LAUNCH_THP_KEEP;
        snprintf(out->why, sizeof(out->why),
                 "policy %s allows no THP at fault, but this kernel has no "
                 "PR_THP_DISABLE_EXCEPT_ADVISED (Linux 6.18) and disabling THP would also stop "
                 "collapse: the fault-time decision is NOT enforced",
                 policy);
    }
    return 0;
}

struct child_report {
    int stage; /* 1: prctl, 2: exec */
    int err;
};

int live_launch_start(const struct live_os *os, char *const argv[], enum live_launch_thp_mode mode,
                      struct live_launch *l, char *err, size_t err_size)
{
    memset(l, 0, sizeof(*l));
    l->os = os;
    l->pidfd = l->go_fd = l->exec_fd = -1;
    int go[2], ex[2];
    int rc = os->pipe(go);
    if (rc) {
        snprintf(err, err_size, "cannot create a pipe: %s", strerror(-rc));
        return rc;
    }
    if ((rc = os->pipe(ex))) {
        close(go[0]);
        close(go[1]);
        snprintf(err, err_size, "cannot create a pipe: %s", strerror(-rc));
        return rc;
    }
    fflush(NULL);
    pid_t pid = os->fork();
    if (pid < 0) {
        snprintf(err, err_size, "cannot fork: %s", strerror((int)-pid));
        close(go[0]);
        close(go[1]);
        close(ex[0]);
        close(ex[1]);
        return (int)pid;
    }
    if (pid == 0) {
        close(go[1]);
        close(ex[0]);
        struct child_report r = {0, 0};
        if (mode != LIVE_LAUNCH_THP_KEEP) {
            int prc = os->prctl(
                PR_SET_THP_DISABLE, 1,
                mode == LIVE_LAUNCH_THP_EXCEPT_ADVISED ? PR_THP_DISABLE_EXCEPT_ADVISED : 0, 0, 0);
            if (prc) {
                r = (struct child_report){1, -prc};
                (void)!write(ex[1], &r, sizeof(r));
                os->exit_child(125);
            }
        }
        char c;
        ssize_t n;
        do
            n = read(go[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            os->exit_child(125); /* the launcher gave up (or died) before the attach */
        close(go[0]);
        execvp(argv[0], argv);
        r = (struct child_report){2, errno};
        (void)!write(ex[1], &r, sizeof(r));
        os->exit_child(r.err == ENOENT ? 127 : 126);
    }
    close(go[0]);
    close(ex[1]);
    l->pid = pid;
    l->go_fd = go[1];
    l->exec_fd = ex[0];
    l->pidfd = os->pidfd_open(pid, 0);
    if (l->pidfd < 0) {
        rc = l->pidfd;
        snprintf(err, err_size, "pidfd_open(%d): %s", (int)pid, strerror(-rc));
        live_launch_abort(l);
        return rc;
    }
    /* A prctl failure shows up at once (the child exits before waiting). */
    return 0;
}

int live_launch_release(struct live_launch *l, char *err, size_t err_size)
{
    char c = 'g';
    ssize_t w = write(l->go_fd, &c, 1);
    close(l->go_fd);
    l->go_fd = -1;
    struct child_report r;
    ssize_t n;
    do
        n = read(l->exec_fd, &r, sizeof(r));
    while (n < 0 && errno == EINTR);
    close(l->exec_fd);
    l->exec_fd = -1;
    if (n == (ssize_t)sizeof(r)) {
        if (r.stage == 1)
            snprintf(err, err_size, "prctl(PR_SET_THP_DISABLE) failed in the child: %s",
                     strerror(r.err));
        else
            snprintf(err, err_size, "cannot run the command: %s", strerror(r.err));
        return -r.err;
    }
    if (w != 1) {
        snprintf(err, err_size, "the child exited before it was released");
        return -ECHILD;
    }
    return 0;
}

void live_launch_abort(struct live_launch *l)
{
    if (l->go_fd >= 0)
        close(l->go_fd); /* EOF: the child exits by itself */
    l->go_fd = -1;
    if (l->pid > 0) {
        if (l->pidfd >= 0)
            live_launch_forward(l->pidfd, SIGKILL);
        else
            kill(l->pid, SIGKILL);
    }
    live_launch_reap(l);
}

int live_launch_reap(struct live_launch *l)
{
    int code = 125;
    if (l->pid > 0) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        int rc;
        do
            rc = waitid(P_PID, (id_t)l->pid, &si, WEXITED);
        while (rc < 0 && errno == EINTR);
        if (rc == 0) {
            if (si.si_code == CLD_EXITED)
                code = si.si_status;
            else
                code = 128 + si.si_status;
        }
        l->pid = 0;
    }
    if (l->pidfd >= 0)
        close(l->pidfd);
    if (l->go_fd >= 0)
        close(l->go_fd);
    if (l->exec_fd >= 0)
        close(l->exec_fd);
    l->pidfd = l->go_fd = l->exec_fd = -1;
    return code;
}

void live_launch_forward(int pidfd, int sig)
{
    if (pidfd >= 0)
        syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int live_launch_wait(struct live_launch *l)
{
    sigset_t set, old;
    sigemptyset(&set);
    int sigs[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&set, sigs[i]);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd >= 0 && ep >= 0) {
        struct epoll_event e1 = {.events = EPOLLIN, .data.u32 = 1};
        struct epoll_event e2 = {.events = EPOLLIN, .data.u32 = 2};
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e1);
        epoll_ctl(ep, EPOLL_CTL_ADD, l->pidfd, &e2);
        for (bool done = false; !done;) {
            struct epoll_event ev[2];
            int n = epoll_wait(ep, ev, 2, -1);
            if (n < 0 && errno != EINTR)
                break;
            for (int i = 0; i < n; i++) {
                if (ev[i].data.u32 == 2) {
                    done = true;
                    continue;
                }
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                    if ((si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT) &&
                        si.ssi_code == SI_KERNEL)
                        continue;
                    live_launch_forward(l->pidfd, (int)si.ssi_signo);
                }
            }
        }
    }
    if (sfd >= 0)
        close(sfd);
    if (ep >= 0)
        close(ep);
    int code = live_launch_reap(l);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return code;
}
