/*
 * Bad input gets a clear error and leaves the agent running: an unknown policy, a dead pid, a
 * thread id, bad arguments, and malformed requests sent straight to the socket (garbage,
 * JSON that is not an object, a wrong field type, an unknown operation, an oversized
 * request). A client with no agent behind its socket says what to do.
 */
#include "daemon_test.h"

static void raw_error(const char *req, const char *want)
{
    char *r = dt_raw(req);
    CHECK_MSG(r, "no reply to %s", req);
    CHECK_MSG(strstr(r, "\"ok\":false") && strstr(r, want), "reply to %s: %s", req, r);
    free(r);
    CHECK(dt_agent_alive());
}

int main(void)
{
    dt_init();
    char out[8192];
    /* no agent yet */
    CHECK_EQ(dt_ctl(out, sizeof(out), "status", NULL), 1);
    CHECK_STR_CONTAINS(out, "is `bpfmm agent` running?");
    CHECK_STR_CONTAINS(out, D.sock);

    dt_agent_start();
    struct dt_wl w;
    dt_workload(&w, "--size", "4M", "--hold");
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "nosuch-policy", NULL),
             1);
    CHECK_STR_CONTAINS(out, "nosuch-policy");
    /* a dead pid: a reaped child of ours */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char dp[16];
    snprintf(dp, sizeof(dp), "%d", (int)dead);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", dp, "--policy", "default", NULL), 1);
    CHECK_MSG(strstr(out, "no such process") || strstr(out, "No such process") ||
                  strstr(out, "gone") || strstr(out, "exited"),
              "message for a dead pid: %s", out);
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--pid", dp, NULL), 1);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", "abc", "--policy", "default", NULL), 2);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--policy", "default", NULL), 2);
    CHECK_EQ(dt_ctl(out, sizeof(out), "detach", "--policy", "nosuch", NULL), 1);
    CHECK_STR_CONTAINS(out, "no policy named nosuch");
    CHECK_EQ(dt_ctl(out, sizeof(out), "global", "frob", NULL), 2);
    /* the failed attaches loaded nothing */
    struct json_object *st = dt_status();
    CHECK_EQ(json_object_array_length(dt_get(st, "policies")), 0);
    json_object_put(st);

    raw_error("this is not json\n", "malformed request");
    raw_error("[1,2,3]\n", "not a JSON object");
    raw_error("{\"v\":1,\"op\":42}\n", "must be a string");
    raw_error("{\"v\":1}\n", "no \\\"op\\\" field");
    raw_error("{\"v\":1,\"op\":\"launch-missiles\"}\n", "unknown operation");
    raw_error("{\"v\":1,\"op\":\"attach\",\"pid\":\"12\",\"policy\":\"default\"}\n",
              "must be an integer");
    raw_error("{\"v\":1,\"op\":\"attach\",\"pid\":-5,\"policy\":\"default\"}\n",
              "not a valid process id");
    raw_error("{\"v\":1,\"op\":\"attach\",\"pid\":1,\"policy\":\"default\",\"rodata\":7}\n",
              "array of strings");
    raw_error("{\"v\":1,\"op\":\"status\"} trailing\n", "malformed request");
    /* several requests on one connection, the last without a newline */
    char *r = dt_raw("{\"op\":\"ping\"}\n{\"op\":\"ping\"}");
    CHECK(r && strstr(r, "\"ok\":true"));
    free(r);
    /* an oversized request (no newline, up to 17 MiB) is refused with E2BIG and the
     * connection closed (the agent stops reading at 1 MiB) */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", D.sock);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    size_t sent = 0;
    for (int i = 0; i < 17; i++) {
        ssize_t n = send(fd, big, 1 << 20, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    free(big);
    char reply[4096] = "";
    ssize_t got = read(fd, reply, sizeof(reply) - 1);
    reply[got > 0 ? got : 0] = 0;
    close(fd);
    printf("sent %zu bytes of garbage\n", sent);
    CHECK_LT(sent, 17u << 20); /* the agent hung up before taking it all */
    CHECK_STR_CONTAINS(reply, "request longer than");
    CHECK(dt_agent_alive());
    CHECK(kill(w.pid, 0) == 0);
    printf("ok\n");
    return 0;
}
