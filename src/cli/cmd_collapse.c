/*
 * `bpfmm collapse --pid P [--range START-END] [--policy NAME|FILE] [--rodata k=v] [--json]`:
 * a user-requested collapse of a process's memory now (issue 4, part 6). The policy is still
 * consulted, as a FORCED_COLLAPSE. Owns the command line and the output only; the procedure
 * is src/live/act_oneshot.c's.
 */
#include "cli.h"

#include "live/act_oneshot.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RODATA 64

static void usage(FILE *out)
{
    fputs("usage: bpfmm collapse --pid PID [--range START-END] [--policy NAME|FILE]\n"
          "                      [--rodata KNOB=VALUE ...] [--json]\n\n"
          "Collapse a process's memory into 2 MiB huge pages now, with\n"
          "process_madvise(MADV_COLLAPSE). The policy is still consulted for every 2 MiB\n"
          "range, with type FORCED_COLLAPSE; only the ranges it allows are collapsed.\n\n"
          "options:\n"
          "  --pid PID             the process (needs root, or CAP_SYS_PTRACE + CAP_SYS_NICE)\n"
          "  --range START-END     only the 2 MiB blocks fully inside [START, END) (hex with\n"
          "                        0x, or decimal; the kernel rounds START up and END down)\n"
          "  --policy NAME|FILE    a shipped policy or a .bpf.o (default: default, whose\n"
          "                        limits - at most 255 empty, 0 swapped, 256 shared pages per\n"
          "                        2 MiB - apply to forced collapses too; --rodata\n"
          "                        limit_forced_collapse=0 lifts them, as mainline\n"
          "                        MADV_COLLAPSE would)\n"
          "  --rodata KNOB=VALUE   set a policy knob before verification (repeatable)\n"
          "  --json                machine-readable output\n\n"
          "Prints one line per populated 2 MiB range: its page counts, the decision\n"
          "(allow, refuse, huge, guard, ineligible) and the result (collapsed, or the\n"
          "kernel's errno: EINVAL, EAGAIN, ENOMEM, EBUSY...), then a summary. Ranges with\n"
          "guard markers are never submitted (they would abort the call).\n\n"
          "exit status: 0 when every range the policy allowed was collapsed, 1 otherwise\n"
          "(or on an error: no such process, not permitted, no MADV_COLLAPSE), 2 for bad\n"
          "arguments.\n",
          out);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -EINVAL;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end)
        return -EINVAL;
    *v = x;
    return 0;
}

static int parse_range(const char *text, uint64_t *lo, uint64_t *hi)
{
    char buf[128];
    if (strlen(text) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, text);
    char *dash = strchr(buf, '-');
    if (!dash)
        return -EINVAL;
    *dash = 0;
    if (parse_u64(buf, lo) || parse_u64(dash + 1, hi))
        return -EINVAL;
    return 0;
}

static const char *result_str(const struct live_oneshot_range *x, char *buf, size_t size)
{
    switch (x->decision) {
    case LIVE_ONESHOT_ALLOW:
        if (x->collapsed)
            return "collapsed";
        if (x->err)
            return live_errno_name(x->err);
        return "not attempted";
    case LIVE_ONESHOT_REFUSE:
        return "refused by the policy";
    case LIVE_ONESHOT_HUGE:
        return "already huge";
    case LIVE_ONESHOT_GUARD:
        return "skipped: guard markers";
    case LIVE_ONESHOT_INELIGIBLE:
        snprintf(buf, size, "skipped: %s", x->why ? x->why : "not collapsible");
        return buf;
    }
    return "?";
}

