/*
 * `bpfmm status [--json]`: what the running agent does - the features it probed at start,
 * the lifecycle mechanism and its counters, the budget, the policies, and per process: the
 * policy, anon RSS, THP share, collapses done and failed by errno, bytes collapsed, mmap-lock
 * time consumed and the last scan - plus which decisions are enforced and which are not.
 * --json prints the agent's status document as it is (docs/agent-daemon.md lists the fields).
 * Owns the human-readable layout only.
 */
#include "cli.h"
#include "ctl_client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static struct json_object *get(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *str(struct json_object *o, const char *k)
{
    struct json_object *v = get(o, k);
    return v ? json_object_get_string(v) : "";
}

static double num(struct json_object *o, const char *k)
{
    struct json_object *v = get(o, k);
    return v ? json_object_get_double(v) : 0;
}

static const char *human(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

static const char *rate(struct json_object *b, const char *k, char *buf, size_t size)
{
    struct json_object *v = get(b, k);
    if (!v)
        return "unlimited";
    char h[24];
    snprintf(buf, size, "%.24s/s", human(json_object_get_double(v), h, sizeof(h)));
    return buf;
}

static void print_failures(struct json_object *f)
{
    bool any = false;
    if (f && json_object_is_type(f, json_type_object)) {
        json_object_object_foreach(f, k, v)
        {
            printf("%s%s %lld", any ? ", " : "", k, (long long)json_object_get_int64(v));
            any = true;
        }
    }
    if (!any)
        printf("-");
}

static void print_human(struct json_object *st)
{
    char b1[40], b2[40], b3[40];
    struct json_object *agent = get(st, "agent"), *lc = get(st, "lifecycle"),
                       *bud = get(st, "budget"), *eng = get(st, "engine");
    printf("agent: pid %lld, up %.0f s, CPU %.2f s, socket %s, state %s\n",
           (long long)num(agent, "pid"), num(agent, "uptime_s"), num(agent, "cpu_s"),
           str(agent, "socket"), str(agent, "state_file")[0] ? str(agent, "state_file") : "none");
    printf("\nfeatures (probed at start):\n");
    const char *rep = str(get(st, "features"), "report");
    for (const char *l = rep; *l;) {
        const char *nl = strchr(l, '\n');
        int n = nl ? (int)(nl - l) : (int)strlen(l);
        printf("  %.*s\n", n, l);
        l += n + (nl ? 1 : 0);
    }
    printf("\nlifecycle: %s\n", str(lc, "mechanism"));
    printf("  managed %lld; events: fork %lld, exec %lld, exit %lld; lost %lld, reconciles "
           "%lld, rescans %lld\n",
           (long long)num(lc, "managed"), (long long)num(lc, "forks"), (long long)num(lc, "execs"),
           (long long)num(lc, "exits"), (long long)num(lc, "lost"),
           (long long)num(lc, "reconciles"), (long long)num(lc, "rescans"));
    if (bud) {
        struct json_object *off = get(bud, "off");
        if (off && json_object_get_boolean(off))
            printf("\nbudget: off (no limit on collapse rate or mmap-lock time)\n");
        else {
            struct json_object *lk = get(bud, "proc_lock_us_per_s");
            char lock[32];
            if (lk)
                snprintf(lock, sizeof(lock), "%.0f ms/s", json_object_get_double(lk) / 1000);
            else
                snprintf(lock, sizeof(lock), "unlimited");
            printf("\nbudget: collapse %s overall, %s per process; mmap lock %s per process;\n"
                   "        burst %lld ms; batches of %lld x 2 MiB",
                   rate(bud, "global_bytes_per_s", b1, sizeof(b1)),
                   rate(bud, "proc_bytes_per_s", b2, sizeof(b2)), lock,
                   (long long)num(bud, "burst_ms"), (long long)num(bud, "batch_blocks"));
            if (num(bud, "enomem_backoff_s") > 0)
                printf("; backing off after ENOMEM for %.1f s", num(bud, "enomem_backoff_s"));
            printf("\n");
        }
    }
    if (eng) {
        printf("engine: scanned %s (CPU %.1f ms/GiB), collapsed %s in %lld ranges; failed: ",
               human(num(eng, "scanned_bytes"), b1, sizeof(b1)), num(eng, "cpu_ms_per_gib_scanned"),
               human(num(eng, "collapse_bytes"), b2, sizeof(b2)), (long long)num(eng, "collapses"));
        print_failures(get(eng, "failed"));
        printf("\n");
    }
    struct json_object *g = get(st, "global");
    printf("\nglobal policy: %s\n", g ? json_object_get_string(g) : "none");
    struct json_object *pols = get(st, "policies");
    size_t np = pols ? json_object_array_length(pols) : 0;
    printf("policies: %zu\n", np);
    if (np)
        printf("  %-16s %4s %6s %5s %9s %7s  %s\n", "NAME", "ID", "PROCS", "VER", "CALLS", "FAULTS",
               "SOURCE [RODATA]");
    for (size_t i = 0; i < np; i++) {
        struct json_object *p = json_object_array_get_idx(pols, i), *ro = get(p, "rodata");
        printf("  %-16s %4lld %6lld %5lld %9lld %7lld  %s", str(p, "name"), (long long)num(p, "id"),
               (long long)num(p, "processes"), (long long)num(p, "version"),
               (long long)num(p, "calls"), (long long)num(p, "faults"), str(p, "source"));
        for (size_t j = 0; ro && j < json_object_array_length(ro); j++)
            printf(" %s", json_object_get_string(json_object_array_get_idx(ro, j)));
        printf("\n");
    }
    struct json_object *procs = get(st, "processes");
    size_t n = procs ? json_object_array_length(procs) : 0;
    printf("\nprocesses: %zu\n", n);
    if (n)
        printf("  %7s %-15s %-12s %10s %6s %9s %10s %9s %9s  %s\n", "PID", "COMM", "POLICY",
               "ANON_RSS", "THP%", "COLLAPSES", "COLLAPSED", "LOCK_MS", "LAST_SCAN",
               "FAILED / STATE");
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(procs, i),
                           *age = get(p, "last_scan_age_s");
        char scan[32], pol[40];
        if (age)
            snprintf(scan, sizeof(scan), "%.1fs ago", json_object_get_double(age));
        else
            snprintf(scan, sizeof(scan), "never");
        snprintf(pol, sizeof(pol), "%s%s", str(p, "policy"),
                 !strcmp(str(p, "how"), "global") ? "*" : "");
        printf("  %7lld %-15s %-12s %10s %5.1f%% %9lld %10s %9.1f %9s  ", (long long)num(p, "pid"),
               str(p, "comm"), pol, human(num(p, "anon_rss"), b1, sizeof(b1)),
               100 * num(p, "thp_share"), (long long)num(p, "collapses"),
               human(num(p, "collapsed_bytes"), b3, sizeof(b3)), num(p, "mmap_lock_us") / 1000,
               scan);
        print_failures(get(p, "collapse_failures"));
        if (strcmp(str(p, "state"), "active"))
            printf(" / %s%s%s", str(p, "state"), str(p, "state_msg")[0] ? ": " : "",
                   str(p, "state_msg"));
        printf("\n");
    }
    if (n)
        printf("  (* = covered by the global policy)\n");
    struct json_object *enf = get(st, "enforcement");
    static const char *const sections[] = {"enforced", "not_enforced"};
    static const char *const titles[] = {"\nenforced:\n", "\nnot enforced:\n"};
    for (int s = 0; s < 2; s++) {
        struct json_object *a = get(enf, sections[s]);
        printf("%s", titles[s]);
        for (size_t i = 0; a && i < json_object_array_length(a); i++)
            printf("  - %s\n", json_object_get_string(json_object_array_get_idx(a, i)));
    }
}

