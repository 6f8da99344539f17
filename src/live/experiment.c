/*
 * The phases of an experiment run (experiment.h): the baseline, then either the agent engine
 * driven in-process on the workload (attach, step like an event loop, until the target share
 * is reached and nothing is left to collapse, then the "after" window) or the stock kernel
 * left alone for a fixed time; THP share sampled throughout with our own scanner.
 *
 * Owns the run loop and the result; the child and its reports are experiment_target.c's.
 */
#include "experiment.h"

#include <bpfmm/policy.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static void say(char *err, size_t size, const char *fmt, ...)
{
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
}

static double now_s(void)
{
    return (double)live_os_linux.now_ns() / 1e9;
}

static bool stopped(const struct live_exp_run_opts *o)
{
    return o->stop && *o->stop;
}

/* Reads the workload's reports until `until` (monotonic s), or the stop flag. */
static int pump_until(live_exp_target_t *t, const struct live_exp_run_opts *o, double until,
                      char *err, size_t err_size)
{
    for (;;) {
        if (stopped(o)) {
            say(err, err_size, "interrupted");
            return -EINTR;
        }
        double left = until - now_s();
        if (left <= 0)
            return 0;
        int r = live_exp_pump(t, left > 0.1 ? 100 : (int)(left * 1000) + 1, err, err_size);
        if (r)
            return r;
    }
}

static void record(struct live_exp_result *r, const struct live_exp_run_opts *o, double t,
                   const struct live_exp_thp_state *s)
{
    if (r->nsamples < LIVE_EXP_MAX_SAMPLES) {
        r->samples[r->nsamples].t = (float)t;
        r->samples[r->nsamples].share = (float)s->share;
        r->nsamples++;
    }
    if (r->t_target < 0 && s->share >= r->target_share)
        r->t_target = t;
    r->final = *s;
    r->elapsed = t;
    if (o->progress)
        o->progress(o->arg, t, s);
}

static live_agent_t *agent_open(const struct live_exp_run_opts *o, uint32_t *id, char *err,
                                size_t err_size)
{
    struct live_agent_opts ao = {
        .sz = sizeof(ao), .budget = o->budget, .log = o->log, .arg = o->arg};
    char msg[2048];
    live_agent_t *a = live_agent_new(&ao, msg, sizeof(msg));
    if (!a) {
        say(err, err_size, "cannot start the agent: %s", msg);
        return NULL;
    }
    const char *policy = o->policy ? o->policy : "default";
    int r = live_agent_policy_add(a, NULL, policy, NULL, 0, id, msg, sizeof(msg));
    if (r) {
        say(err, err_size, "cannot load policy %s: %s", policy, msg);
        live_agent_free(a);
        errno = -r;
        return NULL;
    }
    return a;
}

