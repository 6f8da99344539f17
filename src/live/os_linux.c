/*
 * The real OS layer (live_os_linux): thin wrappers that turn each Linux call into the
 * table's convention (negative errno). Owns nothing but the mapping; no retries, no policy.
 * The generic helpers over the table (read_all, read_small...) are os.c's.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ret_errno(long r)
{
    return r < 0 ? -errno : (int)r;
}

static int lx_pidfd_open(pid_t pid, unsigned int flags)
{
    return ret_errno(syscall(SYS_pidfd_open, pid, flags));
}

static int lx_pidfd_send_signal(int pidfd, int sig)
{
    return ret_errno(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
}

static ssize_t lx_process_madvise(int pidfd, const struct iovec *iov, size_t n, int advice,
                                  unsigned int flags)
{
    long r = syscall(SYS_process_madvise, pidfd, iov, n, advice, flags);
    return r < 0 ? -errno : r;
}

static int lx_open(const char *path, int flags)
{
    return ret_errno(open(path, flags | O_CLOEXEC));
}

static int lx_openat(int dirfd, const char *name, int flags)
{
    return ret_errno(openat(dirfd, name, flags | O_CLOEXEC));
}

static ssize_t lx_read(int fd, void *buf, size_t n)
{
    ssize_t r = read(fd, buf, n);
    return r < 0 ? -errno : r;
}

static ssize_t lx_pread(int fd, void *buf, size_t n, off_t off)
{
    ssize_t r = pread(fd, buf, n, off);
    return r < 0 ? -errno : r;
}

static ssize_t lx_write(int fd, const void *buf, size_t n)
{
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

static int lx_close(int fd)
{
    return ret_errno(close(fd));
}

static int lx_statfs_type(const char *path, uint64_t *type)
{
    struct statfs st;
    if (statfs(path, &st) < 0)
        return -errno;
    *type = (uint64_t)st.f_type;
    return 0;
}

static int lx_pagemap_scan(int fd, struct pm_scan_arg *arg)
{
    return ret_errno(ioctl(fd, PAGEMAP_SCAN, arg));
}

static int lx_procmap_query(int fd, struct procmap_query *q)
{
    return ret_errno(ioctl(fd, PROCMAP_QUERY, q));
}

static int lx_prctl(int op, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
    return ret_errno(prctl(op, a2, a3, a4, a5));
}

static int lx_uname(struct utsname *u)
{
    return ret_errno(uname(u));
}

static int lx_capget_effective(uint64_t *caps)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -errno;
    *caps = (uint64_t)data[0].effective | (uint64_t)data[1].effective << 32;
    return 0;
}

static uid_t lx_geteuid(void)
{
    return geteuid();
}

static void *lx_mmap_anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int lx_munmap(void *addr, size_t len)
{
    return ret_errno(munmap(addr, len));
}

static int lx_madvise(void *addr, size_t len, int advice)
{
    return ret_errno(madvise(addr, len, advice));
}

static pid_t lx_fork(void)
{
    pid_t p = fork();
    return p < 0 ? -errno : p;
}

static int lx_waitpid(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, 0);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static void lx_exit_child(int code)
{
    _exit(code);
}

static int lx_pipe(int fds[2])
{
    return ret_errno(pipe2(fds, O_CLOEXEC));
}

static uint64_t lx_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int lx_fs_identity_set(uid_t uid, gid_t gid, const gid_t *groups, int nr_groups)
{
    if (syscall(SYS_setgroups, (size_t)nr_groups, groups))
        return -errno;
    /* setfsuid/setfsgid report failure only by not changing: ask again with -1 (no change). */
    syscall(SYS_setfsgid, gid);
    syscall(SYS_setfsuid, uid);
    if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid ||
        (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid)
        return -EPERM;
    return 0;
}

static int lx_getgroups(gid_t *groups, int max)
{
    int n = getgroups(max, groups);
    return n < 0 ? -errno : n;
}

static int lx_fstat_owner(int fd, uid_t *uid, gid_t *gid)
{
    struct stat sb;
    if (fstat(fd, &sb))
        return -errno;
    *uid = sb.st_uid;
    *gid = sb.st_gid;
    return 0;
}

const struct live_os live_os_linux = {
    .name = "linux",
    .pidfd_open = lx_pidfd_open,
    .pidfd_send_signal = lx_pidfd_send_signal,
    .process_madvise = lx_process_madvise,
    .open = lx_open,
    .openat = lx_openat,
    .read = lx_read,
    .pread = lx_pread,
    .write = lx_write,
    .close = lx_close,
    .statfs_type = lx_statfs_type,
    .pagemap_scan = lx_pagemap_scan,
    .procmap_query = lx_procmap_query,
    .prctl = lx_prctl,
    .uname = lx_uname,
    .capget_effective = lx_capget_effective,
    .geteuid = lx_geteuid,
    .fs_identity_set = lx_fs_identity_set,
    .getgroups = lx_getgroups,
    .fstat_owner = lx_fstat_owner,
    .mmap_anon = lx_mmap_anon,
    .munmap = lx_munmap,
    .madvise = lx_madvise,
    .fork = lx_fork,
    .waitpid = lx_waitpid,
    .exit_child = lx_exit_child,
    .pipe = lx_pipe,
    .now_ns = lx_now_ns,
};
