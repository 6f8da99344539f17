/*
 * Helpers for the real-kernel lifecycle tests: "puppets" (processes the test drives through
 * pipes: fork, exec, start a thread, exit the leader first, exit...), an event recorder, and
 * waits for events. The test binary is also the puppet program: after exec a puppet re-enters
 * main with "--puppet SLOT". Every puppet inherits the open lifecycle object, so a freshly
 * forked puppet can look itself up in the kernel map before it does anything else.
 * Owns no test logic.
 */
#ifndef BPFMM_TEST_LC_TEST_H
#define BPFMM_TEST_LC_TEST_H

#include "test.h"
#include "live/lifecycle.h"

#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define NSLOTS  24
#define MAX_EVS 4096

enum pcmd {
    P_PING = 1,     /* reply: getpid() */
    P_FORK,         /* arg: slot of the child puppet; reply: its pid */
    P_EXEC,         /* re-exec as a puppet in the same slot; reply (from the new image): pid */
    P_THREAD,       /* start a thread that sleeps; reply: its tid */
    P_LEADER_EXIT,  /* the command loop moves to a new thread, the leader thread exits */
    P_EXIT,         /* exit_group(arg) (no reply) */
    P_LAST_EXIT,    /* pthread_exit of the thread running the loop (no reply) */
    P_WAIT,         /* waitpid(arg); reply: the pid reaped */
    P_FIRST_LOOKUP, /* reply: the policy id this puppet found for itself when it first ran */
    P_FORK_EXIT,    /* arg: count; fork and reap that many short-lived children; reply: 0 */
};

struct pmsg {
    int cmd;
    int arg;
};

struct slot {
    int cmd[2], reply[2];
};

static struct slot slots[NSLOTS];
static live_lifecycle_t *g_lc; /* inherited by puppets */
static int my_slot = -1;
static int first_lookup; /* policy id found by a puppet for itself first thing, or -errno */
static pid_t test_pid;   /* puppets leave when the test is gone, whatever killed it */

/* The pipes live at fixed descriptors, so that a puppet that exec'ed finds them all. */
#define SLOT_FD(i, k) (400 + 4 * (i) + (k)) /* k: 0/1 cmd read/write, 2/3 reply read/write */

static inline void slots_at_fixed_fds(void)
{
    for (int i = 0; i < NSLOTS; i++) {
        slots[i].cmd[0] = SLOT_FD(i, 0);
        slots[i].cmd[1] = SLOT_FD(i, 1);
        slots[i].reply[0] = SLOT_FD(i, 2);
        slots[i].reply[1] = SLOT_FD(i, 3);
    }
}

static inline void slots_init(void)
{
    for (int i = 0; i < NSLOTS; i++) {
        int c[2], r[2];
        CHECK_EQ(pipe(c), 0);
        CHECK_EQ(pipe(r), 0);
        /* dup2 leaves them open across exec, as a puppet's exec needs. */
        int fds[4] = {c[0], c[1], r[0], r[1]};
        for (int k = 0; k < 4; k++) {
            CHECK_EQ(dup2(fds[k], SLOT_FD(i, k)), SLOT_FD(i, k));
            close(fds[k]);
        }
    }
    slots_at_fixed_fds();
    test_pid = getpid();
    char v[16];
    snprintf(v, sizeof(v), "%d", (int)test_pid);
    setenv("BPFMM_LC_TEST_PID", v, 1);
}

static inline void preply(int v)
{
    CHECK_EQ(write(slots[my_slot].reply[1], &v, sizeof(v)), (ssize_t)sizeof(v));
}

static inline void *sleeper(void *arg)
{
    for (;;)
        pause();
    return NULL;
}

static inline void puppet_loop(void);

static inline void *loop_thread(void *arg)
{
    puppet_loop();
    return NULL;
}

static char *g_argv0;

