/*
 * Helpers for the agent daemon tests: a private agent (socket, state file and log in a temp
 * directory), running the bpfmm binary as a client (optionally as another user), workloads
 * (`bpfmm workload`) with their ready line and verification, status documents, and waits.
 * Every process started here dies with the test (PR_SET_PDEATHSIG) and is killed at exit.
 * Owns no test logic.
 */
#ifndef BPFMM_TEST_DAEMON_TEST_H
#define BPFMM_TEST_DAEMON_TEST_H

#include "test.h"

#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

struct dt {
    char dir[48], sock[100], state[100], log[100];
    pid_t agent;
    pid_t kids[64];
    int nr_kids;
};
static struct dt D;

static inline double dt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void dt_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits until cond is true, polling every 100 ms, for at most secs seconds. */
#define DT_WAIT(cond, secs)                                                                        \
    ({                                                                                             \
        double _end = dt_now() + (secs);                                                           \
        bool _ok;                                                                                  \
        while (!(_ok = (cond)) && dt_now() < _end)                                                 \
            dt_sleep_ms(100);                                                                      \
        _ok;                                                                                       \
    })

static inline void dt_track(pid_t pid)
{
    if (D.nr_kids < 64)
        D.kids[D.nr_kids++] = pid;
}

static inline void dt_cleanup(void)
{
    if (D.agent > 0) {
        kill(D.agent, SIGKILL);
        waitpid(D.agent, NULL, 0);
    }
    for (int i = 0; i < D.nr_kids; i++) {
        kill(D.kids[i], SIGKILL);
        waitpid(D.kids[i], NULL, WNOHANG);
    }
    if (D.dir[0] && !getenv("BPFMM_TEST_KEEP")) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", D.dir);
        if (system(cmd)) {
        }
    }
}

static inline const char *dt_bpfmm(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/bpfmm", test_build_dir());
    return path;
}

static inline void dt_init(void)
{
    test_require_root("the agent collapses other processes' memory");
    snprintf(D.dir, sizeof(D.dir), "/tmp/bpfmm-daemon-XXXXXX");
    CHECK(mkdtemp(D.dir));
    CHECK_EQ(chmod(D.dir, 0755), 0); /* tests run clients as nobody */
    snprintf(D.sock, sizeof(D.sock), "%.48s/agent.sock", D.dir);
    snprintf(D.state, sizeof(D.state), "%.48s/state.json", D.dir);
    snprintf(D.log, sizeof(D.log), "%.48s/agent.log", D.dir);
    atexit(dt_cleanup);
    signal(SIGPIPE, SIG_IGN);
}

struct dt_as {
    uid_t uid;
    gid_t gid;
    gid_t groups[4];
    int nr_groups;
};

/* Runs argv (argv[0] a path) capturing stdout+stderr into out; as another user if as != NULL.
 * Returns the exit status, or 128 + signal. */
static inline int dt_exec(char *out, size_t size, char *const argv[], const struct dt_as *as)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        if (as &&
            (setgroups((size_t)as->nr_groups, as->groups) || setgid(as->gid) || setuid(as->uid))) {
            perror("setuid");
            _exit(99);
        }
        execv(argv[0], argv);
        perror("execv");
        _exit(98);
    }
    close(p[1]);
    size_t len = 0;
    for (;;) {
        char tmp[4096];
        ssize_t n = read(p[0], tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out && len + 1 < size) {
            size_t c = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
            memcpy(out + len, tmp, c);
            len += c;
        }
    }
    if (out)
        out[len] = 0;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* bpfmm SUB --socket <ours> ARGS... (NULL-terminated), optionally as another user. */
static inline int dt_ctl_as(const struct dt_as *as, char *out, size_t size, const char *sub, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)dt_bpfmm();
    argv[n++] = (char *)sub;
    argv[n++] = (char *)"--socket";
    argv[n++] = D.sock;
    va_list ap;
    va_start(ap, sub);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 63;)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return dt_exec(out, size, argv, as);
}
#define dt_ctl(out, size, ...) dt_ctl_as(NULL, out, size, __VA_ARGS__)

