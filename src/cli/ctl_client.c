/*
 * The control protocol's client (ctl_client.h): connection, one request/reply exchange with a
 * timeout, and the messages users see when the agent is absent or refuses them.
 */
#include "ctl_client.h"

#include "cli.h"
#include "live/control_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *ctl_socket_path(const char *opt)
{
    if (opt && *opt)
        return opt;
    const char *env = getenv("BPFMM_SOCKET");
    if (env && *env)
        return env;
    return LIVE_CTL_DEFAULT_SOCKET;
}

int ctl_connect(const char *path, char *err, size_t err_size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path)) {
        snprintf(err, err_size, "socket path %s is longer than %zu bytes", path,
                 sizeof(a.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_size, "cannot create a socket: %s", strerror(e));
        return -e;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        int e = errno;
        close(fd);
        if (e == EACCES || e == EPERM)
            snprintf(err, err_size,
                     "permission denied on the agent's socket %s: only root and members of the "
                     "agent's group (`socket_group` in its config) may use it",
                     path);
        else
            snprintf(err, err_size,
                     "is `bpfmm agent` running? socket %s: %s (start it with `systemctl start "
                     "bpfmm-agent` or `bpfmm agent`, or give --socket PATH)",
                     path, strerror(e));
        return -e;
    }
    return fd;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int ctl_call(int fd, struct json_object *req, struct json_object **reply, int timeout_ms, char *err,
             size_t err_size)
{
    *reply = NULL;
    const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s), off = 0;
    int send_err = 0;
    while (off < len + 1 && !send_err) {
        const char *p = off < len ? s + off : "\n";
        size_t n = off < len ? len - off : 1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            /* The agent may have refused us (and closed) before reading: its reply, if
             * any, says why. */
            send_err = errno;
            break;
        }
        off += (size_t)w;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    long long deadline = now_ms() + timeout_ms;
    int rc = 0;
    for (;;) {
        char *nl = got ? memchr(buf, '\n', got) : NULL;
        if (nl) {
            *nl = 0;
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            snprintf(err, err_size, "the agent did not answer within %d s", timeout_ms / 1000);
            rc = -ETIMEDOUT;
            goto out;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        if (cap - got < 4096) {
            if (cap >= LIVE_CTL_MAX_LINE + 65536u) {
                snprintf(err, err_size, "the agent's reply is longer than %u bytes",
                         LIVE_CTL_MAX_LINE);
                rc = -E2BIG;
                goto out;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                rc = -ENOMEM;
                snprintf(err, err_size, "out of memory");
                goto out;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -(send_err ? send_err : errno);
            snprintf(err, err_size, "cannot %s the agent: %s",
                     send_err ? "send the request to" : "read the reply of", strerror(-rc));
            goto out;
        }
        if (n == 0) {
            if (send_err)
                snprintf(err, err_size, "cannot send the request to the agent: %s",
                         strerror(send_err));
            else
                snprintf(err, err_size, "the agent closed the connection without answering");
            rc = send_err ? -send_err : -ECONNRESET;
            goto out;
        }
        got += (size_t)n;
    }
    enum json_tokener_error jerr;
    *reply = json_tokener_parse_verbose(buf, &jerr);
    if (!*reply || !json_object_is_type(*reply, json_type_object)) {
        snprintf(err, err_size, "the agent's reply is not a JSON object (%s)",
                 *reply ? "wrong type" : json_tokener_error_desc(jerr));
        json_object_put(*reply);
        *reply = NULL;
        rc = -EPROTO;
    }
out:
    free(buf);
    return rc;
}

struct json_object *ctl_new_request(const char *op)
{
    struct json_object *r = json_object_new_object();
    json_object_object_add(r, "v", json_object_new_int(LIVE_CTL_VERSION));
    json_object_object_add(r, "op", json_object_new_string(op));
    return r;
}

int ctl_request(const char *socket_opt, const char *what, struct json_object *req,
                struct json_object **reply)
{
    char err[512];
    const char *path = ctl_socket_path(socket_opt);
    *reply = NULL;
    int fd = ctl_connect(path, err, sizeof(err));
    if (fd < 0) {
        cli_error("%s: %s", what, err);
        return fd;
    }
    int rc = ctl_call(fd, req, reply, 120000, err, sizeof(err));
    close(fd);
    if (rc) {
        cli_error("%s: %s", what, err);
        return rc;
    }
    struct json_object *ok, *msg, *code;
    if (json_object_object_get_ex(*reply, "ok", &ok) && json_object_get_boolean(ok))
        return 0;
    rc = -EPROTO;
    if (json_object_object_get_ex(*reply, "code", &code))
        rc = -json_object_get_int(code);
    if (rc == 0)
        rc = -EPROTO;
    if (json_object_object_get_ex(*reply, "error", &msg))
        cli_error("%s: %s", what, json_object_get_string(msg));
    else
        cli_error("%s: the agent refused the request without saying why", what);
    return rc;
}
