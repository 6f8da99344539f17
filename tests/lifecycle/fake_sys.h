/*
 * A fake system for the lifecycle core (struct lc_sys): a table of processes (pid, parent,
 * start time, alive/reaped), pidfds that remember which process they name, and a recorder of
 * delivered events. Lets tests feed synthetic events and check every rule without a kernel.
 * Owns no test logic.
 */
#ifndef BPFMM_TEST_LC_FAKE_SYS_H
#define BPFMM_TEST_LC_FAKE_SYS_H

#include "test.h"
#include "live/lifecycle_core.h"

#include <stdbool.h>

#define FAKE_MAX_PROCS 64
#define FAKE_MAX_FDS   256
#define FAKE_MAX_EVS   256

struct fake_proc {
    pid_t pid, ppid;
    uint64_t start_ticks;
    bool used, exited, reaped;
};

struct fake_sys {
    struct fake_proc procs[FAKE_MAX_PROCS];
    int fd_proc[FAKE_MAX_FDS]; /* fd - 100 -> index into procs, -1 = closed */
    bool fd_watched[FAKE_MAX_FDS];
    int open_fds;
    uint64_t now_ticks;
    struct live_lc_event evs[FAKE_MAX_EVS];
    int nevs;
};

static struct fake_sys fk;

static inline struct fake_proc *fake_find(pid_t pid)
{
    /* The live (not reaped) process under pid, if any. */
    for (int i = 0; i < FAKE_MAX_PROCS; i++)
        if (fk.procs[i].used && fk.procs[i].pid == pid && !fk.procs[i].reaped)
            return &fk.procs[i];
    return NULL;
}

static inline struct fake_proc *fake_spawn(pid_t pid, pid_t ppid)
{
    CHECK_MSG(!fake_find(pid), "fake pid %d already in use", (int)pid);
    for (int i = 0; i < FAKE_MAX_PROCS; i++) {
        if (!fk.procs[i].used) {
            fk.procs[i] = (struct fake_proc){
                .pid = pid, .ppid = ppid, .start_ticks = ++fk.now_ticks, .used = true};
            return &fk.procs[i];
        }
    }
    TEST_FAIL("fake process table full");
}

/* Exit and reap (the pid becomes free for reuse). */
static inline void fake_reap(pid_t pid)
{
    struct fake_proc *p = fake_find(pid);
    CHECK(p);
    p->exited = p->reaped = true;
}

static inline int f_pidfd_open(void *arg, pid_t pid)
{
    struct fake_proc *p = fake_find(pid);
    if (!p)
        return -ESRCH;
    for (int i = 0; i < FAKE_MAX_FDS; i++) {
        if (fk.fd_proc[i] < 0) {
            fk.fd_proc[i] = (int)(p - fk.procs);
            fk.open_fds++;
            return 100 + i;
        }
    }
    return -EMFILE;
}

static inline int f_pidfd_alive(void *arg, int fd)
{
    CHECK(fd >= 100 && fd < 100 + FAKE_MAX_FDS && fk.fd_proc[fd - 100] >= 0);
    return !fk.procs[fk.fd_proc[fd - 100]].reaped;
}

static inline void f_close(void *arg, int fd)
{
    CHECK_MSG(fd >= 100 && fd < 100 + FAKE_MAX_FDS && fk.fd_proc[fd - 100] >= 0,
              "close of a bad fd %d", fd);
    CHECK_MSG(!fk.fd_watched[fd - 100], "fd %d closed while still watched", fd);
    fk.fd_proc[fd - 100] = -1;
    fk.open_fds--;
}

static inline int f_stat(void *arg, pid_t pid, struct lc_stat *st)
{
    struct fake_proc *p = fake_find(pid);
    if (!p)
        return -ESRCH;
    st->ppid = p->ppid;
    st->start_ticks = p->start_ticks;
    st->flags = 0;
    return 0;
}

