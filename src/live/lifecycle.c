/*
 * Lifecycle front end (lifecycle.h): picks the mechanism, validates and explains attach
 * requests, owns the pidfd-based identity of attach roots, the epoll set the agent waits on
 * and the poll loop. What each mechanism does is in lifecycle_bpf.c / lifecycle_procconn.c;
 * the event rules are lifecycle_core.c's.
 */
#include "lifecycle_impl.h"
#include "lifecycle_sys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

int lc_errf(char *err, size_t err_size, int err_code, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return err_code;
}

const char *live_lc_event_name(enum live_lc_event_type type)
{
    switch (type) {
    case LIVE_LC_FORK:
        return "FORK";
    case LIVE_LC_EXEC:
        return "EXEC";
    case LIVE_LC_EXIT:
        return "EXIT";
    }
    return "?";
}

live_lifecycle_t *live_lifecycle_open(const struct live_lifecycle_opts *opts, char *err,
                                      size_t err_size)
{
    live_lifecycle_t *lc = calloc(1, sizeof(*lc));
    int e;
    if (!lc) {
        errno = ENOMEM;
        return NULL;
    }
    if (opts) {
        size_t n = opts->sz < sizeof(lc->opts) ? opts->sz : sizeof(lc->opts);
        memcpy(&lc->opts, opts, n);
    }
    lc->opts.sz = sizeof(lc->opts);
    lc->os = &live_os_linux;
    lc->nlfd = lc->tfd = -1;
    /* One pidfd per managed process: take the whole descriptor allowance (process-wide, as
     * daemons do; never lowered). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (lc->opts.mode > LIVE_LC_PROCCONN) {
        lc_errf(err, err_size, 0, "lifecycle: unknown mode %d (use auto, bpf or procconn)",
                (int)lc->opts.mode);
        free(lc);
        errno = EINVAL;
        return NULL;
    }
    lc->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lc->epfd < 0) {
        e = errno;
        lc_errf(err, err_size, 0, "lifecycle: epoll_create1 failed: %s", strerror(e));
        free(lc);
        errno = e;
        return NULL;
    }
    struct lc_sys sys;
    lc_sys_init(&sys, lc->os);
    e = lc_core_init(&lc->core, &sys, lc->opts.on_event, lc->opts.arg);
    if (e)
        goto fail;

    if (lc->opts.mode != LIVE_LC_PROCCONN) {
        e = lc_bpf_open(lc, lc->bpf_reason, sizeof(lc->bpf_reason));
        if (e == 0) {
            lc->mode = LIVE_LC_BPF;
            return lc;
        }
        if (lc->opts.mode == LIVE_LC_BPF) {
            lc_errf(err, err_size, 0, "lifecycle: BPF requested but unavailable: %s",
                    lc->bpf_reason);
            goto fail;
        }
    } else {
        snprintf(lc->bpf_reason, sizeof(lc->bpf_reason), "not tried: proc connector requested");
    }
    e = lc_pc_open(lc, err, err_size);
    if (e)
        goto fail;
    lc->mode = LIVE_LC_PROCCONN;
    return lc;
fail:
    lc_core_fini(&lc->core);
    close(lc->epfd);
    free(lc);
    errno = e < 0 ? -e : EINVAL;
    return NULL;
}

void live_lifecycle_close(live_lifecycle_t *lc)
{
    if (!lc)
        return;
    if (lc->mode == LIVE_LC_BPF)
        lc_bpf_close(lc);
    lc_core_fini(&lc->core); /* before the proc connector closes the epoll set it watches */
    if (lc->mode == LIVE_LC_PROCCONN)
        lc_pc_close(lc);
    close(lc->epfd);
    free(lc);
}

enum live_lc_mode live_lifecycle_mode(const live_lifecycle_t *lc)
{
    return lc->mode;
}

const char *live_lifecycle_describe(const live_lifecycle_t *lc)
{
    return lc->describe;
}

