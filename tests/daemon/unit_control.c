/*
 * The control socket server on its own, with a handler that echoes: the socket file's mode,
 * one reply per request line and several requests per connection, blank lines ignored, a
 * malformed line answered with an error while the server goes on, a second server on the
 * same path refused while the first listens, a stale socket file replaced, the peer rules and
 * the peer's supplementary groups, and a reply too long for a client replaced by an error
 * (E2BIG) on a connection that goes on.
 * No root needed.
 */
#include "test.h"
#include "live/control.h"
#include "live/control_proto.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static struct json_object *echo(void *arg, const struct live_ctl_peer *peer,
                                struct json_object *req)
{
    (*(int *)arg)++;
    struct json_object *r = live_ctl_reply_ok();
    struct json_object *big;
    if (json_object_object_get_ex(req, "big", &big)) {
        /* a reply longer than a client accepts */
        size_t n = LIVE_CTL_MAX_LINE + 100;
        char *s = malloc(n + 1);
        CHECK(s);
        memset(s, 'x', n);
        s[n] = 0;
        json_object_object_add(r, "big", json_object_new_string(s));
        free(s);
        return r;
    }
    gid_t g[LIVE_CTL_MAX_GROUPS];
    int ng = getgroups(LIVE_CTL_MAX_GROUPS, g);
    bool same = ng == peer->nr_groups;
    for (int i = 0; same && i < ng; i++)
        same = g[i] == peer->groups[i];
    json_object_object_add(r, "groups_match", json_object_new_boolean(same));
    json_object_object_add(r, "uid", json_object_new_int((int)peer->uid));
    json_object_object_add(r, "req", json_object_get(req));
    return r;
}

/* Sends text, then pumps the server until n reply lines (or EOF) arrive. */
static char *exchange(live_ctl_t *c, const char *path, const char *text, int n)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    shutdown(fd, SHUT_WR); /* half-close: the replies must still come */
    static char buf[65536];
    size_t len = 0;
    int lines = 0;
    for (int iter = 0; iter < 2000 && lines < n; iter++) {
        CHECK_EQ(live_ctl_dispatch(c), 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5) == 1) {
            ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
            if (r <= 0)
                break;
            for (ssize_t i = 0; i < r; i++)
                lines += buf[len + (size_t)i] == '\n';
            len += (size_t)r;
        }
    }
    buf[len] = 0;
    close(fd);
    live_ctl_dispatch(c);
    return buf;
}

int main(void)
{
    char dir[] = "/tmp/bpfmm-ctl-XXXXXX", path[100], err[512];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof(path), "%.60s/sub/agent.sock", dir);
    int calls = 0;
    struct live_ctl_opts o = {.sz = sizeof(o),
                              .path = path,
                              .group = getegid(),
                              .mode = 0640,
                              .handler = echo,
                              .arg = &calls};
    live_ctl_t *c = live_ctl_open(&o, err, sizeof(err));
    CHECK_MSG(c, "%s", err);
    struct stat sb;
    CHECK_EQ(stat(path, &sb), 0);
    CHECK(S_ISSOCK(sb.st_mode));
    CHECK_EQ(sb.st_mode & 0777, 0640);

    char *r = exchange(c, path, "{\"op\":\"a\"}\n\n{\"op\":\"b\"}\n", 2);
    CHECK_STR_CONTAINS(r, "\"op\":\"a\"");
    CHECK_STR_CONTAINS(r, "\"op\":\"b\"");
    CHECK_EQ(calls, 2);
    r = exchange(c, path, "nonsense\n{\"op\":\"c\"}\n", 2);
    CHECK_STR_CONTAINS(r, "malformed request");
    CHECK_STR_CONTAINS(r, "\"op\":\"c\"");
    CHECK_EQ(calls, 3);
    CHECK_STR_CONTAINS(r, "\"groups_match\":true");
    /* a reply too long for a client: an error instead, and the connection goes on */
    r = exchange(c, path, "{\"op\":\"big\",\"big\":1}\n{\"op\":\"f\"}\n", 2);
    CHECK_STR_CONTAINS(r, "more than the 16777216 a client accepts");
    CHECK_STR_CONTAINS(r, "\"op\":\"f\"");
    /* the last request may lack its newline */
    r = exchange(c, path, "{\"op\":\"d\"}", 1);
    CHECK_STR_CONTAINS(r, "\"op\":\"d\"");

    /* a second server on a live socket is refused */
    live_ctl_t *c2 = live_ctl_open(&o, err, sizeof(err));
    CHECK(!c2 && errno == EADDRINUSE);
    CHECK_STR_CONTAINS(err, "already listening");

    /* the peer rules (a refused peer on the real socket: live_daemon_security) */
    CHECK(live_ctl_peer_allowed(0, 5, NULL, 0, LIVE_CTL_NO_GROUP));
    CHECK(!live_ctl_peer_allowed(1000, 1000, NULL, 0, LIVE_CTL_NO_GROUP));
    CHECK(live_ctl_peer_allowed(1000, 100, NULL, 0, 100));
    gid_t groups[] = {4, 24, 100};
    CHECK(live_ctl_peer_allowed(1000, 1000, groups, 3, 100));
    CHECK(!live_ctl_peer_allowed(1000, 1000, groups, 2, 100));

    /* close unlinks; a stale socket file (nobody listening) is replaced */
    live_ctl_close(c);
    CHECK_NE(stat(path, &sb), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd); /* a socket file nobody listens on */
    c = live_ctl_open(&o, err, sizeof(err));
    CHECK_MSG(c, "stale socket not replaced: %s", err);
    r = exchange(c, path, "{\"op\":\"e\"}\n", 1);
    CHECK_STR_CONTAINS(r, "\"op\":\"e\"");
    live_ctl_close(c);

    /* a regular file in the way is not removed */
    FILE *f = fopen(path, "w");
    fclose(f);
    c = live_ctl_open(&o, err, sizeof(err));
    CHECK(!c);
    CHECK_STR_CONTAINS(err, "is not a socket");
    unlink(path);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    printf("ok\n");
    return 0;
}