static void print_text(const struct live_oneshot_result *r, const char *range)
{
    printf("process %d (%s), policy %s, type FORCED_COLLAPSE%s%s\n", (int)r->pid, r->comm,
           r->policy, range ? ", range " : "", range ? range : "");
    if (r->nr)
        printf("%-29s %7s %5s %5s %5s %6s  %-10s %s\n", "RANGE", "PRESENT", "SWAP", "ZERO", "GUARD",
               "SHARED", "DECISION", "RESULT");
    for (size_t i = 0; i < r->nr; i++) {
        const struct live_oneshot_range *x = &r->r[i];
        char buf[96], shared[16], span[64];
        /* nr_shared as the policy saw it; "-" when the policy does not read it. */
        if (r->reads_shared)
            snprintf(shared, sizeof(shared), "%u", x->counts.nr_shared);
        else
            snprintf(shared, sizeof(shared), "-");
        snprintf(span, sizeof(span), "%#llx-%#llx", (unsigned long long)x->start,
                 (unsigned long long)x->end);
        printf("%-29s %7u %5u %5u %5u %6s  %-10s %s\n", span, x->counts.nr_present,
               x->counts.nr_swapped, x->counts.nr_zero, x->counts.nr_guard, shared,
               live_oneshot_decision_str(x->decision), result_str(x, buf, sizeof(buf)));
    }
    if (!r->nr)
        printf("nothing to collapse: no populated 2 MiB block%s\n", range ? " in the range" : "");
    printf("summary: %zu ranges: %llu allowed, %llu collapsed, %llu failed", r->nr,
           (unsigned long long)r->allowed, (unsigned long long)r->collapsed,
           (unsigned long long)r->failed);
    bool first = true;
    for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
        if (r->failed_by[e]) {
            printf("%s%s %llu", first ? " (" : ", ", live_agent_err_name(e),
                   (unsigned long long)r->failed_by[e]);
            first = false;
        }
    printf("%s; %llu refused by the policy, %llu already huge, %llu with guards, %llu "
           "ineligible; %.1f MiB collapsed in %.3f s, %llu calls\n",
           first ? "" : ")", (unsigned long long)r->refused, (unsigned long long)r->huge,
           (unsigned long long)r->guard, (unsigned long long)r->ineligible,
           (double)r->bytes_collapsed / (1 << 20), (double)r->wall_ns / 1e9,
           (unsigned long long)r->calls);
    if (r->aborted)
        printf("stopped: %s\n", r->abort_msg);
}