static inline void puppet_loop(void)
{
    for (;;) {
        struct pmsg m;
        struct pollfd pf = {.fd = slots[my_slot].cmd[0], .events = POLLIN};
        if (poll(&pf, 1, 1000) == 0) {
            if (kill(test_pid, 0) < 0 && errno == ESRCH)
                _exit(0);
            continue;
        }
        ssize_t r = read(slots[my_slot].cmd[0], &m, sizeof(m));
        if (r == 0)
            _exit(0); /* the test is gone */
        if (r != (ssize_t)sizeof(m))
            _exit(3);
        switch (m.cmd) {
        case P_PING:
            preply(getpid());
            break;
        case P_FORK: {
            pid_t c = fork();
            if (c == 0) {
                uint32_t id = 0;
                int e = g_lc ? live_lifecycle_lookup(g_lc, getpid(), &id) : -ENOENT;
                first_lookup = e ? e : (int)id;
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                my_slot = m.arg; /* the child serves its own slot from here on */
                break;
            }
            preply(c);
            break;
        }
        case P_EXEC: {
            char s[16];
            snprintf(s, sizeof(s), "%d", my_slot);
            execl("/proc/self/exe", g_argv0, "--puppet", s, (char *)NULL);
            _exit(4);
        }
        case P_THREAD: {
            pthread_t t;
            pthread_create(&t, NULL, sleeper, NULL);
            /* The tid is not needed by the tests; the count of threads is. */
            preply(0);
            break;
        }
        case P_LEADER_EXIT: {
            pthread_t t;
            pthread_create(&t, NULL, loop_thread, NULL);
            preply(0);
            pthread_exit(NULL);
        }
        case P_EXIT:
            _exit(m.arg);
        case P_LAST_EXIT:
            pthread_exit(NULL);
        case P_WAIT:
            preply(waitpid(m.arg, NULL, 0));
            break;
        case P_FIRST_LOOKUP:
            preply(first_lookup);
            break;
        case P_FORK_EXIT:
            for (int i = 0; i < m.arg; i++) {
                pid_t c = fork();
                if (c == 0)
                    _exit(0);
                waitpid(c, NULL, 0);
            }
            preply(0);
            break;
        default:
            _exit(5);
        }
    }
}

/* Call first in main: runs the puppet when re-executed as one (it has no lifecycle object
 * then: its children cannot look themselves up). */
static inline void puppet_main_hook(int argc, char **argv)
{
    g_argv0 = argv[0];
    if (argc == 3 && strcmp(argv[1], "--puppet") == 0) {
        slots_at_fixed_fds();
        const char *tp = getenv("BPFMM_LC_TEST_PID");
        test_pid = tp ? atoi(tp) : getppid();
        my_slot = atoi(argv[2]);
        preply(getpid()); /* the exec is done */
        puppet_loop();
    }
}

/* Sends a command; with want_reply, returns the reply (the test fails if the puppet died). */
static inline int pcmd(int slot, int cmd, int arg, bool want_reply)
{
    struct pmsg m = {cmd, arg};
    CHECK_EQ(write(slots[slot].cmd[1], &m, sizeof(m)), (ssize_t)sizeof(m));
    if (!want_reply)
        return 0;
    int v;
    struct pollfd p = {.fd = slots[slot].reply[0], .events = POLLIN};
    CHECK_MSG(poll(&p, 1, 30000) == 1, "puppet in slot %d did not answer command %d", slot, cmd);
    CHECK_EQ(read(slots[slot].reply[0], &v, sizeof(v)), (ssize_t)sizeof(v));
    return v;
}

/* Forks a puppet from the test process itself. */
static inline pid_t puppet_spawn(int slot)
{
    pid_t c = fork();
    CHECK_GE(c, 0);
    if (c == 0) {
        uint32_t id = 0;
        int e = g_lc ? live_lifecycle_lookup(g_lc, getpid(), &id) : -ENOENT;
        first_lookup = e ? e : (int)id;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        my_slot = slot;
        puppet_loop();
    }
    return c;
}

/* --- events ------------------------------------------------------------------------------- */

static struct live_lc_event evs[MAX_EVS];
static int nevs;