static void usage(FILE *o)
{
    fprintf(o, "usage: bpfmm status [--json] [--socket PATH]\n\n"
               "Shows what the running agent does: features probed at start, lifecycle\n"
               "mechanism, budget, policies and, per process, the policy, anonymous RSS, THP\n"
               "share, collapses done and failed by errno, bytes collapsed, mmap-lock time and\n"
               "the last scan; and which THP decisions are enforced and which are not.\n\n"
               "options:\n"
               "  --json         the agent's status document, for machines\n"
               "  --socket PATH  the agent's control socket (default: $BPFMM_SOCKET or\n"
               "                 /run/bpfmm/agent.sock)\n");
}

static int cmd_status(int argc, char **argv)
{
    const char *socket = NULL;
    bool json = false;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    optind = 1;
    for (int ch; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (ch) {
        case 'j':
            json = true;
            break;
        case 's':
            socket = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("status: unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    struct json_object *req = ctl_new_request("status"), *st;
    int rc = ctl_request(socket, "status", req, &st);
    json_object_put(req);
    if (rc)
        return CLI_EXIT_FAIL;
    if (json)
        printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_SPACED));
    else
        print_human(st);
    json_object_put(st);
    return CLI_EXIT_OK;
}

static const struct cli_command status_cmd = {"status", "show what the running agent does",
                                              cmd_status};
CLI_COMMAND(status_cmd)