static inline void dt_show_log(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "echo '--- agent log:'; tail -40 %s 1>&2", D.log);
    if (system(cmd)) {
    }
}

/* One request on a raw connection; returns the reply line (malloc'd) or NULL. */
static inline char *dt_raw(const char *line)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%.100s", D.sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        close(fd);
        return NULL;
    }
    char *buf = calloc(1, 1 << 16);
    size_t len = 0;
    while (len < (1 << 16) - 1) {
        ssize_t n = read(fd, buf + len, (1 << 16) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf, '\n', len))
            break;
    }
    close(fd);
    return buf;
}

static inline bool dt_agent_alive(void)
{
    char *r = dt_raw("{\"v\":1,\"op\":\"ping\"}\n");
    bool ok = r && strstr(r, "\"ok\":true");
    free(r);
    return ok;
}

/* Starts `bpfmm agent --socket S --state ST EXTRA...` (EXTRA NULL-terminated) and waits until
 * it answers. Skips when the agent says this machine cannot run it. */
static inline void dt_agent_start_v(const char *const *extra)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)dt_bpfmm();
    argv[n++] = (char *)"agent";
    argv[n++] = (char *)"--socket";
    argv[n++] = D.sock;
    argv[n++] = (char *)"--state";
    argv[n++] = D.state;
    for (int i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(D.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(98);
    }
    D.agent = pid;
    double end = dt_now() + 30;
    while (dt_now() < end) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            D.agent = 0;
            char cmd[256];
            snprintf(cmd, sizeof(cmd), "grep -q -e 'MADV_COLLAPSE' -e 'Linux >= 6.1' %s", D.log);
            dt_show_log();
            if (system(cmd) == 0)
                test_skip("the agent cannot run on this machine (see its log above)");
            TEST_FAIL("the agent exited at start (status 0x%x)", st);
        }
        if (dt_agent_alive())
            return;
        dt_sleep_ms(50);
    }
    dt_show_log();
    TEST_FAIL("the agent did not answer within 30 s");
}
#define dt_agent_start(...) dt_agent_start_v((const char *const[]){__VA_ARGS__ __VA_OPT__(, ) NULL})

/* Sends sig and waits for the agent's exit; returns its wait status. */
static inline int dt_agent_stop(int sig)
{
    int st = 0;
    CHECK_GT(D.agent, 0);
    kill(D.agent, sig);
    CHECK_EQ(waitpid(D.agent, &st, 0), D.agent);
    D.agent = 0;
    return st;
}

/* --- status ------------------------------------------------------------------------------ */

static inline struct json_object *dt_status(void)
{
    static char out[1 << 20];
    int rc = dt_ctl(out, sizeof(out), "status", "--json", NULL);
    if (rc) {
        dt_show_log();
        TEST_FAIL("bpfmm status --json failed (%d): %s", rc, out);
    }
    struct json_object *st = json_tokener_parse(out);
    CHECK_MSG(st, "status --json is not JSON: %.300s", out);
    return st;
}

static inline struct json_object *dt_get(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static inline double dt_num(struct json_object *o, const char *k)
{
    struct json_object *v = dt_get(o, k);
    return v ? json_object_get_double(v) : -1;
}

static inline const char *dt_str(struct json_object *o, const char *k)
{
    struct json_object *v = dt_get(o, k);
    return v ? json_object_get_string(v) : "";
}

/* The process entry for pid in a status document, or NULL. */
static inline struct json_object *dt_proc(struct json_object *st, pid_t pid)
{
    struct json_object *a = dt_get(st, "processes");
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        struct json_object *p = json_object_array_get_idx(a, i);
        if ((pid_t)dt_num(p, "pid") == pid)
            return p;
    }
    return NULL;
}

static inline struct json_object *dt_policy(struct json_object *st, const char *name)
{
    struct json_object *a = dt_get(st, "policies");
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        struct json_object *p = json_object_array_get_idx(a, i);
        if (!strcmp(dt_str(p, "name"), name))
            return p;
    }
    return NULL;
}

