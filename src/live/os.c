/*
 * Helpers over the OS layer table (os.h): growable buffers, whole-file and small-file reads,
 * errno names. They call only through a struct live_os, so fakes see every access. The real
 * table is os_linux.c's.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void live_buf_free(struct live_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int live_buf_reserve(struct live_buf *b, size_t n)
{
    if (b->cap - b->len > n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int live_os_read_all(const struct live_os *os, int fd, struct live_buf *b)
{
    b->len = 0;
    for (;;) {
        /* /proc files produce at most a page or so per read: ask for big chunks anyway, the
         * kernel fills what it can and the loop is short for small files. */
        int err = live_buf_reserve(b, 65536);
        if (err)
            return err;
        ssize_t r = os->read(fd, b->data + b->len, b->cap - b->len - 1);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return (int)r;
        if (r == 0)
            break;
        b->len += (size_t)r;
    }
    b->data[b->len] = 0;
    return 0;
}

int live_os_read_path(const struct live_os *os, const char *path, struct live_buf *b)
{
    int fd = os->open(path, O_RDONLY);
    if (fd < 0)
        return fd;
    int err = live_os_read_all(os, fd, b);
    os->close(fd);
    return err;
}

int live_os_read_small(const struct live_os *os, const char *path, char *buf, size_t size)
{
    if (size < 2)
        return -EINVAL;
    int fd = os->open(path, O_RDONLY);
    if (fd < 0)
        return fd;
    size_t len = 0;
    int err = 0;
    for (;;) {
        ssize_t r = os->read(fd, buf + len, size - 1 - len);
        if (r == -EINTR)
            continue;
        if (r < 0) {
            err = (int)r;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == size - 1) {
            char extra;
            if (os->read(fd, &extra, 1) > 0)
                err = -ENAMETOOLONG;
            break;
        }
    }
    os->close(fd);
    if (err)
        return err;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    buf[len] = 0;
    return (int)len;
}

int live_os_read_u64(const struct live_os *os, const char *path, uint64_t *val)
{
    char buf[64], *end;
    int n = live_os_read_small(os, path, buf, sizeof(buf));
    if (n < 0)
        return n;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf || errno || (*end && *end != '\n'))
        return -EINVAL;
    *val = v;
    return 0;
}

const char *live_errno_name(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "OK";
    case EPERM:
        return "EPERM";
    case ENOENT:
        return "ENOENT";
    case ESRCH:
        return "ESRCH";
    case EINTR:
        return "EINTR";
    case EIO:
        return "EIO";
    case EBADF:
        return "EBADF";
    case ECHILD:
        return "ECHILD";
    case EAGAIN:
        return "EAGAIN";
    case ENOMEM:
        return "ENOMEM";
    case EACCES:
        return "EACCES";
    case EFAULT:
        return "EFAULT";
    case EBUSY:
        return "EBUSY";
    case EEXIST:
        return "EEXIST";
    case ENODEV:
        return "ENODEV";
    case EINVAL:
        return "EINVAL";
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case ENOTTY:
        return "ENOTTY";
    case ENOSPC:
        return "ENOSPC";
    case ERANGE:
        return "ERANGE";
    case ENAMETOOLONG:
        return "ENAMETOOLONG";
    case ENOSYS:
        return "ENOSYS";
    case EOVERFLOW:
        return "EOVERFLOW";
    case EOPNOTSUPP:
        return "EOPNOTSUPP";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EHWPOISON:
        return "EHWPOISON";
    default:
        return "E?";
    }
}
