/*
 * The live backend's OS layer: every raw Linux call the agent makes (pidfds, process_madvise,
 * /proc and sysfs files, the PAGEMAP_SCAN and PROCMAP_QUERY ioctls, prctl, uname, capget,
 * memory and child processes for probes, the file-system identity for opening a client's
 * file, the clock) goes through one table of function pointers, so that the logic above it
 * (probe, proc, vma, smaps, scan, and the agent's decide/act/budget) can be tested with a
 * fake. This header owns the table's contract and a
 * few helpers built only on the table; os_linux.c owns the real implementation.
 *
 * Conventions of every entry: the shape of the Linux call it stands for, but failures return
 * a negative errno (never -1 with errno), except mmap_anon which returns NULL and sets errno.
 * No entry keeps state; a fake may keep its own in globals.
 *
 * Replacing entries in a test:
 *     static struct live_os fake;
 *     fake = live_os_linux;                  // start from the real one
 *     fake.pagemap_scan = my_canned_scan;    // override what the test controls
 *     ... my_canned_scan may call live_os_linux.pagemap_scan to wrap the real call.
 */
#ifndef BPFMM_LIVE_OS_H
#define BPFMM_LIVE_OS_H

#include "live_uapi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>

struct live_os {
    const char *name; /* "linux", or the fake's name (messages) */

    /* --- processes --- */
    /* pidfd_open(2): a pidfd for pid, or -ESRCH (no such process), -EINVAL, -EMFILE... */
    int (*pidfd_open)(pid_t pid, unsigned int flags);
    /* pidfd_send_signal(2) with info NULL, flags 0. sig 0 checks that the process exists
     * (a zombie still exists: its pid cannot be reused until it is reaped). */
    int (*pidfd_send_signal)(int pidfd, int sig);
    /* process_madvise(2): bytes advised, or -errno (EAGAIN, ENOMEM, EINVAL, ESRCH, EPERM,
     * EACCES, EBUSY... see ../shared/reference/linux-thp.md). */
    ssize_t (*process_madvise)(int pidfd, const struct iovec *iov, size_t n, int advice,
                               unsigned int flags);

    /* --- files (/proc/PID/{maps,smaps,smaps_rollup,status,stat,statm,pagemap,clear_refs},
     *     /proc/PID directories, sysfs) --- */
    int (*open)(const char *path, int flags); /* O_CLOEXEC is added; returns an fd */
    int (*openat)(int dirfd, const char *name, int flags);
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off); /* pagemap, kpageflags */
    ssize_t (*write)(int fd, const void *buf, size_t n);      /* clear_refs */
    int (*close)(int fd);
    /* statfs(2)'s f_type for a path (e.g. /proc/PID/map_files/A-B: is it tmpfs?). */
    int (*statfs_type)(const char *path, uint64_t *type);

    /* --- ioctls --- */
    /* PAGEMAP_SCAN on a /proc/PID/pagemap fd: the number of regions written, or -errno. */
    int (*pagemap_scan)(int pagemap_fd, struct pm_scan_arg *arg);
    /* PROCMAP_QUERY on a /proc/PID/maps fd: 0, -ENOENT (no VMA there), -ENOTTY (no ioctl). */
    int (*procmap_query)(int maps_fd, struct procmap_query *q);

    /* --- the calling process --- */
    int (*prctl)(int op, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
    int (*uname)(struct utsname *u);
    /* Effective capabilities of the calling thread as a bit mask (bit n = capability n). */
    int (*capget_effective)(uint64_t *caps);
    uid_t (*geteuid)(void);

    /* --- file access on another user's behalf (the daemon loads a client's policy file) ---
     * Sets the calling thread's file-system identity - fsuid, fsgid, supplementary groups -
     * so that the kernel checks its opens as that user's. Only this thread changes (raw
     * syscalls: glibc's setgroups would change every thread). 0, or -EPERM when the caller
     * may not (not root), with nothing changed that matters. */
    int (*fs_identity_set)(uid_t uid, gid_t gid, const gid_t *groups, int nr_groups);
    /* getgroups(2): the number of supplementary groups written, or -errno. */
    int (*getgroups)(gid_t *groups, int max);
    /* fstat(2)'s owner of an open file. For a file in /proc/PID: the process's effective ids,
     * or root's when it is not dumpable (the kernel's task_dump_owner; the directory itself
     * keeps the effective ids). */
    int (*fstat_owner)(int fd, uid_t *uid, gid_t *gid);

    /* --- memory of our own (feature probes) --- */
    void *(*mmap_anon)(size_t len); /* private anonymous read-write; NULL + errno */
    int (*munmap)(void *addr, size_t len);
    int (*madvise)(void *addr, size_t len, int advice);

    /* --- children (feature probes that must not change the agent's own state) --- */
    pid_t (*fork)(void);                    /* as fork(2), -errno on failure */
    int (*waitpid)(pid_t pid, int *status); /* blocking; the child's pid or -errno */
    void (*exit_child)(int code);           /* _exit(2) in a forked child */
    int (*pipe)(int fds[2]);                /* O_CLOEXEC pipe */

    /* --- time --- */
    uint64_t (*now_ns)(void); /* CLOCK_MONOTONIC */
};

/* The real thing. */
extern const struct live_os live_os_linux;

/* --- helpers built on the table ------------------------------------------------------------ */

/* A growable byte buffer; always NUL-terminated after a successful read. */
struct live_buf {
    char *data;
    size_t len, cap;
};
void live_buf_free(struct live_buf *b);
/* Makes room for at least n more bytes; -ENOMEM. */
int live_buf_reserve(struct live_buf *b, size_t n);

/* Reads fd from its current position to EOF into b (replacing its contents). -errno. */
int live_os_read_all(const struct live_os *os, int fd, struct live_buf *b);
/* open + read_all + close. */
int live_os_read_path(const struct live_os *os, const char *path, struct live_buf *b);
/* Reads a small file (sysfs values) into buf, without the trailing newline. Returns the length
 * or -errno (-ENAMETOOLONG if it does not fit). */
int live_os_read_small(const struct live_os *os, const char *path, char *buf, size_t size);
/* Reads a small file holding one unsigned integer. */
int live_os_read_u64(const struct live_os *os, const char *path, uint64_t *val);

/* The symbolic name of an errno value ("ESRCH"), or "E?" for unknown ones. */
const char *live_errno_name(int err);

#endif