static void print_json(const struct live_oneshot_result *r)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "pid", json_object_new_int(r->pid));
    json_object_object_add(o, "comm", json_object_new_string(r->comm));
    json_object_object_add(o, "policy", json_object_new_string(r->policy));
    json_object_object_add(o, "type", json_object_new_string("FORCED_COLLAPSE"));
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r->nr; i++) {
        const struct live_oneshot_range *x = &r->r[i];
        struct json_object *e = json_object_new_object();
        char hex[32], buf[96];
        snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)x->start);
        json_object_object_add(e, "start", json_object_new_string(hex));
        snprintf(hex, sizeof(hex), "%#llx", (unsigned long long)x->end);
        json_object_object_add(e, "end", json_object_new_string(hex));
        json_object_object_add(e, "present", json_object_new_int64(x->counts.nr_present));
        json_object_object_add(e, "swapped", json_object_new_int64(x->counts.nr_swapped));
        json_object_object_add(e, "huge", json_object_new_int64(x->counts.nr_huge));
        json_object_object_add(e, "zero", json_object_new_int64(x->counts.nr_zero));
        json_object_object_add(e, "guard", json_object_new_int64(x->counts.nr_guard));
        if (r->reads_shared)
            json_object_object_add(e, "shared", json_object_new_int64(x->counts.nr_shared));
        json_object_object_add(e, "decision",
                               json_object_new_string(live_oneshot_decision_str(x->decision)));
        json_object_object_add(e, "result",
                               json_object_new_string(result_str(x, buf, sizeof(buf))));
        json_object_object_add(e, "collapsed", json_object_new_boolean(x->collapsed));
        if (x->err)
            json_object_object_add(e, "errno", json_object_new_string(live_errno_name(x->err)));
        json_object_object_add(e, "tries", json_object_new_int(x->tries));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "ranges", arr);
    struct json_object *s = json_object_new_object();
    json_object_object_add(s, "ranges", json_object_new_int64((int64_t)r->nr));
    json_object_object_add(s, "allowed", json_object_new_int64((int64_t)r->allowed));
    json_object_object_add(s, "collapsed", json_object_new_int64((int64_t)r->collapsed));
    json_object_object_add(s, "failed", json_object_new_int64((int64_t)r->failed));
    struct json_object *by = json_object_new_object();
    for (int e = 0; e < LIVE_AGENT_NR_ERRS; e++)
        if (r->failed_by[e])
            json_object_object_add(by, live_agent_err_name(e),
                                   json_object_new_int64((int64_t)r->failed_by[e]));
    json_object_object_add(s, "failed_by_errno", by);
    json_object_object_add(s, "refused", json_object_new_int64((int64_t)r->refused));
    json_object_object_add(s, "already_huge", json_object_new_int64((int64_t)r->huge));
    json_object_object_add(s, "guard", json_object_new_int64((int64_t)r->guard));
    json_object_object_add(s, "ineligible", json_object_new_int64((int64_t)r->ineligible));
    json_object_object_add(s, "bytes_collapsed",
                           json_object_new_int64((int64_t)r->bytes_collapsed));
    json_object_object_add(s, "calls", json_object_new_int64((int64_t)r->calls));
    json_object_object_add(s, "seconds", json_object_new_double((double)r->wall_ns / 1e9));
    if (r->aborted)
        json_object_object_add(s, "stopped", json_object_new_string(r->abort_msg));
    json_object_object_add(o, "summary", s);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pid", required_argument, NULL, 'p'},
        {"range", required_argument, NULL, 'r'},
        {"policy", required_argument, NULL, 'P'},
        {"rodata", required_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct live_oneshot_opts o = {.sz = sizeof(o)};
    const char *rodata[MAX_RODATA];
    const char *range = NULL;
    bool json = false, have_pid = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:r:P:R:jh", opts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'p':
            if (parse_u64(optarg, &v) || v == 0 || v > 0x7fffffff) {
                cli_error("collapse: --pid '%s' is not a process id (a positive number)", optarg);
                return CLI_EXIT_USAGE;
            }
            o.pid = (pid_t)v;
            have_pid = true;
            break;
        case 'r':
            if (parse_range(optarg, &o.lo, &o.hi)) {
                cli_error("collapse: --range '%s' is not START-END (addresses in hex with 0x, or "
                          "decimal, e.g. 0x7f0000000000-0x7f0040000000)",
                          optarg);
                return CLI_EXIT_USAGE;
            }
            if (o.lo >= o.hi) {
                cli_error("collapse: --range '%s' is empty: END must be above START", optarg);
                return CLI_EXIT_USAGE;
            }
            range = optarg;
            break;
        case 'P':
            o.policy = optarg;
            break;
        case 'R':
            if (o.nr_rodata == MAX_RODATA) {
                cli_error("collapse: more than %d --rodata assignments", MAX_RODATA);
                return CLI_EXIT_USAGE;
            }
            rodata[o.nr_rodata++] = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("collapse: unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (!have_pid) {
        cli_error("collapse: --pid PID is required");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    o.rodata = rodata;
    struct live_oneshot_result r;
    char err[2048] = "";
    int e = live_oneshot_collapse(&o, &r, err, sizeof(err));
    if (e) {
        cli_error("collapse: %s", err);
        /* A bad range or policy is the caller's argument; the rest is the system's answer. */
        return e == -EINVAL || e == -ENOENT ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    if (json)
        print_json(&r);
    else
        print_text(&r, range);
    int rc = r.failed || r.aborted ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    live_oneshot_free(&r);
    return rc;
}

static const struct cli_command collapse_cmd = {
    .name = "collapse",
    .summary = "collapse a process's memory into huge pages now (the policy decides)",
    .run = run,
};
CLI_COMMAND(collapse_cmd);
