/*
 * Experiments on the real kernel, shared by `bpfmm demo` and `bpfmm bench agent`: start a
 * `bpfmm workload` child (its options chosen here), then either run the agent engine
 * in-process on it or leave it to the stock kernel (khugepaged), while sampling the share of
 * its region mapped by huge pages with a scanner of our own (not the agent's bookkeeping) and
 * collecting the access rates and fault-probe reports the workload prints.
 *
 * Owns: the workload child (start, output parsing, SIGKILL and reaping), the phases of a run
 * (baseline, collapse, settle, after) and what is measured in each. Not: the engine
 * (agent.h), the workload itself (src/cli/cmd_workload.c), output formatting (the demo and
 * the benchmark), requirement checks (live_probe_require).
 *
 * A run, with the agent:
 *
 *     ready ---- baseline_s ---- attach (t0) ---- target share ---- settled ---- after_s ---|
 *     rate_before, probe idle    probe max during the collapse         rate_after
 *
 * and without it (khugepaged; the region was advised just before the ready line, t0):
 *
 *     ready (t0) ---- baseline_s ---- ... ---- max_s ---|
 *     rate_before                        rate_after (the last after_s)
 *
 * Times are CLOCK_MONOTONIC seconds (the workload's reports use the same clock). Access rates
 * are per second of the accessing thread's CPU time (other load on a shared machine then
 * does not count), the median of the workload's periodic reports whose middle lies inside a
 * window; fault stalls are the worst single fault of the reports that overlap a window.
 *
 * Errors: 0 or a negative errno with a message (what, why, what to do) in err; -EINTR when
 * *stop became non-zero. Children never outlive their parent (PR_SET_PDEATHSIG).
 */
#ifndef BPFMM_LIVE_EXPERIMENT_H
#define BPFMM_LIVE_EXPERIMENT_H

#include "agent.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How the workload's region starts. */
enum live_exp_thp {
    LIVE_EXP_4K = 0,           /* 4 KiB pages, never advised (khugepaged ignores it) */
    LIVE_EXP_4K_ADVISED = 1,   /* 4 KiB pages, then MADV_HUGEPAGE: khugepaged may collapse */
    LIVE_EXP_THP_AT_FAULT = 2, /* MADV_HUGEPAGE before the fill: huge pages at fault */
};

struct live_exp_workload {
    size_t sz;
    const char *exe;      /* the bpfmm executable; NULL: this one (/proc/self/exe) */
    uint64_t size;        /* the dense region (rounded up to 2 MiB) */
    uint64_t sparse_size; /* a sparse region, one page per 2 MiB, above it; 0: none */
    enum live_exp_thp thp;
    bool random_access;      /* random 8-byte accesses to the dense region until killed */
    unsigned report_ms;      /* the workload's report period; 0: 500 */
    unsigned fault_probe_us; /* fault-latency probes (the region's VMA, and a control in a VMA
                              * of its own); 0: none */
};

/* Where the workload's memory is (its ready line). */
struct live_exp_layout {
    pid_t pid;
    uint64_t addr, size;
    uint64_t sparse_addr, sparse_size, sparse_touched_pages;
    uint64_t probe_addr;       /* the probe's block, in the region's VMA (0: no probe) */
    uint64_t probe_other_addr; /* the control probe's block, in a VMA of its own */
    bool probe_fifo;           /* the probe runs SCHED_FIFO (faults timed without CPU waits) */
    enum live_exp_thp thp;
    bool thp_at_fault; /* the workload could not keep the region at 4 KiB pages */
    double ready_s;    /* when the ready line arrived */
};

typedef struct live_exp_target live_exp_target_t;

/* Starts the workload and waits for its ready line (up to 300 s: filling 4 GiB takes a
 * while). Checks MemAvailable first (-ENOMEM with a message). NULL + errno on failure. */
live_exp_target_t *live_exp_start(const struct live_exp_workload *w,
                                  const volatile sig_atomic_t *stop, char *err, size_t err_size);
/* SIGKILLs the workload, reaps it, frees everything (NULL is fine). */
void live_exp_stop(live_exp_target_t *t);
const struct live_exp_layout *live_exp_layout(const live_exp_target_t *t);

/* Reads what the workload printed, waiting up to timeout_ms for the first bytes. 0, or
 * -EPIPE when its output closed (it died: the message says how). */
int live_exp_pump(live_exp_target_t *t, int timeout_ms, char *err, size_t err_size);

