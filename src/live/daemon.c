/*
 * The agent daemon's set-up, event loop, lifecycle-event wiring, SIGHUP reload and logging
 * (daemon.h). The policy registry and attach/detach bookkeeping are in daemon_reg.c; control
 * operations, the status document and persistence in daemon_ops.c, daemon_status.c and
 * daemon_persist.c.
 */
#include "daemon_impl.h"

#include "launch.h"
#include "lifecycle_scope.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* --- logging ---------------------------------------------------------------------------- */

void dlog(struct live_daemon *d, int level, const char *fmt, ...)
{
    if (level == DLOG_DEBUG && !d->cfg.log_debug)
        return;
    /* --quiet (bpfmm run): no news of what was done; warnings (something the user should act
     * on) and errors still show */
    if (level == DLOG_INFO && d->quiet)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    static const char *const names[] = {"error", "warning", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7};
    if (level < 0 || level > 3)
        level = DLOG_INFO;
    /* Under systemd (JOURNAL_STREAM), a <N> prefix sets the journal priority of the line. */
    if (d->journal)
        fprintf(stderr, "<%d>%s\n", prio[level], msg);
    else if (level == DLOG_INFO)
        fprintf(stderr, "%s: %s\n", d->log_prefix, msg);
    else
        fprintf(stderr, "%s: %s: %s\n", d->log_prefix, names[level], msg);
}

static void agent_log(void *arg, enum live_agent_log_level level, const char *msg)
{
    struct live_daemon *d = arg;
    /* Under `bpfmm run` the engine's routine messages would interleave with CMD's output. */
    if (d->in_process && level == LIVE_AGENT_LOG_INFO)
        level = LIVE_AGENT_LOG_DEBUG;
    dlog(d, (int)level, "%s", msg);
}

/* Ends the trace rate limit's window when a second has passed, reporting the drops. */
static void trace_window(struct live_daemon *d, uint64_t now)
{
    if (now - d->trace_window_ns < 1000000000ull)
        return;
    if (d->traces_dropped)
        dlog(d, DLOG_WARN, "%llu trace_printk lines dropped (trace_per_s = %u)", d->traces_dropped,
             d->cfg.trace_per_s);
    d->trace_window_ns = now;
    d->traces_in_window = 0;
    d->traces_dropped = 0;
}

static void agent_trace(void *arg, const char *policy, pid_t pid, const char *msg)
{
    struct live_daemon *d = arg;
    /* A policy tracing in its hot path would flood the journal: at most trace_per_s lines a
     * second, and a count of what was dropped. (Policy run-time faults are rate-limited by
     * the engine.) */
    trace_window(d, d->os->now_ns());
    if (d->traces_in_window >= d->cfg.trace_per_s) {
        d->traces_dropped++;
        return;
    }
    d->traces_in_window++;
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        n--;
    dlog(d, DLOG_INFO, "policy %s, pid %d: trace_printk: %.*s", policy, (int)pid, (int)n, msg);
}

/* --- lifecycle events -------------------------------------------------------------------- */

/* Events may have been missed (dropped records, a rescan finding children no event announced,
 * a child the kernel could not register): the engine then stops assuming that processes it
 * saw exec share no memory (live_agent_events_lost). */
static void lc_check_lost(struct live_daemon *d)
{
    struct live_lifecycle_stats st = {.sz = sizeof(st)};
    if (live_lifecycle_get_stats(d->lc, &st))
        return;
    uint64_t gaps = st.lost + st.reconciles + st.rescan_found + st.insert_fails;
    if (gaps != d->lc_gaps) {
        d->lc_gaps = gaps;
        live_agent_events_lost(d->agent);
    }
}

