/*
 * The proc connector lifecycle backend, used when BPF is unavailable: netlink FORK/EXEC events
 * (procconn.c), pidfds in the epoll set for exits, and a /proc rescan timer for children the
 * events missed. Owns the timerfd and the epoll registrations of pidfds; the inheritance rules
 * are lifecycle_core.c's.
 *
 * What it cannot guarantee (docs/lifecycle.md): a child runs before its FORK event is read, so
 * its first faults happen unmanaged; a child missed by an overflow is found only by the next
 * rescan, and not at all if its parent exited meanwhile (it has been reparented).
 */
#include "lifecycle_impl.h"
#include "procconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pc_watch(void *backend, int pidfd, pid_t tgid)
{
    live_lifecycle_t *lc = backend;
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = LC_TAG(LC_SRC_PIDFD, pidfd, tgid)};
    return epoll_ctl(lc->epfd, EPOLL_CTL_ADD, pidfd, &ee) < 0 ? -errno : 0;
}

static void pc_unwatch(void *backend, int pidfd)
{
    live_lifecycle_t *lc = backend;
    epoll_ctl(lc->epfd, EPOLL_CTL_DEL, pidfd, NULL);
}

int lc_pc_open(live_lifecycle_t *lc, char *err, size_t err_size)
{
    unsigned ms = lc->opts.rescan_ms ? lc->opts.rescan_ms : 1000;
    int fd = procconn_open(lc->opts.netlink_rcvbuf, err, err_size);
    if (fd < 0)
        return fd;
    lc->nlfd = fd;
    struct epoll_event ee = {.events = EPOLLIN, .data.u64 = LC_TAG(LC_SRC_NL, 0, 0)};
    if (epoll_ctl(lc->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
        goto fail_errno;
    lc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (lc->tfd < 0)
        goto fail_errno;
    struct itimerspec its = {
        .it_interval = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000},
        .it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000},
    };
    if (timerfd_settime(lc->tfd, 0, &its, NULL) < 0)
        goto fail_errno;
    ee.data.u64 = LC_TAG(LC_SRC_TIMER, 0, 0);
    if (epoll_ctl(lc->epfd, EPOLL_CTL_ADD, lc->tfd, &ee) < 0)
        goto fail_errno;
    lc->boot_minus_mono_ns = clock_ns(CLOCK_BOOTTIME) - clock_ns(CLOCK_MONOTONIC);
    lc->core.sys.backend = lc;
    lc->core.sys.watch = pc_watch;
    lc->core.sys.unwatch = pc_unwatch;
    char period[32];
    if (ms % 1000 == 0)
        snprintf(period, sizeof(period), "%u s", ms / 1000);
    else
        snprintf(period, sizeof(period), "%u ms", ms);
    snprintf(lc->describe, sizeof(lc->describe),
             "proc connector + /proc rescan every %s (%s%s; children may run before they are "
             "registered)",
             period,
             lc->opts.mode == LIVE_LC_PROCCONN ? "BPF " : "BPF unavailable: ", lc->bpf_reason);
    return 0;
fail_errno:;
    int e = -errno;
    snprintf(err, err_size, "lifecycle: setting up the proc connector's epoll/timer failed: %s",
             strerror(-e));
    lc_pc_close(lc);
    return e;
}

void lc_pc_close(live_lifecycle_t *lc)
{
    procconn_close(lc->nlfd);
    if (lc->tfd >= 0)
        close(lc->tfd);
    lc->nlfd = lc->tfd = -1;
}

static void on_event(void *arg, const struct procconn_event *ev)
{
    live_lifecycle_t *lc = arg;
    switch (ev->type) {
    case PROCCONN_FORK:
        lc_core_fork(&lc->core, ev->parent_tgid, ev->tgid, ev->mono_ns + lc->boot_minus_mono_ns);
        break;
    case PROCCONN_EXEC:
        lc_core_exec(&lc->core, ev->tgid, 0);
        break;
    case PROCCONN_EXIT:
        /* A thread's exit says nothing about the group: the pidfd reports the group's. */
        break;
    }
}

static void drain(live_lifecycle_t *lc)
{
    bool overflow = false, drained = false;
    /* Bounded, so that a fork storm elsewhere cannot keep the agent here: what is left is
     * read at the next poll (the socket stays readable). */
    for (int round = 0; round < 64 && !drained; round++) {
        bool ov;
        if (procconn_read(lc->nlfd, 1024, on_event, lc, &ov, &drained) < 0)
            break;
        overflow |= ov;
    }
    if (!overflow)
        return;
    /* Events were dropped. Exits are still reported by the pidfds; execs and forks are not:
     * every managed process may have exec'ed, and children may have been missed. */
    lc->core.st.lost++;
    int n = lc_core_list(&lc->core, 0, NULL, 0);
    if (n > 0) {
        struct live_lc_proc *v = calloc((size_t)n, sizeof(*v));
        if (v) {
            n = lc_core_list(&lc->core, 0, v, (size_t)n);
            for (int i = 0; i < n; i++)
                lc_core_exec(&lc->core, v[i].tgid, LIVE_LC_EV_RECONCILE);
            free(v);
        }
    }
    lc_core_rescan(&lc->core);
}

void lc_pc_handle(live_lifecycle_t *lc, const uint64_t *tags, int n)
{
    bool timer = false;
    /* Forks first: a child's FORK event is queued before the child runs, so before its parent
     * can exit; reading the socket before handling exits keeps grandchildren. */
    drain(lc);
    for (int i = 0; i < n; i++) {
        uint64_t t = tags[i];
        if (LC_TAG_KIND(t) == LC_SRC_TIMER) {
            uint64_t expirations;
            if (read(lc->tfd, &expirations, sizeof(expirations)) > 0)
                timer = true;
        } else if (LC_TAG_KIND(t) == LC_SRC_PIDFD) {
            struct lc_entry *e = lc_core_find(&lc->core, LC_TAG_TGID(t));
            /* The entry may have been replaced by a callback since epoll_wait. */
            if (e && e->pidfd == LC_TAG_FD(t))
                lc_core_exit(&lc->core, e->tgid, 0);
        }
    }
    if (timer)
        lc_core_rescan(&lc->core);
}
