/*
 * `bpfmm bench agent`: the agent against the stock kernel, on `bpfmm workload` targets
 * (src/live/experiment.h runs them; one target at a time, SIGKILLed at the end of each run).
 * Full run: about 3-6 minutes; 1 GiB regions for convergence, 4 GiB for access rates.
 *
 * Metrics (issue 4, Performance):
 *   converge_s_1g          time to 90 % THP for 1 GiB of 4 KiB pages under the agent, default
 *                          policy and budget (median of 3 runs; the region is not advised, so
 *                          khugepaged stays out of it)
 *   khugepaged_converge_s_1g  the same for khugepaged with its settings, in this run (once):
 *                          the region is advised MADV_HUGEPAGE after the fill, left alone for
 *                          60 s, and the THP share's growth extrapolated linearly (least
 *                          squares over 1 s samples) to 90 %; null if nothing grew
 *   converge_speedup_vs_khugepaged  the ratio (target: >= 100)
 *   agent_cpu_ms_per_gib_scanned   the engine's own figure (live_agent_status) at the end of
 *                          each default-budget run, median (target: <= 10). The target is
 *                          idle then (only its fault probe runs); beside it,
 *                          agent_cpu_ms_per_gib_scanned_busy_target is the same figure from the
 *                          access-rate runs, whose 4 GiB target does random accesses on the other
 *                          CPU all the while (the same page-table walks cost more then)
 *   target_max_fault_stall_ms      the worst fault of a probe thread in the target's collapsing
 *                          VMA (a fresh 4 KiB page every 200 us, SCHED_FIFO so that CPU waits
 *                          are not counted) from the attach until nothing was left to collapse,
 *                          default budget (median over the 3 runs of each run's worst)
 *   target_max_fault_stall_ms_unbudgeted  the same with the budget off (3 runs, alternated
 *                          with the default-budget ones)
 *   target_max_fault_stall_ms_other_vma[_unbudgeted]  the same for a control probe faulting at
 *                          the same time in a VMA of its own (per-VMA locks let its faults pass
 *                          the collapse): what the platform adds whatever the lock does (on a
 *                          virtual machine, a fault on memory the host must back anew)
 *   gups_speedup           the random 8-byte access rate of a 4 GiB workload once the agent
 *                          has converged / its rate with 4 KiB pages just before (same
 *                          workload; the agent runs without a budget here so that the two
 *                          windows are seconds apart, not minutes: the converged state is the
 *                          same)
 *   gups_speedup_thp_at_fault  the rate of a 4 GiB workload with THP at fault (MADV_HUGEPAGE
 *                          before the fill) / the same 4 KiB rate
 *   gups_agent_vs_thp_at_fault  the first over the second (target: >= 0.85)
 * and beside them: the unbudgeted convergence time, the probe's worst fault with nothing
 * collapsing (the machine's noise floor), khugepaged's share after its window and its rate,
 * the THP shares the access-rate runs reached, and target_*_met (1 or 0, null when a figure
 * is missing; never assumed).
 * Access rates are per second of the accessing thread's CPU time (a shared machine's other
 * load then does not count), medians of the workload's 500 ms reports in 4 s windows; the
 * ratios are medians over 3 repetitions, each with its own 4 KiB baseline.
 * --quick: 128 MiB and 256 MiB regions, 5 s of khugepaged, 1 s windows, one run of each: a
 * smoke test (the *_1g and gups keys then hold those sizes' figures; size_gib says which).
 */
#include "bench.h"

#include "live/experiment.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct plan {
    uint64_t conv_size, gups_size;
    double khugepaged_s, window_s;
    unsigned runs, gups_runs;
    bool verbose;
};

static double median(double *v, unsigned n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[k++] = v[i];
    return k ? bench_median(v, k) : NAN;
}

static double max_of(const double *v, unsigned n)
{
    double m = NAN;
    for (unsigned i = 0; i < n; i++)
        if (!isnan(v[i]) && (isnan(m) || v[i] > m))
            m = v[i];
    return m;
}

static void quiet_log(void *arg, enum live_agent_log_level level, const char *msg)
{
    if (level <= LIVE_AGENT_LOG_WARN)
        fprintf(stderr, "bench agent: agent: %s\n", msg);
}

