/*
 * `bpfmm bench NAME [--json] [--runs N] [--quick]`: runs a registered benchmark N times and
 * prints the median of every metric. Owns the command line and output, not the measurements
 * (bench/bench_*.c).
 */
#include "bench.h"
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void bench_usage(FILE *out)
{
    fprintf(out, "usage: bpfmm bench NAME [--json] [--runs N] [--quick] [--verbose]\n"
                 "       bpfmm bench list\n\n"
                 "Runs a benchmark N times (default: the benchmark's own choice) and prints the\n"
                 "median of each metric, as a table or as one JSON object\n"
                 "{\"name\": ..., \"metrics\": {...}}.\n\nbenchmarks:\n");
    for (unsigned i = 0; i < bench_count(); i++)
        fprintf(out, "  %-10s %s\n", bench_at(i)->name, bench_at(i)->summary);
}

static void print_json_number(double v)
{
    if (!isfinite(v))
        printf("null");
    else if (v == floor(v) && fabs(v) < 1e15)
        printf("%.0f", v);
    else
        printf("%.6g", v);
}

static int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},  {"runs", required_argument, NULL, 'r'},
        {"quick", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},  {NULL, 0, NULL, 0},
    };
    bool json = false;
    long runs = 0;
    struct bench_args args = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jr:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'r': {
            char *end;
            runs = strtol(optarg, &end, 10);
            if (*end || runs < 1 || runs > 1000) {
                cli_error("bench: --runs wants a number from 1 to 1000, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case 'q':
            args.quick = true;
            break;
        case 'v':
            args.verbose = true;
            break;
        case 'h':
            bench_usage(stdout);
            return CLI_EXIT_OK;
        default:
            bench_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        bench_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (!strcmp(name, "list")) {
        for (unsigned i = 0; i < bench_count(); i++)
            printf("%-10s %s\n", bench_at(i)->name, bench_at(i)->summary);
        return CLI_EXIT_OK;
    }
    const struct bench_def *def = bench_find(name);
    if (!def) {
        cli_error("bench: no benchmark named '%s'; `bpfmm bench list` shows them", name);
        return CLI_EXIT_USAGE;
    }
    if (!runs)
        runs = def->default_runs ? def->default_runs : 5;

    struct bench_metrics *all = calloc((size_t)runs, sizeof(*all));
    double *vals = calloc((size_t)runs, sizeof(*vals));
    if (!all || !vals) {
        cli_error("bench: out of memory");
        free(all);
        free(vals);
        return CLI_EXIT_FAIL;
    }
    int rc = 0;
    for (long r = 0; r < runs; r++) {
        if (args.verbose)
            fprintf(stderr, "bench %s: run %ld/%ld\n", name, r + 1, runs);
        rc = def->run(&args, &all[r]);
        if (rc)
            break;
    }
    if (rc) {
        free(all);
        free(vals);
        return rc == 77 ? 77 : CLI_EXIT_FAIL;
    }

    /* Median over runs, per metric key of the first run. */
    struct bench_metrics med = {0};
    for (unsigned k = 0; k < all[0].n; k++) {
        unsigned n = 0;
        for (long r = 0; r < runs; r++)
            for (unsigned j = 0; j < all[r].n; j++)
                if (!strcmp(all[r].m[j].key, all[0].m[k].key))
                    vals[n++] = all[r].m[j].value;
        bench_metric(&med, all[0].m[k].key, bench_median(vals, n));
    }
    if (json) {
        printf("{\"name\": \"%s\", \"metrics\": {", name);
        for (unsigned k = 0; k < med.n; k++) {
            printf("%s\"%s\": ", k ? ", " : "", med.m[k].key);
            print_json_number(med.m[k].value);
        }
        printf("}}\n");
    } else {
        printf("benchmark %s (median of %ld run%s)\n", name, runs, runs == 1 ? "" : "s");
        for (unsigned k = 0; k < med.n; k++)
            printf("  %-40s %.6g\n", med.m[k].key, med.m[k].value);
    }
    free(all);
    free(vals);
    return CLI_EXIT_OK;
}

static const struct cli_command bench_command = {
    .name = "bench",
    .summary = "run a benchmark and print its metrics (medians; --json for machines)",
    .run = cmd_bench,
};
CLI_COMMAND(bench_command)