int live_exp_run(live_exp_target_t *t, const struct live_exp_run_opts *o, struct live_exp_result *r,
                 char *err, size_t err_size)
{
    const struct live_exp_layout *l = live_exp_layout(t);
    memset(r, 0, sizeof(*r));
    r->t_target = r->t_settled = -1;
    r->rate_before = r->rate_after = NAN;
    r->probe_idle_ms = r->probe_collapse_ms = r->probe_collapse_other_ms = NAN;
    r->target_share = o->target_share > 0 ? o->target_share : 0.9;
    r->agent.sz = sizeof(r->agent);
    r->proc.sz = sizeof(r->proc);
    double sample_s = (o->sample_ms ? o->sample_ms : o->agent ? 100 : 1000) / 1000.0;
    live_agent_t *a = NULL;
    uint32_t id = 0;
    int rc = 0;
    struct live_exp_thp_state s;

    if (o->agent) {
        a = agent_open(o, &id, err, err_size);
        if (!a)
            return errno ? -errno : -EINVAL;
        rc = pump_until(t, o, l->ready_s + o->baseline_s, err, err_size);
        if (rc)
            goto out;
        double now = now_s();
        r->rate_before = live_exp_rate(t, l->ready_s, now);
        r->probe_idle_ms = live_exp_probe_max_ms(t, false, l->ready_s, now);
        rc = live_exp_sample(t, &r->start, err, err_size);
        if (rc)
            goto out;
        char msg[1024];
        r->t0 = now_s();
        rc = live_agent_attach(a, id, l->pid, NULL, msg, sizeof(msg));
        if (rc) {
            say(err, err_size, "cannot attach the agent to the workload (pid %d): %s", (int)l->pid,
                msg);
            goto out;
        }
        record(r, o, 0, &r->start);
    } else {
        r->t0 = l->ready_s;
        rc = live_exp_sample(t, &s, err, err_size);
        if (rc)
            goto out;
        r->start = s;
        if (l->thp != LIVE_EXP_THP_AT_FAULT && !l->thp_at_fault) {
            memset(&r->start, 0, sizeof(r->start));
            r->start.sparse_present_pages = l->sparse_touched_pages;
            record(r, o, 0, &r->start);
        }
        record(r, o, now_s() - r->t0, &s);
    }

    double end = r->t0 + o->max_s, next_sample = now_s() + sample_s;
    for (;;) {
        uint64_t next_ns = 0;
        if (a && (rc = live_agent_step(a, &next_ns))) {
            say(err, err_size, "the agent failed: %s", strerror(-rc));
            goto out;
        }
        double now = now_s();
        if (now >= next_sample) {
            rc = live_exp_sample(t, &s, err, err_size);
            if (rc)
                goto out;
            record(r, o, now - r->t0, &s);
            next_sample = now + sample_s;
            if (a && r->t_settled < 0 && r->t_target >= 0 &&
                live_agent_proc_status(a, l->pid, &r->proc) == 0 && r->proc.candidates == 0) {
                r->t_settled = now - r->t0;
                if (now + o->after_s < end)
                    end = now + o->after_s;
            }
        }
        if (now >= end)
            break;
        double wait = next_sample < end ? next_sample - now : end - now;
        if (a) {
            double an = (double)live_agent_timeout_ms(a, next_ns) / 1000.0;
            if (an < wait)
                wait = an;
        }
        if (wait > 0.1)
            wait = 0.1;
        rc = live_exp_pump(t, wait > 0 ? (int)(wait * 1000) : 0, err, err_size);
        if (!rc && stopped(o)) {
            say(err, err_size, "interrupted");
            rc = -EINTR;
        }
        if (rc)
            goto out;
    }
    rc = live_exp_sample(t, &s, err, err_size);
    if (rc)
        goto out;
    record(r, o, now_s() - r->t0, &s);
    /* The last reports of the windows arrive after them. */
    rc = live_exp_pump_past(t, now_s(), 5, o->stop, err, err_size);
    if (rc)
        goto out;

    double t_end = r->t0 + r->elapsed;
    if (!o->agent)
        r->rate_before = live_exp_rate(t, r->t0, r->t0 + o->baseline_s);
    if (o->after_s > 0) {
        double from = r->t_settled >= 0 ? r->t0 + r->t_settled : t_end - o->after_s;
        r->rate_after = live_exp_rate(t, from, from + o->after_s);
    }
    if (o->agent) {
        double to = r->t_settled >= 0 ? r->t0 + r->t_settled : t_end;
        r->probe_collapse_ms = live_exp_probe_max_ms(t, false, r->t0, to);
        r->probe_collapse_other_ms = live_exp_probe_max_ms(t, true, r->t0, to);
    } else {
        r->probe_idle_ms = live_exp_probe_max_ms(t, false, r->t0, t_end);
    }
out:
    if (a) {
        live_agent_status(a, &r->agent);
        live_agent_proc_status(a, l->pid, &r->proc);
        live_agent_free(a);
    }
    return rc;
}

double live_exp_growth(const struct live_exp_result *r, double *intercept)
{
    /* Least squares over the samples: khugepaged moves in steps (pages_to_scan per wake-up,
     * the first one often right after the advice), and a line through all of them weighs the
     * steps fairly where one from the first sample to the last depends on where the window
     * cut a step. */
    double n = 0, st = 0, ss = 0, stt = 0, sts = 0;
    for (unsigned i = 0; i < r->nsamples; i++) {
        double t = r->samples[i].t, y = r->samples[i].share;
        n++;
        st += t;
        ss += y;
        stt += t * t;
        sts += t * y;
    }
    double den = n * stt - st * st;
    if (n < 2 || den <= 0)
        return 0;
    double slope = (n * sts - st * ss) / den;
    if (intercept)
        *intercept = (ss - slope * st) / n;
    return slope;
}

double live_exp_extrapolate(const struct live_exp_result *r, double share)
{
    if (r->t_target >= 0 && share <= r->target_share)
        return r->t_target;
    if (r->final.share >= share)
        return r->elapsed;
    double icept = 0, slope = live_exp_growth(r, &icept);
    if (!(slope > 0))
        return INFINITY;
    double t = (share - icept) / slope;
    return t > r->elapsed ? t : r->elapsed;
}

int live_exp_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    /* A workload size: the common size syntax, above 0 and at most 1 TiB. */
    if (bpfmm_policy_parse_size(s, &v) || v == 0 || v > (1ull << 40))
        return -EINVAL;
    *out = v;
    return 0;
}
