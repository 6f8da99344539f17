/*
 * The real struct lc_sys (lifecycle_core.h) and the /proc readings the lifecycle backends
 * need: pidfds through the OS layer (os.h), /proc/PID/stat, a process's children, its thread
 * group id, and whether its whole thread group is exiting. Owns the parsing of those files and
 * nothing else; the netlink socket is procconn.c's, the bpf() calls lifecycle_bpf.c's.
 */
#include "lifecycle_sys.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_EXITING_FLAG 0x00000004ul /* include/linux/sched.h PF_EXITING */

static const struct live_os *os_of(void *arg)
{
    return arg ? arg : &live_os_linux;
}

static int sys_pidfd_open(void *arg, pid_t pid)
{
    return os_of(arg)->pidfd_open(pid, 0);
}

static int sys_pidfd_alive(void *arg, int pidfd)
{
    int r = os_of(arg)->pidfd_send_signal(pidfd, 0);
    if (r == 0 || r == -EPERM) /* EPERM: exists, we may just not signal it */
        return 1;
    return r == -ESRCH ? 0 : r;
}

static void sys_close(void *arg, int fd)
{
    os_of(arg)->close(fd);
}

/* Parses the fields after "(comm)" of a /proc/.../stat line. */
static int parse_stat(const char *line, struct lc_stat *st)
{
    const char *p = strrchr(line, ')');
    if (!p)
        return -EINVAL;
    p++;
    /* Fields 3.. : state ppid pgrp session tty_nr tpgid flags ... starttime is field 22. */
    char *end;
    unsigned long long v[20];
    int field = 3;
    while (*p == ' ')
        p++;
    if (!*p)
        return -EINVAL;
    p++; /* state */
    for (int i = 0; field < 22; i++) {
        field++;
        v[i] = strtoull(p, &end, 10);
        if (end == p)
            return -EINVAL;
        p = end;
    }
    st->ppid = (pid_t)v[0];
    st->flags = (unsigned long)v[5];
    st->start_ticks = v[18];
    return 0;
}

int lc_sys_stat_path(const struct live_os *os, const char *path, struct lc_stat *st)
{
    char buf[1024];
    int n = live_os_read_small(os, path, buf, sizeof(buf));
    if (n < 0)
        return n == -ENOENT ? -ESRCH : n;
    return parse_stat(buf, st);
}

static int sys_stat(void *arg, pid_t pid, struct lc_stat *st)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return lc_sys_stat_path(os_of(arg), path, st);
}

/* Appends the pids listed in text (space-separated) to out. */
static void add_pids(const char *text, pid_t *out, size_t cap, size_t *n)
{
    const char *p = text;
    char *end;
    for (;;) {
        while (*p == ' ' || *p == '\n')
            p++;
        long v = strtol(p, &end, 10);
        if (end == p)
            return;
        if (*n < cap)
            out[*n] = (pid_t)v;
        (*n)++;
        p = end;
    }
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Without CONFIG_PROC_CHILDREN: every process whose parent is pid. */
static int children_by_scan(const struct live_os *os, pid_t pid, pid_t *out, size_t cap)
{
    DIR *d = opendir("/proc");
    size_t n = 0;
    if (!d)
        return -errno;
    for (struct dirent *de; (de = readdir(d));) {
        if (!all_digits(de->d_name))
            continue;
        char path[300];
        struct lc_stat st;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if (lc_sys_stat_path(os, path, &st) == 0 && st.ppid == pid) {
            if (n < cap)
                out[n] = (pid_t)atoi(de->d_name);
            n++;
        }
    }
    closedir(d);
    return (int)n;
}

bool lc_sys_have_children_file(void)
{
    /* CONFIG_PROC_CHILDREN; the answer cannot change while we run. */
    static int have = -1;
    if (have < 0)
        have = access("/proc/thread-self/children", F_OK) == 0;
    return have;
}

int lc_sys_children(const struct live_os *os, pid_t pid, pid_t *out, size_t cap, bool scan)
{
    char path[320];
    if (scan || !lc_sys_have_children_file())
        return children_by_scan(os, pid, out, cap);
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? -ESRCH : -errno;
    size_t n = 0;
    struct live_buf b = {0};
    for (struct dirent *de; (de = readdir(d));) {
        if (!all_digits(de->d_name))
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, de->d_name);
        /* A thread that exits meanwhile has no children left to report. */
        if (live_os_read_path(os, path, &b) == 0)
            add_pids(b.data, out, cap, &n);
    }
    closedir(d);
    live_buf_free(&b);
    return (int)n;
}

static int sys_children(void *arg, pid_t pid, pid_t *out, size_t cap)
{
    return lc_sys_children(os_of(arg), pid, out, cap, false);
}

int lc_sys_tgid_of(const struct live_os *os, pid_t tid)
{
    char path[64];
    struct live_buf b = {0};
    snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
    int r = live_os_read_path(os, path, &b);
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    const char *p = strstr(b.data, "\nTgid:");
    r = p ? atoi(p + 6) : -EINVAL;
    live_buf_free(&b);
    return r > 0 ? r : -EINVAL;
}

int lc_sys_group_exiting(const struct live_os *os, pid_t pid)
{
    char path[320];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 1 : -errno;
    int exiting = 1;
    for (struct dirent *de; (de = readdir(d));) {
        struct lc_stat st;
        if (!all_digits(de->d_name))
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
        if (lc_sys_stat_path(os, path, &st) == 0 && !(st.flags & PF_EXITING_FLAG)) {
            exiting = 0;
            break;
        }
    }
    closedir(d);
    return exiting;
}

void lc_sys_init(struct lc_sys *sys, const struct live_os *os)
{
    memset(sys, 0, sizeof(*sys));
    sys->arg = (void *)os;
    sys->pidfd_open = sys_pidfd_open;
    sys->pidfd_alive = sys_pidfd_alive;
    sys->close_fd = sys_close;
    sys->stat = sys_stat;
    sys->children = sys_children;
    long tps = sysconf(_SC_CLK_TCK);
    sys->ticks_per_sec = tps > 0 ? (uint64_t)tps : 100;
}