static inline void record(void *arg, const struct live_lc_event *ev)
{
    if (nevs < MAX_EVS)
        evs[nevs++] = *ev;
    /* The pidfd must name the event's process: its pid is in the fdinfo. */
    if (ev->pidfd >= 0) {
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ev->pidfd);
        FILE *f = fopen(path, "r");
        CHECK(f);
        int pid = 0;
        while (fgets(buf, sizeof(buf), f))
            if (sscanf(buf, "Pid: %d", &pid) == 1)
                break;
        fclose(f);
        /* Pid: -1 once the process has been reaped. */
        CHECK_MSG(pid == ev->tgid || pid == -1, "event pidfd names pid %d, not %d", pid,
                  (int)ev->tgid);
    }
}

static inline int find_ev(enum live_lc_event_type type, pid_t tgid)
{
    for (int i = 0; i < nevs; i++)
        if (evs[i].type == type && evs[i].tgid == tgid)
            return i;
    return -1;
}

static inline uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls the lifecycle until the event arrives (at most 10 s: a missing event is a failure,
 * not a slow one). Returns its index. */
static inline int wait_ev(enum live_lc_event_type type, pid_t tgid)
{
    uint64_t end = mono_ms() + 10000;
    for (;;) {
        int i = find_ev(type, tgid);
        if (i >= 0)
            return i;
        CHECK_MSG(mono_ms() < end, "no %s event for %d (mode: %s)", live_lc_event_name(type),
                  (int)tgid, live_lifecycle_describe(g_lc));
        CHECK_GE(live_lifecycle_poll(g_lc, 100), 0);
    }
}

/* Polls for a while (no event is expected) and returns. */
static inline void settle(int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (mono_ms() < end)
        CHECK_GE(live_lifecycle_poll(g_lc, 20), 0);
}

static inline void expect_managed_by(pid_t tgid, uint32_t id)
{
    uint32_t got = 0;
    int r = live_lifecycle_lookup(g_lc, tgid, &got);
    CHECK_MSG(r == 0, "pid %d should be managed (lookup: %d)", (int)tgid, r);
    CHECK_EQ(got, id);
}

static inline void expect_not_managed(pid_t tgid)
{
    uint32_t got = 0;
    int r = live_lifecycle_lookup(g_lc, tgid, &got);
    CHECK_MSG(r == -ENOENT, "pid %d should not be managed (lookup: %d, policy %u)", (int)tgid, r,
              got);
}

/* Opens the lifecycle in the mode named by argv ("bpf", "procconn"; "legacy": BPF with the
 * pre-6.16 exit detection), skipping when it cannot run here. */
static inline live_lifecycle_t *open_mode(int argc, char **argv, struct live_lifecycle_opts *o)
{
    const char *mode = argc > 1 ? argv[1] : "bpf";
    char err[512] = "";
    test_require_root("the lifecycle programs and the proc connector need root");
    o->sz = sizeof(*o);
    if (!o->on_event)
        o->on_event = record;
    if (strcmp(mode, "procconn") == 0) {
        o->mode = LIVE_LC_PROCCONN;
    } else {
        o->mode = LIVE_LC_BPF;
        o->legacy_exit = strcmp(mode, "legacy") == 0;
    }
    live_lifecycle_t *lc = live_lifecycle_open(o, err, sizeof(err));
    if (!lc && o->mode == LIVE_LC_BPF)
        test_skip("BPF lifecycle unavailable: %s", err);
    CHECK_MSG(lc, "open (%s): %s", mode, err);
    if (o->mode == LIVE_LC_BPF)
        CHECK_STR_CONTAINS(live_lifecycle_describe(lc),
                           o->legacy_exit ? "signal->live" : "group_dead");
    else
        CHECK_STR_CONTAINS(live_lifecycle_describe(lc), "proc connector");
    g_lc = lc;
    return lc;
}

static inline bool is_bpf(void)
{
    return live_lifecycle_mode(g_lc) == LIVE_LC_BPF;
}

/* The state letter of /proc/PID/task/TID/stat ('?' if it cannot be read). */
static inline char task_state(pid_t pid, pid_t tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    char st = '?';
    if (fgets(buf, sizeof(buf), f)) {
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ')
            st = p[2];
    }
    fclose(f);
    return st;
}

#endif
