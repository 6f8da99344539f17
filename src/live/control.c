/*
 * The control socket server (control.h): socket file setup, peer credential checks, line
 * framing and buffered replies, all non-blocking inside an epoll set of its own. What a
 * request does is the handler's business.
 */
#include "control.h"

#include "control_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUT (64u << 20) /* a peer that reads nothing is dropped past this */

struct conn {
    int fd;
    struct live_ctl_peer peer;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off;
    bool eof, close_after_flush;
    time_t last; /* last data received (CLOCK_MONOTONIC seconds) */
    struct conn *next;
};

struct live_ctl {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd, ep;
    gid_t group;
    unsigned mode, max_conns, nr_conns;
    live_ctl_handler_fn handler;
    void *arg;
    struct conn *conns;
    struct live_ctl_stats st;
};

static time_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

bool live_ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, int nr_groups, gid_t group)
{
    if (uid == 0)
        return true;
    if (group == LIVE_CTL_NO_GROUP)
        return false;
    if (gid == group)
        return true;
    for (int i = 0; i < nr_groups; i++)
        if (groups[i] == group)
            return true;
    return false;
}

static int mkdir_parents(const char *path, char *err, size_t err_size)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0755) && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(dir, 0755) && errno != EEXIST)
        goto fail;
    return 0;
fail:;
    int e = errno;
    snprintf(err, err_size, "cannot create directory %s for the control socket: %s", dir,
             strerror(e));
    return -e;
}

static void addr_of(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
}

