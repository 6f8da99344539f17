/*
 * The workload child of an experiment (experiment.h): starting `bpfmm workload` with the
 * options a run needs, parsing its ready line and its periodic reports (rate and probe
 * lines), sampling its huge-page state with a scanner of our own, and killing it.
 *
 * fork, pipe, waitpid, pidfds and the clock go through the OS layer; execv, poll and the
 * child's PR_SET_PDEATHSIG are called directly (they concern this harness, not a target).
 * Owns the child and its reports only; the phases of a run are experiment.c's.
 */
#include "experiment.h"

#include "proc.h"
#include "scan.h"
#include "vma.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_TIMEOUT_S 300.0

struct report {
    double mono, dt; /* the report covers [mono - dt, mono] */
    double value;    /* accesses/s (rate) or the worst fault in us (probe) */
};

struct reports {
    struct report *v;
    size_t n, cap;
};

struct live_exp_target {
    const struct live_os *os;
    struct live_exp_layout l;
    int pidfd, out_fd;
    bool reaped;
    char buf[8192];
    size_t len;
    struct reports rates, probes, probes_other;
    bool want_rates, want_probes; /* the workload prints them */
    char last_err[512];           /* the workload's death, once seen */
    struct live_proc *p;
    struct live_scanner *sc;
    struct live_vma_list vmas;
    struct live_scan_result res;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t size, const char *fmt, ...)
{
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static double now_s(const struct live_os *os)
{
    return (double)os->now_ns() / 1e9;
}

static uint64_t mem_available(const struct live_os *os)
{
    struct live_buf b = {0};
    uint64_t kb = 0;
    int fd = os->open("/proc/meminfo", O_RDONLY);
    if (fd >= 0) {
        if (live_os_read_all(os, fd, &b) == 0) {
            const char *s = strstr(b.data, "MemAvailable:");
            kb = s ? strtoull(s + 13, NULL, 10) : 0;
        }
        os->close(fd);
    }
    live_buf_free(&b);
    return kb << 10;
}

static bool kv(const char *line, const char *key, uint64_t *out)
{
    char pat[48];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *s = strstr(line, pat);
    if (!s)
        return false;
    *out = strtoull(s + strlen(pat), NULL, 0);
    return true;
}

static bool kvd(const char *line, const char *key, double *out)
{
    char pat[48];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *s = strstr(line, pat);
    if (!s)
        return false;
    *out = strtod(s + strlen(pat), NULL);
    return true;
}

static void add_report(struct reports *r, double mono, double dt, double value)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct report *nv = realloc(r->v, cap * sizeof(*nv));
        if (!nv)
            return; /* a lost report only narrows a window */
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = (struct report){mono, dt, value};
}

static void parse_line(live_exp_target_t *t, const char *line)
{
    double mono, dt, v;
    if (!strncmp(line, "rate ", 5)) {
        /* Per second of the accessing thread's CPU time where the workload says it: other
         * load on the machine then does not count. */
        if (kvd(line, "mono", &mono) && kvd(line, "dt", &dt) &&
            (kvd(line, "accesses_per_cpu_s", &v) || kvd(line, "accesses_per_s", &v)) && v > 0)
            add_report(&t->rates, mono, dt, v);
    } else if (!strncmp(line, "probe ", 6)) {
        if (kvd(line, "mono", &mono) && kvd(line, "dt", &dt) && kvd(line, "max_us", &v))
            add_report(strstr(line, " vma=other") ? &t->probes_other : &t->probes, mono, dt, v);
    }
}

/* Explains how the child ended (after its output closed). */
static void describe_exit(live_exp_target_t *t, char *err, size_t size)
{
    int st = 0;
    /* Its output closed: it has exited, or is about to (a no-op then). */
    if (!t->reaped && t->pidfd >= 0)
        t->os->pidfd_send_signal(t->pidfd, SIGKILL);
    if (!t->reaped && t->os->waitpid(t->l.pid, &st) == t->l.pid) {
        t->reaped = true;
        if (WIFSIGNALED(st))
            snprintf(t->last_err, sizeof(t->last_err), "the workload (pid %d) was killed by %s",
                     (int)t->l.pid, strsignal(WTERMSIG(st)));
        else
            snprintf(t->last_err, sizeof(t->last_err),
                     "the workload (pid %d) exited with status %d (its message is above)",
                     (int)t->l.pid, WEXITSTATUS(st));
    }
    fail(err, size, "%s", t->last_err[0] ? t->last_err : "the workload's output closed");
}