const char *live_lifecycle_bpf_reason(const live_lifecycle_t *lc)
{
    return lc->mode == LIVE_LC_BPF ? "" : lc->bpf_reason;
}

int live_lifecycle_fd(const live_lifecycle_t *lc)
{
    return lc->epfd;
}

/* --- attach / detach ----------------------------------------------------------------------- */

/* A pidfd for the process tgid and its start time, or -errno with a message. */
static int open_root(live_lifecycle_t *lc, pid_t tgid, uint64_t *start_ticks, char *err,
                     size_t err_size)
{
    struct lc_sys *sys = &lc->core.sys;
    int fd = sys->pidfd_open(sys->arg, tgid);
    /* A thread id: EINVAL before 6.9, ENOENT since (PIDFD_THREAD). */
    if (fd == -EINVAL || fd == -ENOENT) {
        int owner = lc_sys_tgid_of(lc->os, tgid);
        if (owner > 0 && owner != tgid)
            return lc_errf(err, err_size, -EINVAL,
                           "attach: pid %d is a thread of process %d; policies govern whole "
                           "processes: attach pid %d instead",
                           (int)tgid, owner, owner);
    }
    if (fd == -ESRCH || fd == -ENOENT)
        return lc_errf(err, err_size, -ESRCH,
                       "attach: no process with pid %d (it has exited, or never existed); "
                       "check the pid",
                       (int)tgid);
    if (fd < 0)
        return lc_errf(err, err_size, fd, "attach: pidfd_open(%d) failed: %s", (int)tgid,
                       strerror(-fd));
    struct lc_stat st;
    if (sys->stat(sys->arg, tgid, &st) < 0 || sys->pidfd_alive(sys->arg, fd) != 1) {
        sys->close_fd(sys->arg, fd);
        return lc_errf(err, err_size, -ESRCH, "attach: process %d exited during the attach",
                       (int)tgid);
    }
    *start_ticks = st.start_ticks;
    return fd;
}

int live_lifecycle_attach(live_lifecycle_t *lc, pid_t tgid, uint32_t policy_id, char *err,
                          size_t err_size)
{
    if (tgid <= 0)
        return lc_errf(err, err_size, -EINVAL, "attach: pid %d is not a process id (must be > 0)",
                       (int)tgid);
    if (policy_id == 0)
        return lc_errf(err, err_size, -EINVAL, "attach: policy id 0 is reserved (ids are > 0)");
    if (lc->mode == LIVE_LC_PROCCONN) {
        struct lc_entry *e = lc_core_find(&lc->core, tgid);
        if (e && e->pidfd >= 0 && lc->core.sys.pidfd_alive(lc->core.sys.arg, e->pidfd) == 1)
            return lc_errf(err, err_size, -EBUSY,
                           "attach: process %d is already managed by policy %u (%s); detach "
                           "it first",
                           (int)tgid, e->policy_id, e->parent ? "inherited" : "attached");
    }

    uint64_t start_ticks = 0;
    int fd = open_root(lc, tgid, &start_ticks, err, err_size);
    if (fd < 0)
        return fd;
    uint64_t gen = lc_core_policy_gen(&lc->core, policy_id, true);
    if (!gen) {
        lc->core.sys.close_fd(lc->core.sys.arg, fd);
        return lc_errf(err, err_size, -ENOMEM, "attach: out of memory");
    }
    if (lc->mode == LIVE_LC_BPF) {
        int r = lc_bpf_attach(lc, tgid, policy_id, gen, err, err_size);
        if (r) {
            lc->core.sys.close_fd(lc->core.sys.arg, fd);
            return r;
        }
    }
    /* An entry left in the table under this pid belongs to an earlier process whose exit has
     * not been read yet, or (BPF) to this process if the table lagged: report the exit of the
     * former, replace the latter silently. */
    struct lc_entry *old = lc_core_find(&lc->core, tgid);
    if (old && old->start_ticks == start_ticks)
        lc_core_remove(&lc->core, tgid);
    else if (old)
        lc_core_exit(&lc->core, tgid, 0);
    int r = lc_core_add_root(&lc->core, tgid, policy_id, gen, fd, start_ticks,
                             lc->mode == LIVE_LC_PROCCONN);
    if (r) {
        lc->core.sys.close_fd(lc->core.sys.arg, fd);
        if (lc->mode == LIVE_LC_BPF)
            lc_bpf_detach(lc, tgid);
        return lc_errf(err, err_size, r, "attach: recording process %d failed: %s", (int)tgid,
                       strerror(-r));
    }
    return 0;
}