/* -EADDRINUSE if someone listens on path; 0 if path is free (a stale socket was removed). */
static int clear_stale(const char *path, char *err, size_t err_size)
{
    struct stat sb;
    if (lstat(path, &sb)) {
        if (errno == ENOENT)
            return 0;
        int e = errno;
        snprintf(err, err_size, "cannot inspect %s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        snprintf(err, err_size,
                 "%s exists and is not a socket; remove it or choose another socket path "
                 "(--socket, or `socket` in the config)",
                 path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un a;
    addr_of(path, &a);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    int e = errno;
    close(fd);
    if (rc == 0) {
        snprintf(err, err_size,
                 "another agent is already listening on %s; stop it first (systemctl stop "
                 "bpfmm-agent) or choose another socket path",
                 path);
        return -EADDRINUSE;
    }
    if (e != ECONNREFUSED && e != ENOENT) {
        snprintf(err, err_size, "cannot check whether an agent listens on %s: %s", path,
                 strerror(e));
        return -e;
    }
    if (unlink(path) && errno != ENOENT) {
        e = errno;
        snprintf(err, err_size, "cannot remove the stale socket %s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

static int apply_access(const char *path, gid_t group, unsigned mode, char *err, size_t err_size)
{
    gid_t g = group == LIVE_CTL_NO_GROUP ? getegid() : group;
    if (chown(path, geteuid(), g) || chmod(path, mode)) {
        int e = errno;
        snprintf(err, err_size, "cannot set owner %u:%u and mode %04o on %s: %s",
                 (unsigned)geteuid(), (unsigned)g, mode, path, strerror(e));
        return -e;
    }
    return 0;
}

live_ctl_t *live_ctl_open(const struct live_ctl_opts *o, char *err, size_t err_size)
{
    struct live_ctl *c = calloc(1, sizeof(*c));
    int rc;
    if (!c) {
        snprintf(err, err_size, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    c->lfd = c->ep = -1;
    c->group = o->group;
    c->mode = o->mode ? o->mode : 0660;
    c->max_conns = o->max_conns ? o->max_conns : 64;
    c->handler = o->handler;
    c->arg = o->arg;
    if (!o->path || !*o->path || strlen(o->path) >= sizeof(c->path)) {
        snprintf(err, err_size, "control socket path '%s' is empty or longer than %zu bytes",
                 o->path ? o->path : "", sizeof(c->path) - 1);
        rc = -EINVAL;
        goto fail;
    }
    snprintf(c->path, sizeof(c->path), "%s", o->path);
    if ((rc = mkdir_parents(c->path, err, err_size)) || (rc = clear_stale(c->path, err, err_size)))
        goto fail;
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->lfd < 0) {
        rc = -errno;
        snprintf(err, err_size, "cannot create the control socket: %s", strerror(-rc));
        goto fail;
    }
    struct sockaddr_un a;
    addr_of(c->path, &a);
    /* Nobody may connect before owner and mode are right: bind under a 0600 umask. */
    mode_t old = umask(0177);
    rc = bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
    umask(old);
    if (rc) {
        snprintf(err, err_size, "cannot bind the control socket %s: %s", c->path, strerror(-rc));
        goto fail;
    }
    if ((rc = apply_access(c->path, c->group, c->mode, err, err_size)))
        goto fail_unlink;
    if (listen(c->lfd, 64)) {
        rc = -errno;
        snprintf(err, err_size, "cannot listen on %s: %s", c->path, strerror(-rc));
        goto fail_unlink;
    }
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (c->ep < 0 || epoll_ctl(c->ep, EPOLL_CTL_ADD, c->lfd, &ev)) {
        rc = -errno;
        snprintf(err, err_size, "cannot create an epoll set: %s", strerror(-rc));
        goto fail_unlink;
    }
    return c;
fail_unlink:
    unlink(c->path);
fail:
    if (c->lfd >= 0)
        close(c->lfd);
    if (c->ep >= 0)
        close(c->ep);
    free(c);
    errno = -rc;
    return NULL;
}

static void conn_free(struct live_ctl *c, struct conn *k)
{
    for (struct conn **pp = &c->conns; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    free(k->in);
    free(k->out);
    free(k);
    c->nr_conns--;
}

void live_ctl_close(live_ctl_t *c)
{
    if (!c)
        return;
    while (c->conns)
        conn_free(c, c->conns);
    if (c->lfd >= 0) {
        close(c->lfd);
        unlink(c->path);
    }
    if (c->ep >= 0)
        close(c->ep);
    free(c);
}

int live_ctl_fd(const live_ctl_t *c)
{
    return c->ep;
}

void live_ctl_get_stats(const live_ctl_t *c, struct live_ctl_stats *st)
{
    *st = c->st;
}

int live_ctl_set_access(live_ctl_t *c, gid_t group, unsigned mode, char *err, size_t err_size)
{
    mode = mode ? mode : 0660;
    int rc = apply_access(c->path, group, mode, err, err_size);
    if (rc)
        return rc;
    c->group = group;
    c->mode = mode;
    return 0;
}

/* Best effort, for peers that are about to be dropped. */
static void send_now(int fd, struct json_object *reply)
{
    if (!reply)
        return;
    const char *s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "%s\n", s);
    if (n > 0 && (size_t)n < sizeof(buf))
        (void)!send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    json_object_put(reply);
}

static void accept_one(struct live_ctl *c, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    gid_t groups[NGROUPS_MAX > LIVE_CTL_MAX_GROUPS ? LIVE_CTL_MAX_GROUPS : NGROUPS_MAX];
    socklen_t glen = sizeof(groups);
    int nr_groups = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
        close(fd);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        nr_groups = (int)(glen / sizeof(gid_t));
    bool allowed = live_ctl_peer_allowed(cr.uid, cr.gid, groups, nr_groups, c->group);
    if (!allowed) {
        c->st.refused++;
        if (c->group == LIVE_CTL_NO_GROUP)
            send_now(fd, live_ctl_reply_err(EACCES,
                                            "permission denied: uid %u is not root, and the "
                                            "agent allows no group (set `socket_group` in its "
                                            "config)",
                                            (unsigned)cr.uid));
        else {
            struct group *g = getgrgid(c->group);
            send_now(fd, live_ctl_reply_err(EACCES,
                                            "permission denied: uid %u is neither root nor a "
                                            "member of group %s (gid %u); ask an administrator "
                                            "to add you to it",
                                            (unsigned)cr.uid, g ? g->gr_name : "?",
                                            (unsigned)c->group));
        }
        close(fd);
        return;
    }
    if (c->nr_conns >= c->max_conns) {
        c->st.dropped++;
        send_now(fd, live_ctl_reply_err(EBUSY, "the agent has %u connections open; retry later",
                                        c->nr_conns));
        close(fd);
        return;
    }
    struct conn *k = calloc(1, sizeof(*k));
    if (!k) {
        close(fd);
        return;
    }
    k->fd = fd;
    k->last = mono_s();
    k->peer.pid = cr.pid;
    k->peer.uid = cr.uid;
    k->peer.gid = cr.gid;
    k->peer.nr_groups = nr_groups;
    memcpy(k->peer.groups, groups, (size_t)nr_groups * sizeof(gid_t));
    k->peer.in_group = c->group != LIVE_CTL_NO_GROUP &&
                       live_ctl_peer_allowed(1, cr.gid, groups, nr_groups, c->group);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = k};
    if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev)) {
        close(fd);
        free(k);
        return;
    }
    k->next = c->conns;
    c->conns = k;
    c->nr_conns++;
    c->st.accepted++;
}

static int queue_out(struct conn *k, const char *s, size_t n)
{
    if (k->out_len + n > MAX_OUT)
        return -ENOBUFS;
    char *p = realloc(k->out, k->out_len + n);
    if (!p)
        return -ENOMEM;
    k->out = p;
    memcpy(k->out + k->out_len, s, n);
    k->out_len += n;
    return 0;
}

static int queue_reply(struct conn *k, struct json_object *reply)
{
    if (!reply)
        reply = live_ctl_reply_err(ENOMEM, "the agent ran out of memory handling the request");
    if (!reply)
        return -ENOMEM;
    const char *s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
    size_t n = s ? strlen(s) : 0;
    struct json_object *big = NULL;
    if (!s || n + 1 > LIVE_CTL_MAX_LINE) {
        /* Longer than a client accepts (ctl_client's limit): say so instead. */
        big = live_ctl_reply_err(
            E2BIG,
            "the reply would be %zu bytes, more than the %u a client "
            "accepts; ask for less (e.g. one map: `bpfmm map show --policy P MAP`)",
            n, LIVE_CTL_MAX_LINE);
        s = big ? json_object_to_json_string_ext(big, JSON_C_TO_STRING_PLAIN) : NULL;
        n = s ? strlen(s) : 0;
    }
    size_t before = k->out_len;
    int rc = s ? queue_out(k, s, n) : -ENOMEM;
    if (!rc)
        rc = queue_out(k, "\n", 1);
    if (rc) {
        /* Not even part of a reply may stay queued (the peer would read a torn line), and
         * a peer left without its reply would wait for it: end the connection. */
        k->out_len = before;
        k->close_after_flush = true;
    }
    json_object_put(big);
    json_object_put(reply);
    return rc;
}

/* Writes what the peer accepts; returns -errno when the connection is dead. */
static int flush(struct live_ctl *c, struct conn *k)
{
    while (k->out_off < k->out_len) {
        ssize_t n =
            send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -errno;
        }
        k->out_off += (size_t)n;
    }
    if (k->out_off == k->out_len) {
        k->out_off = k->out_len = 0;
    }
    /* After EOF, stop asking for input: EPOLLRDHUP would stay ready while the reply waits. */
    uint32_t in = k->eof || k->close_after_flush ? 0 : EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = in | (k->out_len ? EPOLLOUT : 0), .data.ptr = k};
    epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
    return 0;
}

static void handle_line(struct live_ctl *c, struct conn *k, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return; /* blank lines are keep-alives */
    c->st.requests++;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *req = NULL;
    enum json_tokener_error jerr = json_tokener_error_parse_eof;
    if (tok) {
        req = json_tokener_parse_ex(tok, line, (int)len);
        jerr = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        if (req && end < len) {
            /* trailing bytes after the object */
            for (size_t j = end; j < len; j++)
                if (line[j] != ' ' && line[j] != '\t' && line[j] != '\r') {
                    json_object_put(req);
                    req = NULL;
                    jerr = json_tokener_error_parse_unexpected;
                    break;
                }
        }
        json_tokener_free(tok);
    }
    if (!req || !json_object_is_type(req, json_type_object)) {
        c->st.malformed++;
        queue_reply(k,
                    live_ctl_reply_err(EINVAL,
                                       "malformed request: %s; send one JSON object per line, "
                                       "e.g. {\"v\":1,\"op\":\"status\"}",
                                       req ? "not a JSON object" : json_tokener_error_desc(jerr)));
        json_object_put(req);
        return;
    }
    queue_reply(k, c->handler(c->arg, &k->peer, req));
    json_object_put(req);
}

static void conn_read(struct live_ctl *c, struct conn *k)
{
    for (;;) {
        if (k->in_cap - k->in_len < 4096) {
            size_t cap = k->in_cap ? k->in_cap * 2 : 8192;
            if (cap > LIVE_CTL_MAX_REQUEST + 8192)
                cap = LIVE_CTL_MAX_REQUEST + 8192;
            if (cap <= k->in_len) {
                queue_reply(k, live_ctl_reply_err(E2BIG, "request longer than %u bytes",
                                                  LIVE_CTL_MAX_REQUEST));
                k->close_after_flush = true;
                return;
            }
            char *p = realloc(k->in, cap);
            if (!p) {
                k->close_after_flush = true;
                return;
            }
            k->in = p;
            k->in_cap = cap;
        }
        ssize_t n = recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                k->eof = true;
            break;
        }
        if (n == 0) {
            k->eof = true;
            break;
        }
        k->in_len += (size_t)n;
        k->last = mono_s();
        /* Handle every complete line now, so a long stream never accumulates. */
        size_t start = 0;
        for (size_t i = k->in_len - (size_t)n; i < k->in_len; i++)
            if (k->in[i] == '\n') {
                handle_line(c, k, k->in + start, i - start);
                start = i + 1;
            }
        if (start) {
            memmove(k->in, k->in + start, k->in_len - start);
            k->in_len -= start;
        }
        if (k->in_len > LIVE_CTL_MAX_REQUEST) {
            queue_reply(k, live_ctl_reply_err(E2BIG,
                                              "request longer than %u bytes; the connection "
                                              "is closed",
                                              LIVE_CTL_MAX_REQUEST));
            k->close_after_flush = true;
            return;
        }
    }
    /* A last request without its newline, then EOF: handle it too. */
    if (k->eof && k->in_len) {
        handle_line(c, k, k->in, k->in_len);
        k->in_len = 0;
    }
}

void live_ctl_expire(live_ctl_t *c, unsigned idle_s)
{
    time_t now = mono_s();
    for (struct conn *k = c->conns, *next; k; k = next) {
        next = k->next;
        if (now - k->last > (time_t)idle_s) {
            c->st.dropped++;
            conn_free(c, k);
        }
    }
}

int live_ctl_dispatch(live_ctl_t *c)
{
    struct epoll_event evs[32];
    int n = epoll_wait(c->ep, evs, 32, 0);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        struct conn *k = evs[i].data.ptr;
        if (!k) {
            for (;;) {
                int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                accept_one(c, fd);
            }
            continue;
        }
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            if (!k->close_after_flush)
                conn_read(c, k);
        if (flush(c, k) || ((k->eof || k->close_after_flush) && !k->out_len) ||
            k->out_len > MAX_OUT)
            conn_free(c, k);
    }
    return 0;
}
