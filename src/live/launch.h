/*
 * `bpfmm run`'s launcher: starts a command that is already governed by a policy when its first
 * instruction runs. The child is forked first and waits on a pipe; the parent attaches the
 * policy to it (through a running agent, or an in-process one), then releases it and the child
 * execs. Every page CMD faults and every child it forks is therefore managed.
 *
 * Fault-time decisions (type PAGEFAULT) cannot be enforced per VMA on stock kernels. What the
 * kernel does offer for a launched process is decided here, once, before exec: the policy is
 * asked with type PAGEFAULT about a generic anonymous VMA; if it allows no THP at fault, the
 * child sets prctl(PR_SET_THP_DISABLE) before exec - with PR_THP_DISABLE_EXCEPT_ADVISED (Linux
 * 6.18, probed) when the policy still allows collapse (MADV_COLLAPSE keeps working), or fully
 * when it allows no collapse either. Both are inherited across fork and exec, and last for the
 * life of the process tree: that is by design, the one lasting change `bpfmm run` makes.
 *
 * Owns: the THP-at-launch decision, the fork/wait/exec handshake, exit-status mapping and
 * signal forwarding to the child. Calls fork, pipe and prctl through the OS layer; execvp,
 * waitid and signal masks directly (they concern the launcher itself, not a target).
 */
#ifndef BPFMM_LIVE_LAUNCH_H
#define BPFMM_LIVE_LAUNCH_H

#include "os.h"
#include "probe.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum live_launch_thp_mode {
    LIVE_LAUNCH_THP_KEEP = 0,           /* no prctl: the kernel's settings decide at fault */
    LIVE_LAUNCH_THP_EXCEPT_ADVISED = 1, /* PR_SET_THP_DISABLE, PR_THP_DISABLE_EXCEPT_ADVISED */
    LIVE_LAUNCH_THP_DISABLE = 2,        /* PR_SET_THP_DISABLE, 0: no THP at all */
};

struct live_launch_thp {
    enum live_launch_thp_mode mode;
    uint64_t fault_orders; /* the policy's answer for a page fault */
    bool collapse_allowed; /* it allows the PMD order for KHUGEPAGED or FORCED_COLLAPSE */
    char why[384];         /* one line for the user */
};

/* Asks the policy (shipped name or path, rodata knobs) for the launch decision. comm: the
 * command's name as the kernel will show it (first 15 bytes of argv[0]'s base name). */
int live_launch_thp_decide(const char *policy, const char *const *rodata, unsigned nr_rodata,
                           const char *comm, const struct live_features *f,
                           struct live_launch_thp *out, char *err, size_t err_size);
const char *live_launch_thp_mode_name(enum live_launch_thp_mode m);

struct live_launch {
    pid_t pid;
    int pidfd;   /* the child's pidfd */
    int go_fd;   /* write end: one byte releases the child */
    int exec_fd; /* read end: EOF when exec succeeded, else the failure */
    const struct live_os *os;
};

/* Forks the child, which applies the THP mode and waits for live_launch_release. argv is
 * NULL-terminated; argv[0] is looked up in PATH. 0 or -errno with a message. */
int live_launch_start(const struct live_os *os, char *const argv[], enum live_launch_thp_mode mode,
                      struct live_launch *l, char *err, size_t err_size);
/* Lets the child exec. Returns 0 once the exec has succeeded, or -errno (ENOENT, EACCES...)
 * with a message when it failed (the child has then exited with 127 or 126). */
int live_launch_release(struct live_launch *l, char *err, size_t err_size);
/* Kills and reaps a child that was never released. */
void live_launch_abort(struct live_launch *l);
/* Reaps the child (blocking) and returns its exit status, or 128 + N for a death by signal
 * N. Closes the descriptors. */
int live_launch_reap(struct live_launch *l);
/* Waits for the child while forwarding SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 and SIGINT/SIGQUIT
 * sent with kill(2) (a terminal's ^C/^\ already reaches the child), then reaps it. */
int live_launch_wait(struct live_launch *l);

/* Sends sig to the process behind pidfd (no-op for pidfd < 0). */
void live_launch_forward(int pidfd, int sig);

#endif
