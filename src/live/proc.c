/*
 * Process handles (see proc.h): pidfd + /proc/PID directory fd with an identity check, the
 * mm-bound pagemap and maps fds reopened once after an exec, small /proc files, and
 * per-process error messages. All system calls go through the OS layer.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *live_proc_err_hint(int err)
{
    switch (err < 0 ? -err : err) {
    case ESRCH:
        return "the process has exited (or its pid now belongs to another process)";
    case EACCES:
    case EPERM:
        return "run as root, or with CAP_SYS_PTRACE (to read its memory map) and CAP_SYS_NICE "
               "(to collapse); without CAP_SYS_PTRACE only your own processes are allowed, and "
               "kernel.yama.ptrace_scope may restrict that further";
    case EMFILE:
    case ENFILE:
        return "too many open files: raise the limit (ulimit -n)";
    case ENOMEM:
        return "out of memory";
    case ENOTTY:
        return "this kernel lacks the ioctl";
    default:
        return "unexpected error";
    }
}

int live_proc_fail(struct live_proc *p, int err, const char *what)
{
    p->err = err;
    snprintf(p->errmsg, sizeof(p->errmsg), "process %d (%s): cannot %s: %s (%s)", (int)p->pid,
             p->comm[0] ? p->comm : "?", what, live_errno_name(err), live_proc_err_hint(err));
    return err;
}

const char *live_proc_error(const struct live_proc *p)
{
    return p->errmsg;
}

int live_parse_stat(const char *text, char *comm, size_t comm_size, uint64_t *start_time)
{
    /* "pid (comm) S ppid ...": comm is whatever lies between the first '(' and the last ')'. */
    const char *l = strchr(text, '('), *r = strrchr(text, ')');
    if (!l || !r || r < l)
        return -EINVAL;
    if (comm && comm_size) {
        size_t n = (size_t)(r - l - 1);
        if (n >= comm_size)
            n = comm_size - 1;
        memcpy(comm, l + 1, n);
        comm[n] = 0;
    }
    /* After ") " come fields 3.. ; starttime is field 22, i.e. the 20th after the comm. */
    const char *s = r + 1;
    for (int field = 3; field < 22; field++) {
        while (*s == ' ')
            s++;
        while (*s && *s != ' ')
            s++;
        if (!*s)
            return -EINVAL;
    }
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return -EINVAL;
    if (start_time)
        *start_time = v;
    return 0;
}

int live_proc_alive(struct live_proc *p)
{
    int r = p->os->pidfd_send_signal(p->pidfd, 0);
    /* EPERM: it exists, we may just not signal it (no CAP_KILL for another user's process). */
    return r == 0 || r == -EPERM ? 0 : -ESRCH;
}

int live_proc_openat(struct live_proc *p, const char *name, int flags)
{
    int fd = p->os->openat(p->dirfd, name, flags);
    if (fd == -ENOENT && live_proc_alive(p) == -ESRCH)
        fd = -ESRCH;
    return fd;
}

int live_proc_owner(struct live_proc *p, uid_t *uid, gid_t *gid)
{
    /* A file, not the directory: /proc/PID itself keeps the effective ids either way. */
    int fd = live_proc_openat(p, "stat", O_RDONLY);
    if (fd < 0)
        return fd;
    int r = p->os->fstat_owner(fd, uid, gid);
    p->os->close(fd);
    return r;
}

int live_proc_read(struct live_proc *p, const char *name, struct live_buf *b)
{
    int fd = live_proc_openat(p, name, O_RDONLY);
    if (fd < 0)
        return fd;
    int err = live_os_read_all(p->os, fd, b);
    p->os->close(fd);
    return err;
}

int live_proc_write(struct live_proc *p, const char *name, const char *text)
{
    int fd = live_proc_openat(p, name, O_WRONLY);
    if (fd < 0)
        return fd;
    size_t n = strlen(text);
    ssize_t r = p->os->write(fd, text, n);
    p->os->close(fd);
    return r < 0 ? (int)r : (r == (ssize_t)n ? 0 : -EIO);
}