int live_exp_pump(live_exp_target_t *t, int timeout_ms, char *err, size_t err_size)
{
    if (t->out_fd < 0) {
        describe_exit(t, err, err_size);
        return -EPIPE;
    }
    struct pollfd pfd = {.fd = t->out_fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return r < 0 && errno != EINTR ? -errno : 0;
    for (;;) {
        ssize_t n = t->os->read(t->out_fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
        if (n == -EAGAIN || n == -EINTR)
            return 0;
        if (n <= 0) {
            t->os->close(t->out_fd);
            t->out_fd = -1;
            describe_exit(t, err, err_size);
            return -EPIPE;
        }
        t->len += (size_t)n;
        t->buf[t->len] = 0;
        char *s = t->buf, *nl;
        while ((nl = strchr(s, '\n'))) {
            *nl = 0;
            parse_line(t, s);
            s = nl + 1;
        }
        t->len -= (size_t)(s - t->buf);
        memmove(t->buf, s, t->len);
        if (t->len == sizeof(t->buf) - 1)
            t->len = 0; /* a line longer than the buffer is not ours: drop it */
    }
}

static bool covered(const struct reports *r, double until)
{
    return r->n && r->v[r->n - 1].mono >= until;
}

int live_exp_pump_past(live_exp_target_t *t, double until, double timeout_s,
                       const volatile sig_atomic_t *stop, char *err, size_t err_size)
{
    double end = now_s(t->os) + timeout_s;
    while ((t->want_rates && !covered(&t->rates, until)) ||
           (t->want_probes && (!covered(&t->probes, until) || !covered(&t->probes_other, until)))) {
        if (stop && *stop) {
            fail(err, err_size, "interrupted");
            return -EINTR;
        }
        if (now_s(t->os) >= end)
            return 0; /* the window is judged on what arrived */
        int r = live_exp_pump(t, 50, err, err_size);
        if (r)
            return r;
    }
    return 0;
}

static void build_argv(const struct live_exp_workload *w, const char *exe, char bufs[4][32],
                       const char *argv[24])
{
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "workload";
    snprintf(bufs[0], 32, "%" PRIu64 "K", w->size >> 10);
    argv[n++] = "--size";
    argv[n++] = bufs[0];
    if (w->sparse_size) {
        snprintf(bufs[1], 32, "%" PRIu64 "K", w->sparse_size >> 10);
        argv[n++] = "--sparse-size";
        argv[n++] = bufs[1];
    }
    if (w->thp == LIVE_EXP_4K_ADVISED)
        argv[n++] = "--hugepage-after-fill";
    else if (w->thp == LIVE_EXP_THP_AT_FAULT)
        argv[n++] = "--hugepage";
    if (w->fault_probe_us) {
        snprintf(bufs[2], 32, "%u", w->fault_probe_us);
        argv[n++] = "--fault-probe";
        argv[n++] = bufs[2];
    }
    snprintf(bufs[3], 32, "%u", w->report_ms ? w->report_ms : 500);
    argv[n++] = "--report-ms";
    argv[n++] = bufs[3];
    if (w->random_access) {
        argv[n++] = "--random-access";
        argv[n++] = "31536000"; /* a year: it runs until we kill it */
    } else {
        argv[n++] = "--hold";
    }
    argv[n] = NULL;
}

static int parse_ready(live_exp_target_t *t, const char *line)
{
    struct live_exp_layout *l = &t->l;
    uint64_t pid = 0, fault = 0;
    if (strncmp(line, "ready ", 6) || !kv(line, "pid", &pid) || !kv(line, "addr", &l->addr) ||
        !kv(line, "size", &l->size) || !kv(line, "thp_at_fault", &fault) ||
        !kv(line, "sparse_addr", &l->sparse_addr) || !kv(line, "sparse_size", &l->sparse_size) ||
        !kv(line, "sparse_touched_pages", &l->sparse_touched_pages) ||
        !kv(line, "probe_addr", &l->probe_addr) ||
        !kv(line, "probe_other_addr", &l->probe_other_addr))
        return -EPROTO;
    l->thp_at_fault = fault != 0;
    l->probe_fifo = strstr(line, " probe_sched=fifo") != NULL;
    return (pid_t)pid == l->pid ? 0 : -EPROTO;
}

/* Reads up to the ready line (blocking, with the timeout and the stop flag). */
static int wait_ready(live_exp_target_t *t, const volatile sig_atomic_t *stop, char *err,
                      size_t err_size)
{
    double end = now_s(t->os) + READY_TIMEOUT_S;
    for (;;) {
        char *nl = memchr(t->buf, '\n', t->len);
        if (nl) {
            *nl = 0;
            int r = parse_ready(t, t->buf);
            if (r) {
                fail(err, err_size, "unexpected first line from the workload: %.200s", t->buf);
                return r;
            }
            t->l.ready_s = now_s(t->os);
            size_t used = (size_t)(nl + 1 - t->buf);
            t->len -= used;
            memmove(t->buf, nl + 1, t->len);
            return 0;
        }
        if (stop && *stop) {
            fail(err, err_size, "interrupted");
            return -EINTR;
        }
        if (now_s(t->os) > end) {
            fail(err, err_size, "the workload was not ready after %.0f s", READY_TIMEOUT_S);
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = t->out_fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = t->os->read(t->out_fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
        if (n == -EAGAIN || n == -EINTR)
            continue;
        if (n <= 0 || t->len + (size_t)n >= sizeof(t->buf) - 1) {
            if (n <= 0) {
                t->os->close(t->out_fd);
                t->out_fd = -1;
            }
            describe_exit(t, err, err_size);
            return -EPIPE;
        }
        t->len += (size_t)n;
    }
}

live_exp_target_t *live_exp_start(const struct live_exp_workload *w,
                                  const volatile sig_atomic_t *stop, char *err, size_t err_size)
{
    const struct live_os *os = &live_os_linux;
    uint64_t need = w->size + w->sparse_size + (512ull << 20), avail = mem_available(os);
    if (avail && avail < need) {
        fail(err, err_size,
             "the workload needs %" PRIu64 " MiB of memory and only %" PRIu64
             " MiB is available: use a smaller --size, or free memory",
             need >> 20, avail >> 20);
        errno = ENOMEM;
        return NULL;
    }
    char exe[4096];
    if (w->exe) {
        snprintf(exe, sizeof(exe), "%s", w->exe);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0) {
            fail(err, err_size, "cannot find my own executable (/proc/self/exe): %s",
                 strerror(errno));
            return NULL;
        }
        exe[n] = 0;
    }
    live_exp_target_t *t = calloc(1, sizeof(*t));
    if (!t) {
        fail(err, err_size, "out of memory");
        return NULL;
    }
    t->os = os;
    t->pidfd = t->out_fd = -1;
    t->l.thp = w->thp;
    t->want_rates = w->random_access;
    t->want_probes = w->fault_probe_us != 0;
    char bufs[4][32];
    const char *argv[24];
    build_argv(w, exe, bufs, argv);
    int fds[2], r = os->pipe(fds);
    if (r) {
        fail(err, err_size, "pipe: %s", strerror(-r));
        free(t);
        errno = -r;
        return NULL;
    }
    pid_t parent = getpid();
    pid_t pid = os->fork();
    if (pid < 0) {
        fail(err, err_size, "cannot start the workload: fork: %s", strerror(-pid));
        os->close(fds[0]);
        os->close(fds[1]);
        free(t);
        errno = -pid;
        return NULL;
    }
    if (pid == 0) {
        /* Never outlive the demo or the benchmark, whatever kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            os->exit_child(1);
        dup2(fds[1], 1);
        execv(exe, (char *const *)argv);
        fprintf(stderr, "bpfmm: cannot run %s workload: %s\n", exe, strerror(errno));
        os->exit_child(127);
    }
    os->close(fds[1]);
    t->out_fd = fds[0];
    t->l.pid = pid;
    t->pidfd = os->pidfd_open(pid, 0);
    r = wait_ready(t, stop, err, err_size);
    if (r) {
        live_exp_stop(t);
        errno = -r;
        return NULL;
    }
    fcntl(t->out_fd, F_SETFL, fcntl(t->out_fd, F_GETFL) | O_NONBLOCK);
    char msg[256];
    t->p = live_proc_open(os, pid, 0, msg, sizeof(msg));
    t->sc = live_scanner_new(os, live_probe_cached(os));
    if (!t->p || !t->sc) {
        fail(err, err_size, "cannot follow the workload (pid %d): %s", (int)pid,
             t->p ? "out of memory" : msg);
        live_exp_stop(t);
        errno = EIO;
        return NULL;
    }
    return t;
}

void live_exp_stop(live_exp_target_t *t)
{
    if (!t)
        return;
    if (!t->reaped && t->l.pid > 0) {
        if (t->pidfd >= 0)
            t->os->pidfd_send_signal(t->pidfd, SIGKILL);
        else
            kill(t->l.pid, SIGKILL); /* no pidfd: it is our unreaped child, the pid is ours */
        int st;
        t->os->waitpid(t->l.pid, &st);
    }
    if (t->pidfd >= 0)
        t->os->close(t->pidfd);
    if (t->out_fd >= 0)
        t->os->close(t->out_fd);
    live_scan_result_free(&t->res);
    live_vma_list_free(&t->vmas);
    live_scanner_free(t->sc);
    live_proc_close(t->p);
    free(t->rates.v);
    free(t->probes.v);
    free(t->probes_other.v);
    free(t);
}

const struct live_exp_layout *live_exp_layout(const live_exp_target_t *t)
{
    return &t->l;
}

int live_exp_sample(live_exp_target_t *t, struct live_exp_thp_state *s, char *err, size_t err_size)
{
    struct live_scan_opts o = {.sz = sizeof(o), .all_vmas = true};
    int r = live_vma_read(t->p, true, &t->vmas);
    if (!r)
        r = live_scan_process(t->sc, t->p, &t->vmas, &o, &t->res);
    if (r) {
        fail(err, err_size, "cannot scan the workload: %s", live_proc_error(t->p));
        return r;
    }
    const struct live_exp_layout *l = &t->l;
    uint64_t page = live_probe_cached(t->os)->page_size;
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < t->res.nr; i++) {
        const struct live_range *g = &t->res.r[i];
        if (g->start >= l->addr && g->start < l->addr + l->size) {
            s->huge += (uint64_t)g->nr_huge * page;
        } else if (l->sparse_size && g->start >= l->sparse_addr &&
                   g->start < l->sparse_addr + l->sparse_size) {
            s->sparse_huge += (uint64_t)g->nr_huge * page;
            s->sparse_present_pages += g->nr_present;
        }
    }
    s->share = l->size ? (double)s->huge / (double)l->size : 0;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double live_exp_rate(const live_exp_target_t *t, double from, double to)
{
    double *v = malloc((t->rates.n + 1) * sizeof(*v));
    size_t n = 0;
    if (!v)
        return NAN;
    for (size_t i = 0; i < t->rates.n; i++) {
        const struct report *r = &t->rates.v[i];
        double mid = r->mono - r->dt / 2;
        if (mid >= from && mid <= to && r->dt > 0)
            v[n++] = r->value;
    }
    double m = NAN;
    if (n) {
        qsort(v, n, sizeof(*v), cmp_double);
        m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    free(v);
    return m;
}

double live_exp_probe_max_ms(const live_exp_target_t *t, bool other_vma, double from, double to)
{
    const struct reports *rs = other_vma ? &t->probes_other : &t->probes;
    double m = NAN;
    for (size_t i = 0; i < rs->n; i++) {
        const struct report *r = &rs->v[i];
        if (r->mono >= from && r->mono - r->dt <= to && (isnan(m) || r->value / 1e3 > m))
            m = r->value / 1e3;
    }
    return m;
}