int live_lifecycle_detach(live_lifecycle_t *lc, pid_t tgid)
{
    int r = -ENOENT;
    if (lc->mode == LIVE_LC_BPF)
        r = lc_bpf_detach(lc, tgid);
    if (lc_core_remove(&lc->core, tgid) == 0)
        r = 0;
    return r;
}

int live_lifecycle_detach_policy(live_lifecycle_t *lc, uint32_t policy_id)
{
    if (policy_id == 0)
        return -EINVAL;
    int n;
    if (lc->mode == LIVE_LC_BPF) {
        n = lc_bpf_detach_policy(lc, policy_id);
        lc_core_remove_policy(&lc->core, policy_id);
    } else {
        n = lc_core_remove_policy(&lc->core, policy_id);
    }
    lc_core_policy_drop(&lc->core, policy_id);
    return n;
}

int live_lifecycle_lookup(live_lifecycle_t *lc, pid_t tgid, uint32_t *policy_id)
{
    if (lc->mode == LIVE_LC_BPF)
        return lc_bpf_lookup(lc, tgid, policy_id);
    struct lc_entry *e = lc_core_find(&lc->core, tgid);
    if (!e)
        return -ENOENT;
    *policy_id = e->policy_id;
    return 0;
}

int live_lifecycle_list(live_lifecycle_t *lc, uint32_t policy_id, struct live_lc_proc *out,
                        size_t cap)
{
    if (lc->mode == LIVE_LC_BPF)
        return lc_bpf_list(lc, policy_id, out, cap);
    return lc_core_list(&lc->core, policy_id, out, cap);
}

int live_lifecycle_pidfd(live_lifecycle_t *lc, pid_t tgid)
{
    struct lc_entry *e = lc_core_find(&lc->core, tgid);
    if (!e)
        return -ENOENT;
    return e->pidfd >= 0 ? e->pidfd : -ESRCH;
}

/* --- events -------------------------------------------------------------------------------- */

int live_lifecycle_poll(live_lifecycle_t *lc, int timeout_ms)
{
    struct epoll_event evs[32];
    if (lc->polling)
        return -EBUSY;
    lc->polling = true;
    lc->core.delivered = 0;
    int n = epoll_wait(lc->epfd, evs, 32, timeout_ms);
    if (n < 0 && errno != EINTR) {
        int e = -errno;
        lc->polling = false;
        return e;
    }
    if (lc->mode == LIVE_LC_BPF) {
        /* Also when nothing was ready: lost records are noticed by the drop counter. */
        lc_bpf_consume(lc);
    } else if (n > 0) {
        uint64_t tags[32];
        for (int i = 0; i < n; i++)
            tags[i] = evs[i].data.u64;
        lc_pc_handle(lc, tags, n);
    }
    lc->polling = false;
    return (int)lc->core.delivered;
}

int live_lifecycle_get_stats(live_lifecycle_t *lc, struct live_lifecycle_stats *st)
{
    if (!st || st->sz == 0)
        return -EINVAL;
    struct live_lifecycle_stats s = lc->core.st;
    s.managed = lc->core.count;
    if (lc->mode == LIVE_LC_BPF)
        s.insert_fails = lc_bpf_insert_fails(lc);
    size_t n = st->sz < sizeof(s) ? st->sz : sizeof(s);
    s.sz = st->sz;
    memcpy(st, &s, n);
    return 0;
}