static void on_lc_event(void *arg, const struct live_lc_event *ev)
{
    struct live_daemon *d = arg;
    if (ev->flags & (LIVE_LC_EV_RESCAN | LIVE_LC_EV_RECONCILE))
        live_agent_events_lost(d->agent); /* made up after a gap: what else was missed? */
    int rc = live_lifecycle_scope_apply(live_agent_scope(d->agent), ev);
    if (rc == -ENOENT) {
        /* the policy was removed while the event was in flight */
        if (ev->type != LIVE_LC_EXIT)
            live_lifecycle_detach(d->lc, ev->tgid);
        return;
    }
    switch (ev->type) {
    case LIVE_LC_FORK: {
        /* A FORK made up by reconciliation has no parent (0): the scope already holds the
         * child's policy and the engine just starts following it. */
        live_agent_on_fork(d->agent, ev->parent > 0 ? ev->parent : 0, ev->tgid, ev->start_time);
        if (ev->start_time)
            dstart_set(d, ev->tgid, ev->start_time);
        dlog(d, DLOG_DEBUG, "fork: %d -> %d (policy %u)%s", (int)ev->parent, (int)ev->tgid,
             ev->policy_id, ev->flags ? " (recovered)" : "");
        break;
    }
    case LIVE_LC_EXEC:
        live_agent_on_exec(d->agent, ev->tgid);
        dlog(d, DLOG_DEBUG, "exec: %d", (int)ev->tgid);
        break;
    case LIVE_LC_EXIT:
        live_agent_on_exit(d->agent, ev->tgid);
        dstart_del(d, ev->tgid);
        dlog(d, DLOG_DEBUG, "exit: %d", (int)ev->tgid);
        break;
    }
    d->dirty = true;
}

/* --- set-up -------------------------------------------------------------------------------- */

static void agent_opts_from(const struct live_config *c, struct live_agent_budget *b,
                            struct live_agent_opts *o)
{
    memset(b, 0, sizeof(*b));
    b->sz = sizeof(*b);
    b->global_bytes_per_s = c->budget_bytes_per_s;
    b->proc_bytes_per_s = c->budget_proc_bytes_per_s;
    b->proc_lock_us_per_s = c->budget_lock_us_per_s;
    b->off = c->budget_off;
    if (o) {
        o->budget = b;
        o->batch_blocks = c->batch_blocks;
        o->scan_interval_ms = c->scan_interval_ms;
    }
}