/* One workload, one run; the result in r (static storage: it is large). */
static int run_one(const struct plan *p, const struct live_exp_workload *w,
                   const struct live_exp_run_opts *o, struct live_exp_result *r, const char *what)
{
    char err[1024];
    live_exp_target_t *t = live_exp_start(w, NULL, err, sizeof(err));
    if (!t) {
        fprintf(stderr, "bench agent: %s: cannot start the workload: %s\n", what, err);
        return -1;
    }
    if (live_exp_layout(t)->thp_at_fault && w->thp != LIVE_EXP_THP_AT_FAULT)
        fprintf(stderr, "bench agent: %s: warning: the workload gets THP at fault here\n", what);
    int rc = live_exp_run(t, o, r, err, sizeof(err));
    live_exp_stop(t);
    if (rc) {
        fprintf(stderr, "bench agent: %s: %s\n", what, err);
        return -1;
    }
    if (o->agent && r->proc.state != LIVE_AGENT_PROC_ACTIVE) {
        fprintf(stderr, "bench agent: %s: the target ended %s: %s\n", what,
                live_agent_proc_state_name(r->proc.state), r->proc.state_msg);
        return -1;
    }
    if (p->verbose)
        fprintf(stderr,
                "bench agent: %s: t90 %.2f s, settled %.2f s, final %.1f %% THP, rate %.1f -> "
                "%.1f M/s, probe idle %.2f ms, collapse %.2f ms (other VMA %.2f ms), cpu %.2f "
                "ms/GiB scanned\n",
                what, r->t_target, r->t_settled, 100 * r->final.share, r->rate_before / 1e6,
                r->rate_after / 1e6, r->probe_idle_ms, r->probe_collapse_ms,
                r->probe_collapse_other_ms, r->agent.cpu_ms_per_gib_scanned);
    if (p->verbose && o->agent)
        fprintf(stderr,
                "bench agent: %s: %" PRIu64 " calls, %" PRIu64 " blocks, mmap lock %.0f ms, "
                "collapse wall %.0f ms, cpu %.0f ms, %" PRIu64 " budget waits, %" PRIu64
                " scans, agent cpu %.1f ms\n",
                what, r->proc.c.calls, r->proc.c.collapses, (double)r->proc.c.lock_ns / 1e6,
                (double)r->proc.c.collapse_wall_ns / 1e6, (double)r->proc.c.collapse_cpu_ns / 1e6,
                r->proc.c.budget_waits, r->proc.c.scans, (double)r->agent.cpu_ns / 1e6);
    return 0;
}

static struct live_exp_result res; /* one at a time */