/* A numeric field of pid's status entry (-1 when pid is not listed). */
static inline double dt_proc_num(pid_t pid, const char *field)
{
    struct json_object *st = dt_status();
    struct json_object *p = dt_proc(st, pid);
    double v = p ? dt_num(p, field) : -1;
    json_object_put(st);
    return v;
}

static inline bool dt_listed(pid_t pid)
{
    return dt_proc_num(pid, "pid") == pid;
}

/* The policy name status shows for pid ("" when not listed). */
static inline bool dt_proc_policy_is(pid_t pid, const char *policy, const char *how)
{
    struct json_object *st = dt_status();
    struct json_object *p = dt_proc(st, pid);
    bool ok = p && !strcmp(dt_str(p, "policy"), policy) && (!how || !strcmp(dt_str(p, "how"), how));
    json_object_put(st);
    return ok;
}

/* --- workloads --------------------------------------------------------------------------- */

struct dt_wl {
    pid_t pid;
    FILE *out; /* its stdout */
    unsigned long long addr, size;
};

/* Starts `EXE workload ARGS...` (EXE NULL: bpfmm; a path to a symlink changes its comm), as
 * another user if as != NULL, and waits for its ready line. */
static inline void dt_workload_as(struct dt_wl *w, const char *exe, const struct dt_as *as,
                                  const char *const *args)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)(exe ? exe : dt_bpfmm());
    argv[n++] = (char *)"workload";
    for (int i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        if (as &&
            (setgroups((size_t)as->nr_groups, as->groups) || setgid(as->gid) || setuid(as->uid)))
            _exit(99);
        execv(argv[0], argv);
        _exit(98);
    }
    close(p[1]);
    dt_track(pid);
    w->pid = pid;
    w->out = fdopen(p[0], "r");
    char line[512];
    CHECK_MSG(fgets(line, sizeof(line), w->out), "workload %d printed no ready line", (int)pid);
    int rpid = 0;
    CHECK_MSG(sscanf(line, "ready pid=%d addr=0x%llx size=%llu", &rpid, &w->addr, &w->size) == 3,
              "unexpected ready line: %s", line);
    CHECK_EQ(rpid, pid);
}
#define dt_workload(w, ...)                                                                        \
    dt_workload_as((w), NULL, NULL, (const char *const[]){__VA_ARGS__ __VA_OPT__(, ) NULL})

/* SIGUSR1: the workload verifies every byte of its pattern; true when it says "verify ok". */
static inline bool dt_workload_verify(struct dt_wl *w)
{
    kill(w->pid, SIGUSR1);
    char line[512];
    while (fgets(line, sizeof(line), w->out)) {
        if (!strncmp(line, "verify ok", 9))
            return true;
        if (!strncmp(line, "verify", 6)) {
            fprintf(stderr, "%s", line);
            return false;
        }
    }
    return false;
}

/* Kills the workload and reaps it; returns its wait status. */
static inline int dt_workload_stop(struct dt_wl *w, int sig)
{
    int st = 0;
    kill(w->pid, sig);
    waitpid(w->pid, &st, 0);
    if (w->out)
        fclose(w->out);
    w->out = NULL;
    return st;
}

/* AnonHugePages of a process in bytes (smaps_rollup), or -1. */
static inline long long dt_anon_huge(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* AnonHugePages of the VMA containing addr (smaps), in bytes, or -1. */
static inline long long dt_region_huge(pid_t pid, unsigned long long addr)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    bool in = false;
    long long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, ' ') &&
            line[strcspn(line, " ")] == ' ' && strchr(line, '-') < strchr(line, ' ')) {
            in = lo <= addr && addr < hi;
            continue;
        }
        if (in && sscanf(line, "AnonHugePages: %lld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* A path to the shipped policy object NAME in the build tree. */
static inline const char *dt_policy_file(const char *name)
{
    static char path[2][512];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof(path[k]), "%s/policies/%s.bpf.o", test_build_dir(), name);
    return path[k];
}

#endif
