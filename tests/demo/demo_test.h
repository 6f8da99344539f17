/*
 * Helpers for the tests of `bpfmm demo` and `bpfmm bench agent`, which run the bpfmm command
 * of the build tree: running it (optionally as another user) with its output and exit status
 * captured, skipping (77) where the demo cannot run, and reading JSON numbers. Owns no test
 * logic.
 */
#ifndef BPFMM_DEMO_TEST_H
#define BPFMM_DEMO_TEST_H

#include "test.h"

#include "live/probe.h"

#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

struct cmd_result {
    int status; /* exit code, or 128 + signal */
    char out[1 << 16], err[1 << 16];
};

static inline const char *bpfmm_exe(void)
{
    static char exe[4096];
    snprintf(exe, sizeof(exe), "%s/bpfmm", test_build_dir());
    return exe;
}

/* Skips unless the demo can run here: root, and what live_probe_require asks for. */
static inline void require_demo(const char *why)
{
    test_require_root(why);
    const struct live_features *f = live_probe_cached(&live_os_linux);
    char msg[1024];
    if (live_probe_require(f, msg, sizeof(msg)))
        test_skip("%s: %s", msg, why);
}

static inline void drain(int fd, char *buf, size_t size, size_t *len, bool *open)
{
    ssize_t n = read(fd, buf + *len, size - 1 - *len);
    if (n > 0) {
        *len += (size_t)n;
        buf[*len] = 0;
    } else if (n == 0 || errno != EINTR) {
        *open = false;
    }
    if (*len == size - 1)
        *len = size / 2; /* keep going; the start is what matters */
}

/* Starts `bpfmm ARGS...` (argv NULL-terminated, without the program) with stdout and stderr on
 * pipes; as_nobody drops to uid/gid 65534 first. Returns the pid. */
static inline pid_t bpfmm_start(const char *const *args, bool as_nobody, int *out_fd, int *err_fd)
{
    const char *argv[32] = {bpfmm_exe()};
    for (int i = 0; args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    int o[2], e[2];
    CHECK_EQ(pipe(o), 0);
    CHECK_EQ(pipe(e), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(o[0]);
        close(e[0]);
        if (as_nobody && (setgroups(0, NULL) || setgid(65534) || setuid(65534))) {
            fprintf(stderr, "cannot become nobody: %s\n", strerror(errno));
            _exit(126);
        }
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(o[1]);
    close(e[1]);
    *out_fd = o[0];
    *err_fd = e[0];
    return pid;
}

/* Collects the output of a started command until it closes both, then reaps it. */
static inline void bpfmm_finish(pid_t pid, int out_fd, int err_fd, struct cmd_result *r)
{
    size_t ol = 0, el = 0;
    bool oo = true, eo = true;
    r->out[0] = r->err[0] = 0;
    while (oo || eo) {
        struct pollfd p[2] = {{.fd = oo ? out_fd : -1, .events = POLLIN},
                              {.fd = eo ? err_fd : -1, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            drain(out_fd, r->out, sizeof(r->out), &ol, &oo);
        if (p[1].revents)
            drain(err_fd, r->err, sizeof(r->err), &el, &eo);
    }
    close(out_fd);
    close(err_fd);
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void bpfmm_run(const char *const *args, bool as_nobody, struct cmd_result *r)
{
    int o, e;
    pid_t pid = bpfmm_start(args, as_nobody, &o, &e);
    bpfmm_finish(pid, o, e, r);
}

/* The JSON object at path "a.b.c" (NULL if absent). */
static inline struct json_object *jpath(struct json_object *o, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
        if (!json_object_object_get_ex(o, k, &o))
            return NULL;
    return o;
}

/* A number at path; fails the test if it is missing or not a number. */
static inline double jnum_at(struct json_object *o, const char *path)
{
    struct json_object *v = jpath(o, path);
    CHECK_MSG(
        v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)),
        "no number at %s", path);
    return json_object_get_double(v);
}

#endif