static inline int f_children(void *arg, pid_t pid, pid_t *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < FAKE_MAX_PROCS; i++) {
        struct fake_proc *p = &fk.procs[i];
        if (p->used && !p->reaped && p->ppid == pid) {
            if (n < cap)
                out[n] = p->pid;
            n++;
        }
    }
    return (int)n;
}

static inline int f_watch(void *backend, int fd, pid_t tgid)
{
    fk.fd_watched[fd - 100] = true;
    return 0;
}

static inline void f_unwatch(void *backend, int fd)
{
    CHECK(fk.fd_watched[fd - 100]);
    fk.fd_watched[fd - 100] = false;
}

static inline void f_record(void *arg, const struct live_lc_event *ev)
{
    CHECK(fk.nevs < FAKE_MAX_EVS);
    fk.evs[fk.nevs++] = *ev;
    /* The pidfd given must name the event's process (or be -1). */
    if (ev->pidfd >= 0)
        CHECK_EQ(fk.procs[fk.fd_proc[ev->pidfd - 100]].pid, ev->tgid);
}

/* procconn: with watch hooks; bpf: without. */
static inline void fake_init(struct lc_core *c, bool procconn)
{
    memset(&fk, 0, sizeof(fk));
    for (int i = 0; i < FAKE_MAX_FDS; i++)
        fk.fd_proc[i] = -1;
    struct lc_sys sys = {
        .pidfd_open = f_pidfd_open,
        .pidfd_alive = f_pidfd_alive,
        .close_fd = f_close,
        .stat = f_stat,
        .children = f_children,
        .ticks_per_sec = 100,
    };
    if (procconn) {
        sys.watch = f_watch;
        sys.unwatch = f_unwatch;
    }
    CHECK_EQ(lc_core_init(c, &sys, f_record, NULL), 0);
}

/* The boot time (ns) of "now" on the fake's tick clock. */
static inline uint64_t fake_now_ns(void)
{
    return fk.now_ticks * 10000000ull;
}

static inline void fake_attach(struct lc_core *c, pid_t pid, uint32_t id, bool procconn)
{
    struct fake_proc *p = fake_find(pid);
    CHECK(p);
    uint64_t gen = lc_core_policy_gen(c, id, true);
    int fd = f_pidfd_open(NULL, pid);
    CHECK_GE(fd, 0);
    CHECK_EQ(lc_core_add_root(c, pid, id, gen, fd, p->start_ticks, procconn), 0);
}

/* Checks and consumes the next recorded event. */
static int ev_next;
static inline void expect_ev(enum live_lc_event_type type, pid_t tgid, pid_t parent, uint32_t id,
                             uint32_t flags)
{
    CHECK_MSG(ev_next < fk.nevs, "expected %s %d, no more events", live_lc_event_name(type),
              (int)tgid);
    struct live_lc_event *e = &fk.evs[ev_next++];
    CHECK_MSG(e->type == type && e->tgid == tgid, "expected %s %d, got %s %d (event %d)",
              live_lc_event_name(type), (int)tgid, live_lc_event_name(e->type), (int)e->tgid,
              ev_next - 1);
    CHECK_EQ(e->parent, parent);
    CHECK_EQ(e->policy_id, id);
    CHECK_EQ(e->flags, flags);
}

static inline void expect_no_more_events(void)
{
    CHECK_MSG(ev_next == fk.nevs, "unexpected %d more event(s), next %s %d", fk.nevs - ev_next,
              live_lc_event_name(fk.evs[ev_next].type), (int)fk.evs[ev_next].tgid);
}

static inline void expect_managed(struct lc_core *c, pid_t pid, uint32_t id)
{
    struct lc_entry *e = lc_core_find(c, pid);
    CHECK_MSG(e, "pid %d should be managed", (int)pid);
    CHECK_EQ(e->policy_id, id);
}

static inline void expect_unmanaged(struct lc_core *c, pid_t pid)
{
    CHECK_MSG(!lc_core_find(c, pid), "pid %d should not be managed", (int)pid);
}

#endif