/* Reads a small /proc/PID file (one read) into buf, NUL-terminated: its length, or -errno. */
static ssize_t read_small(struct live_proc *p, const char *name, char *buf, size_t size)
{
    int fd = live_proc_openat(p, name, O_RDONLY);
    if (fd < 0)
        return fd;
    ssize_t n = p->os->read(fd, buf, size - 1);
    p->os->close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

static int read_stat(struct live_proc *p, uint64_t *start_time)
{
    char buf[1024];
    ssize_t n = read_small(p, "stat", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    return live_parse_stat(buf, p->comm, sizeof(p->comm), start_time);
}

struct live_proc *live_proc_open(const struct live_os *os, pid_t pid, uint64_t expect_start_time,
                                 char *msg, size_t msg_size)
{
    char tmp[8];
    if (!msg) {
        msg = tmp;
        msg_size = sizeof(tmp);
    }
    if (pid <= 0) {
        snprintf(msg, msg_size, "process id %d is not valid (must be > 0)", (int)pid);
        errno = EINVAL;
        return NULL;
    }
    struct live_proc *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(msg, msg_size, "process %d: out of memory", (int)pid);
        errno = ENOMEM;
        return NULL;
    }
    p->os = os;
    p->pid = pid;
    p->dirfd = p->pagemap_fd = p->maps_fd = -1;
    int err;
    p->pidfd = os->pidfd_open(pid, 0);
    if (p->pidfd < 0) {
        err = p->pidfd;
        goto fail;
    }
    char path[32];
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    p->dirfd = os->open(path, O_RDONLY | O_DIRECTORY);
    /* The directory is this process's only if the pidfd's process still exists now: a pid is
     * not reused before its process is reaped. */
    if (live_proc_alive(p) < 0) {
        err = -ESRCH;
        goto fail;
    }
    if (p->dirfd < 0) {
        err = p->dirfd == -ENOENT ? -ESRCH : p->dirfd;
        goto fail;
    }
    err = read_stat(p, &p->start_time);
    if (err)
        goto fail;
    if (expect_start_time && expect_start_time != p->start_time) {
        snprintf(msg, msg_size,
                 "process %d: the pid now belongs to another process (start time %llu, "
                 "expected %llu): the process you meant has exited",
                 (int)pid, (unsigned long long)p->start_time,
                 (unsigned long long)expect_start_time);
        errno = ESRCH;
        live_proc_close(p);
        return NULL;
    }
    return p;

fail:
    live_proc_fail(p, err, "open a handle on it");
    snprintf(msg, msg_size, "%s", p->errmsg);
    live_proc_close(p);
    errno = -err;
    return NULL;
}

void live_proc_close(struct live_proc *p)
{
    if (!p)
        return;
    if (p->pagemap_fd >= 0)
        p->os->close(p->pagemap_fd);
    if (p->maps_fd >= 0)
        p->os->close(p->maps_fd);
    if (p->dirfd >= 0)
        p->os->close(p->dirfd);
    if (p->pidfd >= 0)
        p->os->close(p->pidfd);
    free(p);
}

int live_proc_pagemap_fd(struct live_proc *p)
{
    if (p->pagemap_fd < 0)
        p->pagemap_fd = live_proc_openat(p, "pagemap", O_RDONLY);
    return p->pagemap_fd;
}

static int maps_fd(struct live_proc *p)
{
    if (p->maps_fd < 0)
        p->maps_fd = live_proc_openat(p, "maps", O_RDONLY);
    return p->maps_fd;
}

/* The target dropped the address space our fds were bound to. If it still exists it exec'd:
 * close every mm-bound fd (all are stale; counting the exec once), so the next use reopens
 * them on the new image. Returns 0 to retry, -ESRCH if the process is gone. */
static int reopen_after_exec(struct live_proc *p)
{
    if (live_proc_alive(p) < 0)
        return -ESRCH;
    if (p->pagemap_fd >= 0)
        p->os->close(p->pagemap_fd);
    if (p->maps_fd >= 0)
        p->os->close(p->maps_fd);
    p->pagemap_fd = p->maps_fd = -1;
    p->image_gen++;
    live_proc_refresh_comm(p);
    return 0;
}

int live_proc_pagemap_scan(struct live_proc *p, struct pm_scan_arg *arg)
{
    for (int attempt = 0;; attempt++) {
        int fd = live_proc_pagemap_fd(p);
        if (fd < 0)
            return live_proc_fail(p, fd, "open its pagemap");
        int r = p->os->pagemap_scan(fd, arg);
        if (r != -ESRCH || attempt || reopen_after_exec(p) < 0)
            return r < 0 ? live_proc_fail(p, r, "scan its page tables (PAGEMAP_SCAN)") : r;
    }
}

ssize_t live_proc_pagemap_pread(struct live_proc *p, void *buf, size_t n, off_t off)
{
    for (int attempt = 0;; attempt++) {
        int fd = live_proc_pagemap_fd(p);
        if (fd < 0)
            return live_proc_fail(p, fd, "open its pagemap");
        ssize_t r = p->os->pread(fd, buf, n, off);
        if (r != -ESRCH || attempt || reopen_after_exec(p) < 0)
            return r < 0 ? live_proc_fail(p, (int)r, "read its pagemap") : r;
    }
}

int live_proc_procmap_query(struct live_proc *p, struct procmap_query *q)
{
    for (int attempt = 0;; attempt++) {
        int fd = maps_fd(p);
        if (fd < 0)
            return live_proc_fail(p, fd, "open its maps");
        int r = p->os->procmap_query(fd, q);
        if (r != -ESRCH || attempt || reopen_after_exec(p) < 0)
            return r; /* -ENOENT ends an iteration: not a per-process failure */
    }
}

ssize_t live_proc_madvise(struct live_proc *p, const struct iovec *iov, size_t n, int advice)
{
    ssize_t r = p->os->process_madvise(p->pidfd, iov, n, advice, 0);
    if (r < 0)
        live_proc_fail(p, (int)r,
                       advice == MADV_COLLAPSE ? "collapse (process_madvise)"
                                               : "advise (process_madvise)");
    return r;
}

int live_proc_refresh_comm(struct live_proc *p)
{
    char buf[64];
    ssize_t n = read_small(p, "comm", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n >= (ssize_t)sizeof(p->comm))
        n = sizeof(p->comm) - 1;
    memcpy(p->comm, buf, (size_t)n);
    p->comm[n] = 0;
    return 0;
}

int live_proc_statm(struct live_proc *p, struct live_statm *st)
{
    char buf[256];
    ssize_t n = read_small(p, "statm", buf, sizeof(buf));
    if (n < 0)
        return (int)n;
    unsigned long long v[7];
    if (sscanf(buf, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6]) != 7)
        return -EINVAL;
    st->size = v[0];
    st->resident = v[1];
    st->shared = v[2];
    st->text = v[3];
    st->data = v[5];
    return 0;
}

int live_proc_status_mem(struct live_proc *p, struct live_status_mem *st)
{
    struct live_buf b = {0};
    int err = live_proc_read(p, "status", &b);
    if (err) {
        live_buf_free(&b);
        return err;
    }
    memset(st, 0, sizeof(*st));
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"RssAnon:", offsetof(struct live_status_mem, rss_anon)},
        {"RssFile:", offsetof(struct live_status_mem, rss_file)},
        {"RssShmem:", offsetof(struct live_status_mem, rss_shmem)},
        {"VmSwap:", offsetof(struct live_status_mem, vm_swap)},
        {"VmRSS:", offsetof(struct live_status_mem, vm_rss)},
    };
    for (char *line = b.data; line && *line;) {
        char *nl = strchr(line, '\n');
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            size_t kl = strlen(keys[i].key);
            if (!strncmp(line, keys[i].key, kl))
                *(uint64_t *)((char *)st + keys[i].off) = strtoull(line + kl, NULL, 10) << 10;
        }
        if (!strncmp(line, "Threads:", 8))
            st->threads = (uint32_t)strtoul(line + 8, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    live_buf_free(&b);
    return 0;
}
