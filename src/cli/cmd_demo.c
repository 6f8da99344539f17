/*
 * `bpfmm demo`: what the agent does, in a few minutes, on this machine. A built-in workload
 * fills a region (1 GiB) with 4 KiB pages, advises it MADV_HUGEPAGE (so khugepaged may
 * collapse it: with THP enabled=madvise it ignores unadvised memory), maps a sparse region
 * (one page per 2 MiB) beside it, and accesses the dense region at random. It runs twice:
 * left to the stock kernel (khugepaged with its settings) for a bounded time, then with the
 * agent in-process under a policy (default: `default`). A table compares the time to 90 %
 * THP, the final THP share, the access rate before and after, and the bloat of the sparse
 * region; --json gives the same for machines. docs/demo.md explains how to read it.
 *
 * Owns the command line, the two runs' parameters and the output. The measuring is
 * src/live/experiment.h's; the workload is `bpfmm workload` (this executable).
 */
#include "cli.h"
#include "live/experiment.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
    stop_sig = sig;
}

struct demo {
    uint64_t size, sparse_size;
    double khugepaged_s, agent_max_s, window_s;
    unsigned report_ms;
    const char *policy;
    bool json, quick, tty;
    const struct live_features *f;
};

static void usage(FILE *o)
{
    fputs("usage: bpfmm demo [--size SIZE] [--sparse-size SIZE] [--khugepaged-seconds N]\n"
          "                  [--policy NAME|FILE] [--quick] [--json]\n\n"
          "Shows what the agent does, on this machine: a built-in workload fills SIZE (default\n"
          "1G) with 4 KiB pages, advises it MADV_HUGEPAGE so that khugepaged may collapse it,\n"
          "maps a sparse region beside it (one page per 2 MiB), and accesses the dense region\n"
          "at random. It runs twice: left to the stock kernel (khugepaged with its settings)\n"
          "for N seconds, then with the agent under the policy (default: default). The table\n"
          "compares the time to 90 % THP, the final THP share, the access rate before and\n"
          "after, and the bloat of the sparse region (docs/demo.md explains it).\n\n"
          "Needs root (or CAP_SYS_NICE + CAP_SYS_PTRACE) and Linux >= 6.1 with MADV_COLLAPSE;\n"
          "takes about N + 20 seconds, and SIZE + SPARSE + 512 MiB of free memory.\n\n"
          "options:\n"
          "  --size SIZE              the dense region (default 1G; K, M, G suffixes)\n"
          "  --sparse-size SIZE       the sparse region (default 256M)\n"
          "  --khugepaged-seconds N   how long the stock kernel gets (default 30)\n"
          "  --policy NAME|FILE       the agent's policy (default: default)\n"
          "  --quick                  small and short (128M, 32M, 5 s): a smoke test\n"
          "  --json                   one JSON object on stdout instead of the table\n\n"
          "exit status: 0 when both runs completed, 1 when the demo cannot run here or failed,\n"
          "2 for bad arguments, 128+N when signal N interrupted it (the workload is killed).\n",
          o);
}

/* --- formatting ---------------------------------------------------------------------------- */