static int add_fd(struct live_daemon *d, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

enum { TAG_SIGNAL = 1, TAG_LC, TAG_CTL, TAG_HTTP, TAG_WATCH };

static int open_http(struct live_daemon *d, char *err, size_t err_size)
{
    if (!d->cfg.prom_listen[0] || d->in_process)
        return 0;
    d->http = live_prom_http_open(d->cfg.prom_listen, dprom_text, d, err, err_size);
    if (!d->http)
        return -errno;
    dlog(d, DLOG_INFO, "metrics: http://%s/metrics", d->cfg.prom_listen);
    return add_fd(d, live_prom_http_fd(d->http), TAG_HTTP);
}

live_daemon_t *live_daemon_new(const struct live_daemon_opts *o, char *err, size_t err_size)
{
    struct live_daemon *d = calloc(1, sizeof(*d));
    int rc = -ENOMEM;
    if (!d)
        goto fail_msg;
    d->cfg = *o->cfg;
    d->in_process = o->in_process;
    d->quiet = o->quiet;
    d->watch_pidfd = o->watch_pidfd;
    d->log_prefix = o->log_prefix ? o->log_prefix : "bpfmm agent";
    d->journal = getenv("JOURNAL_STREAM") != NULL;
    d->ep = d->sfd = -1;
    if (o->config_path && !(d->config_path = strdup(o->config_path)))
        goto fail_msg;
    if (o->nr_overrides) {
        d->overrides = calloc(o->nr_overrides, sizeof(char *));
        if (!d->overrides)
            goto fail_msg;
        for (unsigned i = 0; i < o->nr_overrides; i++)
            if (!(d->overrides[d->nr_overrides++] = strdup(o->overrides[i])))
                goto fail_msg;
    }
    d->os = &live_os_linux;

    /* Requirements first: say exactly what is missing. */
    d->f = live_probe_cached(d->os);
    if ((rc = live_probe_require(d->f, err, err_size)))
        goto fail;
    if (!d->in_process || d->cfg.log_debug) {
        char *report = live_probe_report(d->f);
        if (report) {
            for (char *line = strtok(report, "\n"); line; line = strtok(NULL, "\n"))
                dlog(d, d->in_process ? DLOG_DEBUG : DLOG_INFO, "%s", line);
            free(report);
        }
    }

    /* The control socket early: a second agent on the same socket stops here, before it
     * loads anything. Nothing is served before the loop runs. */
    if (!d->in_process) {
        gid_t group;
        if ((rc = live_config_group(&d->cfg, &group, err, err_size)))
            goto fail;
        struct live_ctl_opts co = {.sz = sizeof(co),
                                   .path = d->cfg.socket,
                                   .group = group,
                                   .mode = d->cfg.socket_mode,
                                   .handler = dops_handle,
                                   .arg = d};
        d->ctl = live_ctl_open(&co, err, err_size);
        if (!d->ctl) {
            rc = -errno;
            goto fail;
        }
        dlog(d, DLOG_INFO, "control socket: %s (mode %04o, group %s)", d->cfg.socket,
             d->cfg.socket_mode, d->cfg.socket_group[0] ? d->cfg.socket_group : "root only");
    }

    struct live_agent_budget budget;
    struct live_agent_opts ao = {.sz = sizeof(ao)};
    agent_opts_from(&d->cfg, &budget, &ao);
    ao.os = d->os;
    ao.features = d->f;
    ao.log = agent_log;
    ao.trace = agent_trace;
    ao.arg = d;
    ao.fork_events = true; /* the lifecycle below feeds them; lc_check_lost() reports gaps */
    d->agent = live_agent_new(&ao, err, err_size);
    if (!d->agent) {
        rc = -errno;
        goto fail;
    }

    struct live_lifecycle_opts lo = {.sz = sizeof(lo), .on_event = on_lc_event, .arg = d};
    lo.mode = !strcmp(d->cfg.lifecycle, "bpf")        ? LIVE_LC_BPF
              : !strcmp(d->cfg.lifecycle, "procconn") ? LIVE_LC_PROCCONN
                                                      : LIVE_LC_AUTO;
    d->lc = live_lifecycle_open(&lo, err, err_size);
    if (!d->lc) {
        rc = -errno;
        goto fail;
    }
    dlog(d, d->in_process ? DLOG_DEBUG : DLOG_INFO, "lifecycle: %s",
         live_lifecycle_describe(d->lc));
    if (live_lifecycle_mode(d->lc) != LIVE_LC_BPF)
        dlog(d, DLOG_WARN,
             "children of managed processes may run unmanaged for a moment after fork "
             "(proc connector); see docs/lifecycle.md");

    d->ep = epoll_create1(EPOLL_CLOEXEC);
    if (d->ep < 0) {
        rc = -errno;
        snprintf(err, err_size, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (d->in_process) {
        sigaddset(&set, SIGQUIT);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
    }
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (d->sfd < 0 || (rc = add_fd(d, d->sfd, TAG_SIGNAL)) ||
        (rc = add_fd(d, live_lifecycle_fd(d->lc), TAG_LC))) {
        rc = rc ? rc : -errno;
        snprintf(err, err_size, "cannot set up the event loop: %s", strerror(-rc));
        goto fail;
    }
    if (d->watch_pidfd >= 0 && (rc = add_fd(d, d->watch_pidfd, TAG_WATCH))) {
        snprintf(err, err_size, "cannot watch the launched process: %s", strerror(-rc));
        goto fail;
    }

    if (d->ctl && (rc = add_fd(d, live_ctl_fd(d->ctl), TAG_CTL)))
        goto fail;
    if (!d->in_process) {
        if ((rc = open_http(d, err, err_size)))
            goto fail;
        dpersist_restore(d);
    }
    d->start_ns = d->os->now_ns();
    return d;
fail_msg:
    snprintf(err, err_size, "out of memory");
fail:
    live_daemon_free(d);
    errno = -rc;
    return NULL;
}

void live_daemon_free(live_daemon_t *d)
{
    if (!d)
        return;
    live_prom_http_close(d->http);
    live_ctl_close(d->ctl);
    /* The lifecycle first: its programs stop tracking, nothing is done to the targets. */
    live_lifecycle_close(d->lc);
    live_agent_free(d->agent);
    if (d->sfd >= 0)
        close(d->sfd);
    if (d->ep >= 0)
        close(d->ep);
    live_state_free(&d->reg);
    free(d->starts);
    for (unsigned i = 0; i < d->nr_overrides; i++)
        free(d->overrides[i]);
    free(d->overrides);
    free(d->config_path);
    free(d);
}

int live_daemon_attach_self(live_daemon_t *d, const char *policy, const char *const *rodata,
                            unsigned nr_rodata, pid_t pid, char *err, size_t err_size)
{
    uint32_t id;
    int rc = dpolicy_add(d, NULL, policy, rodata, nr_rodata, &id, err, err_size);
    if (rc)
        return rc;
    rc = dattach(d, id, pid, NULL, 0, err, err_size);
    if (rc)
        dpolicy_remove(d, id);
    return rc;
}

/* --- reload -------------------------------------------------------------------------------- */

static void reload(struct live_daemon *d)
{
    struct live_config c;
    char err[1024];
    live_config_defaults(&c);
    if (d->config_path) {
        int rc = live_config_load(&c, d->config_path, err, sizeof(err));
        if (rc) {
            dlog(d, DLOG_ERR, "reload: %s; keeping the current settings", err);
            return;
        }
    }
    for (unsigned i = 0; i < d->nr_overrides; i++) {
        char kv[PATH_MAX + 64];
        snprintf(kv, sizeof(kv), "%s", d->overrides[i]);
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = 0;
            live_config_set(&c, kv, eq + 1, err, sizeof(err));
        }
    }
    struct live_agent_budget b;
    agent_opts_from(&c, &b, NULL);
    int rc = live_agent_set_budget(d->agent, &b);
    if (rc)
        dlog(d, DLOG_ERR, "reload: the budget was refused: %s", strerror(-rc));
    if (d->ctl &&
        (c.socket_mode != d->cfg.socket_mode || strcmp(c.socket_group, d->cfg.socket_group))) {
        gid_t g;
        if (live_config_group(&c, &g, err, sizeof(err)) ||
            live_ctl_set_access(d->ctl, g, c.socket_mode, err, sizeof(err)))
            dlog(d, DLOG_ERR, "reload: %s", err);
        else
            dlog(d, DLOG_INFO, "control socket: mode %04o, group %s", c.socket_mode,
                 c.socket_group[0] ? c.socket_group : "root only");
    }
    if (strcmp(c.prom_listen, d->cfg.prom_listen) && !d->in_process) {
        if (d->http) {
            epoll_ctl(d->ep, EPOLL_CTL_DEL, live_prom_http_fd(d->http), NULL);
            live_prom_http_close(d->http);
            d->http = NULL;
        }
        snprintf(d->cfg.prom_listen, sizeof(d->cfg.prom_listen), "%s", c.prom_listen);
        if (open_http(d, err, sizeof(err)))
            dlog(d, DLOG_ERR, "reload: %s", err);
    }
    if (strcmp(c.socket, d->cfg.socket) || strcmp(c.state, d->cfg.state) ||
        strcmp(c.lifecycle, d->cfg.lifecycle) || c.batch_blocks != d->cfg.batch_blocks ||
        c.scan_interval_ms != d->cfg.scan_interval_ms)
        dlog(d, DLOG_WARN,
             "reload: socket, state, lifecycle, batch_blocks and scan_interval_ms take effect "
             "at the next start");
    /* Keep what needs a restart; take the rest. */
    struct live_config keep = d->cfg;
    d->cfg = c;
    memcpy(d->cfg.socket, keep.socket, sizeof(keep.socket));
    memcpy(d->cfg.state, keep.state, sizeof(keep.state));
    memcpy(d->cfg.lifecycle, keep.lifecycle, sizeof(keep.lifecycle));
    d->cfg.batch_blocks = keep.batch_blocks;
    d->cfg.scan_interval_ms = keep.scan_interval_ms;
    dlog(d, DLOG_INFO, "configuration reloaded");
}

/* --- the loop ------------------------------------------------------------------------------ */

static void housekeeping(struct live_daemon *d, uint64_t now)
{
    trace_window(d, now);
    if (d->ctl && d->cfg.state[0] && d->dirty && now - d->last_save_ns >= 1000000000ull) {
        d->last_save_ns = now;
        dpersist_save(d);
    }
    if (d->cfg.prom_file[0] && !d->in_process &&
        now - d->last_prom_ns >=
            (uint64_t)(d->cfg.prom_interval_s ? d->cfg.prom_interval_s : 15) * 1000000000ull) {
        d->last_prom_ns = now;
        char *text = dprom_text(d);
        char err[512];
        if (text && live_prom_write_file(d->cfg.prom_file, text, err, sizeof(err)))
            dlog(d, DLOG_WARN, "%s", err);
        free(text);
    }
    if (d->http)
        live_prom_http_dispatch(d->http);
    if (d->ctl)
        live_ctl_expire(d->ctl, 60);
}

static void on_signal(struct live_daemon *d)
{
    struct signalfd_siginfo si;
    while (read(d->sfd, &si, sizeof(si)) == sizeof(si)) {
        if (d->in_process) {
            /* bpfmm run: the command decides; a terminal's ^C/^\ already reached it. */
            if ((si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT) && si.ssi_code == SI_KERNEL)
                continue;
            live_launch_forward(d->watch_pidfd, (int)si.ssi_signo);
            continue;
        }
        if (si.ssi_signo == SIGHUP) {
            reload(d);
        } else {
            d->stop = true;
            d->stop_reason = si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
        }
    }
}

int live_daemon_run(live_daemon_t *d)
{
    int rc = 0;
    uint64_t next = 0;
    if (!d->in_process)
        dlog(d, DLOG_INFO, "running (pid %d)", (int)getpid());
    while (!d->stop) {
        uint64_t now = d->os->now_ns();
        if (next <= now) {
            rc = live_agent_step(d->agent, &next);
            if (rc) {
                dlog(d, DLOG_ERR, "the engine failed: %s", strerror(-rc));
                break;
            }
        }
        int timeout = live_agent_timeout_ms(d->agent, next);
        if (timeout > 1000 || timeout < 0)
            timeout = 1000;
        struct epoll_event evs[16];
        int n = epoll_wait(d->ep, evs, 16, timeout);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            dlog(d, DLOG_ERR, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            switch (evs[i].data.u64) {
            case TAG_SIGNAL:
                on_signal(d);
                break;
            case TAG_LC: {
                int r = live_lifecycle_poll(d->lc, 0);
                if (r < 0)
                    dlog(d, DLOG_WARN, "lifecycle: %s", strerror(-r));
                lc_check_lost(d);
                /* new processes want a scan */
                next = 0;
                break;
            }
            case TAG_CTL:
                live_ctl_dispatch(d->ctl);
                /* What the operator asked for is saved at once (a SIGKILL right after an
                 * attach must not lose it); lifecycle changes are saved at most once a
                 * second. */
                if (d->dirty && d->cfg.state[0]) {
                    d->last_save_ns = d->os->now_ns();
                    dpersist_save(d);
                }
                next = 0;
                break;
            case TAG_HTTP:
                /* A SIGHUP earlier in this batch may have closed the endpoint. */
                if (d->http)
                    live_prom_http_dispatch(d->http);
                break;
            case TAG_WATCH:
                d->stop = true;
                d->stop_reason = "the command exited";
                break;
            }
        }
        housekeeping(d, d->os->now_ns());
    }
    if (d->ctl && d->cfg.state[0])
        dpersist_save(d);
    if (!d->in_process)
        dlog(d, DLOG_INFO, "stopping (%s); managed processes are left as they are",
             d->stop_reason ? d->stop_reason : "error");
    return rc;
}