static int run(const struct bench_args *args, struct bench_metrics *out)
{
    const struct live_features *f = live_probe_cached(&live_os_linux);
    char msg[1024];
    if (live_probe_require(f, msg, sizeof(msg))) {
        printf("bench agent: cannot run here: %s\n", msg);
        return 77;
    }
    struct plan p = {
        .conv_size = args->quick ? 128ull << 20 : 1ull << 30,
        .gups_size = args->quick ? 256ull << 20 : 4ull << 30,
        .khugepaged_s = args->quick ? 5 : 60,
        .window_s = args->quick ? 1 : 4,
        .runs = args->quick ? 1 : 3,
        .gups_runs = args->quick ? 1 : 3,
        .verbose = args->verbose,
    };
    enum { MAXR = 8 };
    double conv[MAXR], conv_off[MAXR], cpu[MAXR], stall[MAXR], stall_off[MAXR], idle[MAXR];
    double ctl[MAXR], ctl_off[MAXR];
    double g_agent[MAXR], g_thp[MAXR], g_4k[MAXR], g_share_agent[MAXR], g_share_thp[MAXR];
    double cpu_busy[MAXR];

    /* 1. khugepaged alone, once. */
    struct live_exp_workload w = {
        .sz = sizeof(w), .size = p.conv_size, .thp = LIVE_EXP_4K_ADVISED, .report_ms = 500};
    struct live_exp_run_opts o = {.sz = sizeof(o),
                                  .max_s = p.khugepaged_s,
                                  .sample_ms = args->quick ? 250 : 1000,
                                  .log = quiet_log};
    if (run_one(&p, &w, &o, &res, "khugepaged"))
        return 1;
    double k_est = live_exp_extrapolate(&res, 0.9);
    double k_share = res.final.share;
    double k_rate = live_exp_growth(&res, NULL) * (double)p.conv_size / (1 << 20);

    /* 2. Convergence under the agent, default budget and none, alternated. The region is not
     * advised here: khugepaged would otherwise collapse its first 16 MiB right after the
     * advice, and its collapses would stall the probe before the agent even starts. */
    const struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    w.thp = LIVE_EXP_4K;
    w.fault_probe_us = 200;
    w.report_ms = 100;
    o = (struct live_exp_run_opts){.sz = sizeof(o),
                                   .agent = true,
                                   .baseline_s = 1,
                                   .max_s = 180,
                                   .sample_ms = 50,
                                   .log = quiet_log};
    /* Which goes first alternates: on a virtual machine the first collapses after a pause get
     * huge pages the host has to back anew (several times slower), the next ones reuse warm
     * memory just freed. */
    for (unsigned k = 0; k < 2 * p.runs; k++) {
        unsigned i = k / 2;
        bool budgeted = (k % 2) == (i % 2);
        o.budget = budgeted ? NULL : &off;
        if (run_one(&p, &w, &o, &res, budgeted ? "agent, default budget" : "agent, no budget"))
            return 1;
        double t90 = res.t_target >= 0 ? res.t_target : INFINITY;
        if (budgeted) {
            conv[i] = t90;
            cpu[i] = res.agent.cpu_ms_per_gib_scanned;
            stall[i] = res.probe_collapse_ms;
            ctl[i] = res.probe_collapse_other_ms;
            idle[i] = res.probe_idle_ms;
        } else {
            conv_off[i] = t90;
            stall_off[i] = res.probe_collapse_ms;
            ctl_off[i] = res.probe_collapse_other_ms;
        }
    }

    /* 3. Access rates: 4 KiB pages, then converged by the agent; THP at fault. */
    for (unsigned i = 0; i < p.gups_runs; i++) {
        w = (struct live_exp_workload){.sz = sizeof(w),
                                       .size = p.gups_size,
                                       .thp = LIVE_EXP_4K,
                                       .random_access = true,
                                       .report_ms = 500};
        o = (struct live_exp_run_opts){.sz = sizeof(o),
                                       .agent = true,
                                       .budget = &off,
                                       .baseline_s = p.window_s,
                                       .max_s = 600,
                                       .after_s = p.window_s,
                                       .sample_ms = 200,
                                       .log = quiet_log};
        if (run_one(&p, &w, &o, &res, "access rate, 4 KiB then the agent"))
            return 1;
        g_4k[i] = res.rate_before;
        g_agent[i] = res.rate_after / res.rate_before;
        g_share_agent[i] = res.final.share;
        cpu_busy[i] = res.agent.cpu_ms_per_gib_scanned;
        w.thp = LIVE_EXP_THP_AT_FAULT;
        o = (struct live_exp_run_opts){.sz = sizeof(o),
                                       .baseline_s = p.window_s,
                                       .max_s = p.window_s,
                                       .sample_ms = 1000,
                                       .log = quiet_log};
        if (run_one(&p, &w, &o, &res, "access rate, THP at fault"))
            return 1;
        g_thp[i] = res.rate_before / g_4k[i];
        g_share_thp[i] = res.final.share;
    }

    double c = median(conv, p.runs), c_off = median(conv_off, p.runs);
    double speedup = k_est / c;
    double ga = median(g_agent, p.gups_runs), gt = median(g_thp, p.gups_runs);
    double cpu_ms = median(cpu, p.runs);
    bench_metric(out, "converge_s_1g", c);
    bench_metric(out, "khugepaged_converge_s_1g", k_est);
    bench_metric(out, "converge_speedup_vs_khugepaged", speedup);
    bench_metric(out, "agent_cpu_ms_per_gib_scanned", cpu_ms);
    bench_metric(out, "target_max_fault_stall_ms", median(stall, p.runs));
    bench_metric(out, "target_max_fault_stall_ms_unbudgeted", median(stall_off, p.runs));
    bench_metric(out, "gups_speedup", ga);
    bench_metric(out, "gups_speedup_thp_at_fault", gt);
    bench_metric(out, "gups_agent_vs_thp_at_fault", ga / gt);
    bench_metric(out, "converge_s_1g_unbudgeted", c_off);
    bench_metric(out, "agent_cpu_ms_per_gib_scanned_busy_target", median(cpu_busy, p.gups_runs));
    bench_metric(out, "target_max_fault_stall_ms_worst_run", max_of(stall, p.runs));
    bench_metric(out, "target_max_fault_stall_ms_idle", median(idle, p.runs));
    bench_metric(out, "target_max_fault_stall_ms_other_vma", median(ctl, p.runs));
    bench_metric(out, "target_max_fault_stall_ms_other_vma_unbudgeted", median(ctl_off, p.runs));
    bench_metric(out, "khugepaged_window_s", p.khugepaged_s);
    bench_metric(out, "khugepaged_thp_share_in_window", k_share);
    bench_metric(out, "khugepaged_mib_per_s", k_rate);
    bench_metric(out, "gups_accesses_per_s_4k", median(g_4k, p.gups_runs));
    bench_metric(out, "gups_thp_share_agent", median(g_share_agent, p.gups_runs));
    bench_metric(out, "gups_thp_share_thp_at_fault", median(g_share_thp, p.gups_runs));
    bench_metric(out, "target_converge_100x_met", isfinite(speedup) ? speedup >= 100 : NAN);
    bench_metric(out, "target_gups_within_15pct_met", isfinite(ga / gt) ? ga / gt >= 0.85 : NAN);
    bench_metric(out, "target_cpu_10ms_per_gib_met", isfinite(cpu_ms) ? cpu_ms <= 10 : NAN);
    bench_metric(out, "size_gib", (double)p.conv_size / (1 << 30));
    bench_metric(out, "gups_size_gib", (double)p.gups_size / (1 << 30));
    bench_metric(out, "runs", p.runs);
    bench_metric(out, "gups_runs", p.gups_runs);
    return 0;
}

static const struct bench_def agent_bench = {
    .name = "agent",
    .summary = "agent vs khugepaged: time to 90 % THP, CPU, fault stalls, access-rate gain",
    .default_runs = 1, /* repeats inside; khugepaged's minute only once */
    .run = run,
};
BENCH_REGISTER(agent_bench);
