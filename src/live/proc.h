/*
 * Per-process handles of the live backend. A handle pins the identity of one process: a pidfd
 * (process_madvise acts through it, so pid reuse can never redirect an action) and a
 * /proc/PID directory fd opened while the pidfd was known to refer to a live process (every
 * later /proc file is opened relative to it, so it too can never reach a newer process under
 * the same pid). The pagemap and maps fds bind to the target's address space when opened;
 * after the target execs they fail with ESRCH: the handle reopens them once, counts the exec
 * (image_gen), and retries. Errors are per process, with a message saying what to do.
 *
 * Owns: opening and identity, liveness, the mm-bound fds and their reopening, reading small
 * /proc files (stat, statm, status, comm), per-process error messages. Not: parsing maps or
 * smaps (vma.c, smaps.c), scanning (scan.c), deciding or acting (the agent).
 */
#ifndef BPFMM_LIVE_PROC_H
#define BPFMM_LIVE_PROC_H

#include "os.h"

#include <bpfmm/thp_policy.h>
#include <stdbool.h>
#include <stdint.h>

struct live_proc {
    const struct live_os *os;
    pid_t pid;           /* the tgid */
    int pidfd;           /* always valid while the handle is open */
    int dirfd;           /* /proc/PID */
    int pagemap_fd;      /* lazily opened, -1 until then */
    int maps_fd;         /* lazily opened (PROCMAP_QUERY), -1 until then */
    uint64_t start_time; /* /proc/PID/stat starttime (clock ticks after boot) */
    char comm[BPFMM_COMM_LEN];
    unsigned image_gen; /* execs noticed since open (0 at open) */
    int err;            /* last failure (negative errno), 0 if none */
    char errmsg[256];   /* what failed, why, and what to do */
};

/* Opens a handle on process pid (a tgid). expect_start_time: when non-zero, the process's
 * stat starttime must match it (a caller that learned the pid from an event with the start
 * time detects pid reuse). Returns NULL and sets errno: ESRCH (no such process, or the pid now
 * belongs to another process), EACCES/EPERM (not permitted), EINVAL (pid <= 0), EMFILE...
 * When msg is not NULL it receives the explanation. */
struct live_proc *live_proc_open(const struct live_os *os, pid_t pid, uint64_t expect_start_time,
                                 char *msg, size_t msg_size);
void live_proc_close(struct live_proc *p);

/* 0 if the process still exists (running or zombie), -ESRCH if it is gone. */
int live_proc_alive(struct live_proc *p);

/* Records err (negative errno) as the process's last failure with a message for `what`
 * ("read its memory map", "collapse"...). Returns err. */
int live_proc_fail(struct live_proc *p, int err, const char *what);
/* The last failure's message ("" if none). */
const char *live_proc_error(const struct live_proc *p);
/* What to do about err, for messages: "the process exited", "run as root or ...". */
const char *live_proc_err_hint(int err);

/* Opens /proc/PID/<name> relative to the handle's directory. ENOENT for a process that has
 * gone is reported as -ESRCH. */
int live_proc_openat(struct live_proc *p, const char *name, int flags);
/* Reads all of /proc/PID/<name> into b. */
int live_proc_read(struct live_proc *p, const char *name, struct live_buf *b);
/* Writes a string to /proc/PID/<name> (clear_refs). */
int live_proc_write(struct live_proc *p, const char *name, const char *text);
/* The owner of the files in /proc/PID: the process's effective uid and gid, or root's when it
 * is not dumpable (PR_SET_DUMPABLE 0, or a credential change) - Linux then refuses ptrace-mode
 * reads to anyone but a CAP_SYS_PTRACE holder. */
int live_proc_owner(struct live_proc *p, uid_t *uid, gid_t *gid);

/* The pagemap fd (opened on first use). -errno. */
int live_proc_pagemap_fd(struct live_proc *p);
/* PAGEMAP_SCAN / pread on pagemap / PROCMAP_QUERY with the exec rule: on ESRCH from a live
 * process, reopen the fd, bump image_gen and retry once. Results as the OS layer's. */
int live_proc_pagemap_scan(struct live_proc *p, struct pm_scan_arg *arg);
ssize_t live_proc_pagemap_pread(struct live_proc *p, void *buf, size_t n, off_t off);
int live_proc_procmap_query(struct live_proc *p, struct procmap_query *q);

/* process_madvise through the pidfd; records a per-process error on failure. */
ssize_t live_proc_madvise(struct live_proc *p, const struct iovec *iov, size_t n, int advice);

/* Re-reads comm (it changes at exec). */
int live_proc_refresh_comm(struct live_proc *p);

/* /proc/PID/statm: cheap change signals. All in pages. */
struct live_statm {
    uint64_t size, resident, shared, text, data;
};
int live_proc_statm(struct live_proc *p, struct live_statm *st);

/* /proc/PID/status memory lines, in bytes (0 where absent). */
struct live_status_mem {
    uint64_t rss_anon, rss_file, rss_shmem, vm_swap, vm_rss;
    uint32_t threads;
};
int live_proc_status_mem(struct live_proc *p, struct live_status_mem *st);

/* Parses the starttime and comm out of a /proc/PID/stat line (comm may hold spaces and
 * parentheses). Exposed for tests. */
int live_parse_stat(const char *text, char *comm, size_t comm_size, uint64_t *start_time);

#endif