static const char *bytes_str(double b, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (fabs(b) >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

static const char *secs_str(double s, char *buf, size_t size)
{
    if (!isfinite(s))
        snprintf(buf, size, "never");
    else if (s < 60)
        snprintf(buf, size, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, size, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, size, "%.1f h", s / 3600);
    return buf;
}

static const char *rate_str(double r, char *buf, size_t size)
{
    if (isnan(r))
        snprintf(buf, size, "?");
    else
        snprintf(buf, size, "%.1f M", r / 1e6);
    return buf;
}

/* Resident bytes of the sparse region beyond the pages it touched. */
static double bloat(const struct live_exp_result *r, const struct live_exp_layout *l, unsigned page)
{
    double extra = (double)r->final.sparse_present_pages - (double)l->sparse_touched_pages;
    return extra > 0 ? extra * page : 0;
}

/* --- the runs ------------------------------------------------------------------------------ */

struct progress {
    const char *what;
    bool tty;
};

static void on_progress(void *arg, double t, const struct live_exp_thp_state *s)
{
    const struct progress *p = arg;
    if (p->tty) {
        fprintf(stderr, "\r  %s: %5.1f s, %5.1f %% THP ", p->what, t, 100 * s->share);
        fflush(stderr);
    }
}

static void on_log(void *arg, enum live_agent_log_level level, const char *msg)
{
    if (level <= LIVE_AGENT_LOG_WARN)
        fprintf(stderr, "%sbpfmm demo: agent: %s\n", ((struct progress *)arg)->tty ? "\n" : "",
                msg);
}

/* One run on a fresh workload; the target is stopped before returning. */
static int one_run(const struct demo *d, bool agent, struct live_exp_result *r,
                   struct live_exp_layout *layout)
{
    struct live_exp_workload w = {
        .sz = sizeof(w),
        .size = d->size,
        .sparse_size = d->sparse_size,
        .thp = LIVE_EXP_4K_ADVISED,
        .random_access = true,
        .report_ms = d->report_ms,
    };
    char err[1024];
    live_exp_target_t *t = live_exp_start(&w, &stop_sig, err, sizeof(err));
    if (!t) {
        if (!stop_sig)
            cli_error("demo: cannot start the workload: %s", err);
        return -1;
    }
    *layout = *live_exp_layout(t);
    if (layout->thp_at_fault)
        fprintf(stderr, "bpfmm demo: warning: the workload could not keep its region at 4 KiB "
                        "pages (THP at fault is on for it)\n");
    struct progress p = {agent ? "agent" : "khugepaged", d->tty};
    struct live_exp_run_opts o = {
        .sz = sizeof(o),
        .agent = agent,
        .policy = d->policy,
        .baseline_s = d->window_s,
        .max_s = agent ? d->agent_max_s : d->khugepaged_s,
        .after_s = d->window_s,
        .sample_ms = agent ? (d->quick ? 50 : 100) : (d->quick ? 250 : 1000),
        .stop = &stop_sig,
        .progress = on_progress,
        .log = on_log,
        .arg = &p,
    };
    int rc = live_exp_run(t, &o, r, err, sizeof(err));
    live_exp_stop(t);
    if (d->tty)
        fputc('\n', stderr);
    if (rc && !stop_sig)
        cli_error("demo: the %s run failed: %s", agent ? "agent" : "khugepaged", err);
    return rc ? -1 : 0;
}

/* --- output -------------------------------------------------------------------------------- */

static struct json_object *jnum(double v)
{
    return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *run_json(const struct demo *d, const struct live_exp_result *r,
                                    const struct live_exp_layout *l, bool agent)
{
    struct json_object *o = json_object_new_object();
    double est = live_exp_extrapolate(r, 0.9);
    json_object_object_add(o, "seconds", jnum(r->elapsed));
    json_object_object_add(o, "reached_90", json_object_new_boolean(r->t_target >= 0));
    json_object_object_add(o, "time_to_90_s", r->t_target >= 0 ? jnum(r->t_target) : NULL);
    json_object_object_add(o, "time_to_90_estimate_s", jnum(est));
    json_object_object_add(o, "huge_bytes_per_s_fitted",
                           jnum(live_exp_growth(r, NULL) * (double)l->size));
    json_object_object_add(o, "thp_share_start", jnum(r->start.share));
    json_object_object_add(o, "thp_share_final", jnum(r->final.share));
    json_object_object_add(o, "huge_bytes_final", json_object_new_int64((int64_t)r->final.huge));
    json_object_object_add(o, "accesses_per_s_before", jnum(r->rate_before));
    json_object_object_add(o, "accesses_per_s_after", jnum(r->rate_after));
    json_object_object_add(o, "access_speedup", jnum(r->rate_after / r->rate_before));
    json_object_object_add(o, "sparse_huge_bytes",
                           json_object_new_int64((int64_t)r->final.sparse_huge));
    json_object_object_add(o, "sparse_present_pages",
                           json_object_new_int64((int64_t)r->final.sparse_present_pages));
    json_object_object_add(o, "sparse_bloat_bytes",
                           json_object_new_int64((int64_t)bloat(r, l, d->f->page_size)));
    if (agent) {
        const struct live_agent_counters *c = &r->proc.c;
        json_object_object_add(o, "policy", json_object_new_string(d->policy));
        json_object_object_add(o, "settled_s", r->t_settled >= 0 ? jnum(r->t_settled) : NULL);
        json_object_object_add(o, "state",
                               json_object_new_string(live_agent_proc_state_name(r->proc.state)));
        json_object_object_add(o, "collapses", json_object_new_int64((int64_t)c->collapses));
        json_object_object_add(o, "collapse_bytes",
                               json_object_new_int64((int64_t)c->collapse_bytes));
        json_object_object_add(o, "calls", json_object_new_int64((int64_t)c->calls));
        struct json_object *failed = json_object_new_object();
        for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
            if (c->failed[e])
                json_object_object_add(failed, live_agent_err_name(e),
                                       json_object_new_int64((int64_t)c->failed[e]));
        json_object_object_add(o, "failed", failed);
        json_object_object_add(o, "refused", json_object_new_int64((int64_t)c->refused));
        json_object_object_add(o, "mmap_lock_ms", jnum((double)c->lock_ns / 1e6));
        json_object_object_add(o, "agent_cpu_ms", jnum((double)r->agent.cpu_ns / 1e6));
        json_object_object_add(o, "collapse_cpu_ms", jnum((double)c->collapse_cpu_ns / 1e6));
        json_object_object_add(o, "agent_cpu_ms_per_gib_scanned",
                               jnum(r->agent.cpu_ms_per_gib_scanned));
    }
    struct json_object *samples = json_object_new_array();
    for (unsigned i = 0; i < r->nsamples; i++) {
        struct json_object *p = json_object_new_array();
        json_object_array_add(p, json_object_new_double(round(r->samples[i].t * 1000) / 1000));
        json_object_array_add(p,
                              json_object_new_double(round(r->samples[i].share * 10000) / 10000));
        json_object_array_add(samples, p);
    }
    json_object_object_add(o, "samples", samples);
    return o;
}

static void print_json(const struct demo *d, const struct live_exp_result *k,
                       const struct live_exp_result *a, const struct live_exp_layout *l)
{
    const struct live_features *f = d->f;
    json_c_set_serialization_double_format("%.8g", JSON_C_OPTION_THREAD);
    struct json_object *o = json_object_new_object(), *kh = json_object_new_object();
    json_object_object_add(o, "size", json_object_new_int64((int64_t)l->size));
    json_object_object_add(o, "sparse_size", json_object_new_int64((int64_t)l->sparse_size));
    json_object_object_add(o, "sparse_touched_pages",
                           json_object_new_int64((int64_t)l->sparse_touched_pages));
    json_object_object_add(o, "page_size", json_object_new_int64(f->page_size));
    json_object_object_add(o, "kernel", json_object_new_string(f->release));
    json_object_object_add(o, "thp_enabled", json_object_new_string(f->thp_enabled));
    json_object_object_add(o, "thp_defrag", json_object_new_string(f->thp_defrag));
    json_object_object_add(kh, "pages_to_scan",
                           json_object_new_int64((int64_t)f->khugepaged.pages_to_scan));
    json_object_object_add(kh, "scan_sleep_millisecs",
                           json_object_new_int64((int64_t)f->khugepaged.scan_sleep_millisecs));
    json_object_object_add(kh, "max_ptes_none",
                           json_object_new_int64((int64_t)f->khugepaged.max_ptes_none));
    json_object_object_add(o, "khugepaged_settings", kh);
    json_object_object_add(o, "window_s", json_object_new_double(d->window_s));
    struct json_object *runs = json_object_new_object();
    json_object_object_add(runs, "khugepaged", run_json(d, k, l, false));
    json_object_object_add(runs, "agent", run_json(d, a, l, true));
    json_object_object_add(o, "runs", runs);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void print_row(const struct demo *d, const char *name, const struct live_exp_result *r,
                      const struct live_exp_layout *l, bool mark)
{
    char t90[48], b1[32], b2[32], b3[32];
    if (r->t_target >= 0)
        secs_str(r->t_target, t90, sizeof(t90));
    else
        snprintf(t90, sizeof(t90), "not reached in %.0f s%s", r->elapsed, mark ? " (*)" : "");
    double gain = r->rate_after / r->rate_before - 1;
    char gain_s[16] = "";
    if (isfinite(gain))
        snprintf(gain_s, sizeof(gain_s), "(%+.0f %%)", 100 * gain);
    printf("%-26s %-26s %7.1f %%   %8s -> %-8s %-8s %11s\n", name, t90, 100 * r->final.share,
           rate_str(r->rate_before, b1, sizeof(b1)), rate_str(r->rate_after, b2, sizeof(b2)),
           gain_s, bytes_str(bloat(r, l, d->f->page_size), b3, sizeof(b3)));
}

static void print_table(const struct demo *d, const struct live_exp_result *k,
                        const struct live_exp_result *a, const struct live_exp_layout *l)
{
    const struct live_features *f = d->f;
    char b1[32], b2[32], b3[48], name[64];
    printf("\nbpfmm demo: %s of 4 KiB pages accessed at random, and a %s sparse region (one "
           "page per 2 MiB)\n",
           bytes_str((double)l->size, b1, sizeof(b1)),
           bytes_str((double)l->sparse_size, b2, sizeof(b2)));
    printf("Linux %s, THP enabled=%s defrag=%s; khugepaged: %" PRIu64 " pages every %.0f s, "
           "max_ptes_none %" PRIu64 "\n\n",
           f->release, f->thp_enabled, f->thp_defrag, f->khugepaged.pages_to_scan,
           (double)f->khugepaged.scan_sleep_millisecs / 1000, f->khugepaged.max_ptes_none);
    printf("%-26s %-26s %9s   %-29s %11s\n", "", "time to 90 % THP", "final THP",
           "accesses/s before -> after", "sparse bloat");
    print_row(d, "stock kernel (khugepaged)", k, l, true);
    snprintf(name, sizeof(name), "bpfmm agent (%s)", d->policy);
    print_row(d, name, a, l, false);
    printf("\n");
    if (k->t_target < 0) {
        double est = live_exp_extrapolate(k, 0.9);
        if (isfinite(est))
            printf("(*) %.1f %% after %.0f s: at that rate (%s/s, fitted), 90 %% in about %s "
                   "(extrapolated)\n",
                   100 * k->final.share, k->elapsed,
                   bytes_str(live_exp_growth(k, NULL) * (double)l->size, b1, sizeof(b1)),
                   secs_str(est, b3, sizeof(b3)));
        else
            printf("(*) no huge page appeared in %.0f s: khugepaged did not get to this process "
                   "(it scans %" PRIu64 " pages of all advised processes per %.0f s%s)\n",
                   k->elapsed, f->khugepaged.pages_to_scan,
                   (double)f->khugepaged.scan_sleep_millisecs / 1000,
                   strcmp(f->thp_enabled, "never") ? "" : "; THP enabled=never stops it");
    }
    if (a->t_target >= 0 && k->t_target < 0) {
        double est = live_exp_extrapolate(k, 0.9);
        if (isfinite(est))
            printf("    the agent reached 90 %% about %.0fx sooner\n", est / a->t_target);
    }
    printf("time to 90 %% THP: from when the memory could be collapsed (MADV_HUGEPAGE for "
           "khugepaged, attach for the agent) until 90 %% of the %s region is mapped by 2 MiB "
           "pages.\n",
           bytes_str((double)l->size, b1, sizeof(b1)));
    printf("final THP: the share of that region mapped by 2 MiB pages when the run ended.\n");
    printf("accesses/s: the workload's random 8-byte accesses per second of its CPU time, over "
           "%.0f s with 4 KiB pages (before) and %.0f s at the end (after; the agent's: once it "
           "was done).\n",
           d->window_s, d->window_s);
    printf("sparse bloat: memory the sparse region gained from collapses - its resident bytes "
           "minus the %" PRIu64 " pages it touched (MADV_COLLAPSE alone would make each 2 MiB).\n",
           l->sparse_touched_pages);
    if (a->proc.state != LIVE_AGENT_PROC_ACTIVE || a->proc.state_msg[0])
        printf("agent: the workload's state was %s: %s\n",
               live_agent_proc_state_name(a->proc.state), a->proc.state_msg);
}

/* --- the command --------------------------------------------------------------------------- */

static int parse_args(struct demo *d, int argc, char **argv)
{
    enum { O_SIZE = 256, O_SPARSE, O_KSECS, O_POLICY, O_QUICK, O_JSON };
    static const struct option opts[] = {
        {"size", required_argument, NULL, O_SIZE},
        {"sparse-size", required_argument, NULL, O_SPARSE},
        {"khugepaged-seconds", required_argument, NULL, O_KSECS},
        {"policy", required_argument, NULL, O_POLICY},
        {"quick", no_argument, NULL, O_QUICK},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *size = NULL, *sparse = NULL, *ksecs = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case O_SIZE:
            size = optarg;
            break;
        case O_SPARSE:
            sparse = optarg;
            break;
        case O_KSECS:
            ksecs = optarg;
            break;
        case O_POLICY:
            d->policy = optarg;
            break;
        case O_QUICK:
            d->quick = true;
            break;
        case O_JSON:
            d->json = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        cli_error("demo: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    d->size = d->quick ? 128ull << 20 : 1ull << 30;
    d->sparse_size = d->quick ? 32ull << 20 : 256ull << 20;
    d->khugepaged_s = d->quick ? 5 : 30;
    d->agent_max_s = d->quick ? 30 : 60;
    d->window_s = d->quick ? 1 : 3;
    d->report_ms = d->quick ? 250 : 500;
    if (size && (live_exp_parse_size(size, &d->size) || d->size < (4u << 20))) {
        cli_error("demo: --size '%s' is not a size of at least 4M (e.g. 512M, 1G)", size);
        return -1;
    }
    if (sparse && (live_exp_parse_size(sparse, &d->sparse_size) || d->sparse_size < (2u << 20))) {
        cli_error("demo: --sparse-size '%s' is not a size of at least 2M (e.g. 256M)", sparse);
        return -1;
    }
    if (ksecs) {
        char *end;
        d->khugepaged_s = strtod(ksecs, &end);
        if (*end || !(d->khugepaged_s >= 1 && d->khugepaged_s <= 3600)) {
            cli_error("demo: --khugepaged-seconds takes 1 to 3600 seconds, not '%s'", ksecs);
            return -1;
        }
    }
    d->size = (d->size + (2u << 20) - 1) & ~((2ull << 20) - 1);
    return 0;
}

static int cmd_demo(int argc, char **argv)
{
    struct demo d = {.policy = "default"};
    int r = parse_args(&d, argc, argv);
    if (r)
        return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    d.tty = isatty(2);

    /* What it needs, said exactly. */
    d.f = live_probe_cached(&live_os_linux);
    char msg[1024];
    if (live_probe_require(d.f, msg, sizeof(msg))) {
        cli_error("demo: cannot run here: %s", msg);
        return CLI_EXIT_FAIL;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    static struct live_exp_result k, a; /* large (their samples) */
    struct live_exp_layout l;
    char b1[32];
    fprintf(stderr,
            "bpfmm demo: run 1 of 2: the stock kernel - %s of 4 KiB pages advised "
            "MADV_HUGEPAGE, left to khugepaged for %.0f s\n",
            bytes_str((double)d.size, b1, sizeof(b1)), d.khugepaged_s);
    int rc = one_run(&d, false, &k, &l);
    if (!rc) {
        fprintf(stderr, "bpfmm demo: run 2 of 2: the same workload with the agent (policy %s)\n",
                d.policy);
        rc = one_run(&d, true, &a, &l);
    }
    if (stop_sig) {
        fprintf(stderr, "bpfmm demo: interrupted (%s); the workload was stopped\n",
                strsignal(stop_sig));
        return 128 + stop_sig;
    }
    if (rc)
        return CLI_EXIT_FAIL;
    if (d.json)
        print_json(&d, &k, &a, &l);
    else
        print_table(&d, &k, &a, &l);
    return CLI_EXIT_OK;
}

static const struct cli_command demo_cmd = {
    .name = "demo",
    .summary = "show what the agent does: khugepaged vs the agent on a built-in workload",
    .run = cmd_demo,
};
CLI_COMMAND(demo_cmd)