/* Reads reports until those the workload prints (rate, probe) cover up to `until` (their
 * last one ends at or after it), at most timeout_s: a window is judged once its last report
 * is in. */
int live_exp_pump_past(live_exp_target_t *t, double until, double timeout_s,
                       const volatile sig_atomic_t *stop, char *err, size_t err_size);

/* The region's huge-page state, from a scan of our own. */
struct live_exp_thp_state {
    uint64_t huge;        /* bytes of the dense region mapped by PMDs */
    double share;         /* huge / size */
    uint64_t sparse_huge; /* bytes of the sparse region mapped by PMDs */
    uint64_t sparse_present_pages;
};
int live_exp_sample(live_exp_target_t *t, struct live_exp_thp_state *s, char *err, size_t err_size);

/* Median accesses per CPU second of the rate reports whose middle lies in [from, to]; NAN if
 * none. */
double live_exp_rate(const live_exp_target_t *t, double from, double to);
/* The worst single fault (ms) of the probe reports overlapping [from, to] - of the probe in
 * the region's VMA, or of the control probe in a VMA of its own; NAN if none. */
double live_exp_probe_max_ms(const live_exp_target_t *t, bool other_vma, double from, double to);

struct live_exp_run_opts {
    size_t sz;
    bool agent;                             /* false: the stock kernel only (khugepaged) */
    const char *policy;                     /* shipped name or path; NULL: "default" */
    const struct live_agent_budget *budget; /* NULL: the engine's defaults */
    double baseline_s;                      /* before t0 with the agent; after it without */
    double max_s;                           /* the run ends at t0 + max_s at the latest */
    double target_share;                    /* 0: 0.9 */
    double after_s;                         /* see above; 0: no rate_after */
    unsigned sample_ms;                     /* 0: 100 with the agent, 1000 without */
    const volatile sig_atomic_t *stop;      /* non-zero: give up (-EINTR) */
    /* Called after every sample (t: seconds since t0). */
    void (*progress)(void *arg, double t, const struct live_exp_thp_state *s);
    void *arg;
    /* The engine's messages (NULL: its default, errors and warnings on stderr). */
    void (*log)(void *arg, enum live_agent_log_level level, const char *msg);
};

#define LIVE_EXP_MAX_SAMPLES 4096

struct live_exp_result {
    double t0;           /* monotonic s: attach (agent) or the ready line (khugepaged) */
    double t_target;     /* s from t0 to the target share; -1: not reached */
    double t_settled;    /* agent: s from t0 until nothing was left to collapse; -1 */
    double elapsed;      /* s from t0 to the last sample */
    double target_share; /* as used */
    /* The state at t0: measured just before the attach with the agent; without it, for a
     * region filled with 4 KiB pages and advised only then, known to be all 4 KiB pages (the
     * ready line follows the advice at once, and khugepaged may act before a scan could). */
    struct live_exp_thp_state start, final;
    double rate_before, rate_after; /* accesses per CPU second; NAN when not measured */
    double probe_idle_ms;           /* worst fault before t0 (agent) / in the run; NAN */
    double probe_collapse_ms;       /* worst fault from t0 to settled (or the end); NAN */
    double probe_collapse_other_ms; /* the same for the control probe (another VMA); NAN */
    /* With the agent: its totals and the target's status at the end. */
    struct live_agent_status agent;
    struct live_agent_proc_status proc;
    /* THP share over time (seconds since t0), at most LIVE_EXP_MAX_SAMPLES. */
    unsigned nsamples;
    struct {
        float t, share;
    } samples[LIVE_EXP_MAX_SAMPLES];
};

/* One run on a started target (see the top of this file). Partial results are kept in r on
 * failure. */
int live_exp_run(live_exp_target_t *t, const struct live_exp_run_opts *o, struct live_exp_result *r,
                 char *err, size_t err_size);

/* Seconds from t0 until the region would reach share, extrapolated linearly from the THP
 * share's growth over the run (a least-squares line through the samples): the measured time
 * if it was reached, INFINITY if nothing grew. For the khugepaged run, which takes minutes. */
double live_exp_extrapolate(const struct live_exp_result *r, double share);
/* That line's slope (share per second; 0 if it cannot be fitted) and its value at t0. */
double live_exp_growth(const struct live_exp_result *r, double *intercept);

/* "64M", "1G", "1GiB", "4096": bytes (K, M, G suffixes, powers of 1024). -EINVAL for anything
 * else, zero, or more than 1 TiB. */
int live_exp_parse_size(const char *s, uint64_t *out);

#endif
