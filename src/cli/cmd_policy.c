/*
 * `bpfmm policy check|run|dump|list`: load and verify a THP policy, evaluate it once with a
 * ctx built from arguments, disassemble it, or list the shipped ones. Owns the command line
 * and output only; loading and evaluation are src/policy and src/runtime.
 */
#include "cli.h"

#include <bpfmm/policy.h>
#include <bpfmm/runtime.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ASSIGN 64

static void policy_usage(FILE *out)
{
    fprintf(out, "usage: bpfmm policy check POLICY [--rodata KNOB=VALUE ...]\n"
                 "       bpfmm policy run POLICY [--type TYPE] [--set FIELD=VALUE ...]\n"
                 "                        [--rodata KNOB=VALUE ...] [--map MAP KEY=VALUE ...]\n"
                 "       bpfmm policy dump POLICY\n"
                 "       bpfmm policy list\n\n"
                 "POLICY is a shipped policy's name (see `bpfmm policy list`) or a path to a\n"
                 "clang-built .bpf.o; `--policy POLICY` may be used instead of the position.\n\n"
                 "  check  load and verify; print the programs, maps and ctx fields used\n"
                 "  run    evaluate once and print the allowed orders as sizes and as a mask\n"
                 "  dump   disassemble the relocated programs\n"
                 "  list   the shipped policies and where they are\n\n"
                 "run options:\n"
                 "  --type TYPE          pagefault | khugepaged (default) | forced_collapse |\n"
                 "                       swapin | query\n"
                 "  --set FIELD=VALUE    set a ctx field (repeatable); fields:\n");
    bpfmm_policy_ctx_help(out);
    fprintf(out, "  --rodata KNOB=VALUE  set a const volatile knob before verification\n"
                 "  --map MAP KEY=VALUE  update a map entry before the call (repeatable)\n"
                 "  --json               machine-readable result\n\n"
                 "Without --set, the ctx describes a 2 MiB range with no counts (range_pages\n"
                 "0), every candidate order (16K..2M) and the current time.\n");
}

struct policy_args {
    const char *policy;
    const char *rodata[MAX_ASSIGN];
    unsigned nr_rodata;
    const char *set[MAX_ASSIGN];
    unsigned nr_set;
    const char *map_name[MAX_ASSIGN], *map_kv[MAX_ASSIGN];
    unsigned nr_map;
    const char *type;
    bool json;
};

static int parse_args(int argc, char **argv, struct policy_args *a, bool run)
{
    static const struct option opts[] = {
        {"rodata", required_argument, NULL, 'r'}, {"set", required_argument, NULL, 's'},
        {"type", required_argument, NULL, 't'},   {"map", required_argument, NULL, 'm'},
        {"policy", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:s:t:m:p:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (a->nr_rodata == MAX_ASSIGN)
                goto too_many;
            a->rodata[a->nr_rodata++] = optarg;
            break;
        case 's':
            if (!run)
                goto run_only;
            if (a->nr_set == MAX_ASSIGN)
                goto too_many;
            a->set[a->nr_set++] = optarg;
            break;
        case 't':
            if (!run)
                goto run_only;
            a->type = optarg;
            break;
        case 'm':
            if (!run)
                goto run_only;
            if (a->nr_map == MAX_ASSIGN)
                goto too_many;
            if (optind >= argc) {
                cli_error("policy run: --map wants MAP KEY=VALUE");
                return CLI_EXIT_USAGE;
            }
            a->map_name[a->nr_map] = optarg;
            a->map_kv[a->nr_map++] = argv[optind++];
            break;
        case 'p':
            a->policy = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            policy_usage(stdout);
            return -1;
        default:
            policy_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (a->policy || optind + 1 < argc) {
            cli_error("policy %s: one POLICY expected, got extra argument '%s'", argv[0],
                      argv[a->policy ? optind : optind + 1]);
            return CLI_EXIT_USAGE;
        }
        a->policy = argv[optind];
    }
    if (!a->policy) {
        cli_error("policy %s: which policy? Give a shipped name (bpfmm policy list) or a "
                  ".bpf.o path",
                  argv[0]);
        return CLI_EXIT_USAGE;
    }
    return 0;
run_only:
    cli_error("policy %s: option -%c is for `bpfmm policy run`", argv[0], c);
    return CLI_EXIT_USAGE;
too_many:
    cli_error("policy %s: more than %d assignments", argv[0], MAX_ASSIGN);
    return CLI_EXIT_USAGE;
}

static bpfmm_policy_t *open_policy(const char *cmd, const struct policy_args *a)
{
    char log[4096] = "";
    struct bpfmm_policy_opts o = {
        .sz = sizeof(o),
        .rodata = a->rodata,
        .nr_rodata = a->nr_rodata,
        .log_buf = log,
        .log_size = sizeof(log),
    };
    bpfmm_policy_t *p = bpfmm_policy_open(a->policy, &o);
    if (!p)
        cli_error("policy %s: %s", cmd, log[0] ? log : strerror(errno));
    return p;
}

static const char *map_type_name(uint32_t t)
{
    switch (t) {
    case BPFMM_RT_MAP_HASH:
        return "hash";
    case BPFMM_RT_MAP_ARRAY:
        return "array";
    case BPFMM_RT_MAP_LRU_HASH:
        return "lru_hash";
    default:
        return "other";
    }
}

static void print_maps(const bpfmm_rt_obj_t *obj)
{
    unsigned n = bpfmm_rt_obj_map_count(obj);
    printf("maps: %u\n", n);
    for (unsigned i = 0; i < n; i++) {
        bpfmm_rt_map_t *m = bpfmm_rt_obj_map(obj, i);
        printf("  %-20s %-9s key %u B, value %u B, max_entries %u%s\n", bpfmm_rt_map_name(m),
               bpfmm_rt_map_is_global(m) ? "global" : map_type_name(bpfmm_rt_map_type(m)),
               bpfmm_rt_map_key_size(m), bpfmm_rt_map_value_size(m), bpfmm_rt_map_max_entries(m),
               "");
    }
}

static int cmd_check(int argc, char **argv)
{
    struct policy_args a = {0};
    int rc = parse_args(argc, argv, &a, false);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    bpfmm_policy_t *p = open_policy("check", &a);
    if (!p)
        return CLI_EXIT_FAIL;
    const bpfmm_rt_obj_t *obj = bpfmm_policy_obj(p);
    printf("%s: ok (%s, license \"%s\")\n", bpfmm_policy_name(p), bpfmm_policy_path(p),
           bpfmm_rt_obj_license(obj) ? bpfmm_rt_obj_license(obj) : "");
    printf("programs: %u\n", bpfmm_rt_obj_prog_count(obj));
    for (unsigned i = 0; i < bpfmm_rt_obj_prog_count(obj); i++) {
        bpfmm_rt_prog_t *prog = bpfmm_rt_obj_prog(obj, i);
        printf("  %-20s SEC(\"%s\") %u insns\n", bpfmm_rt_prog_name(prog),
               bpfmm_rt_prog_section(prog), bpfmm_rt_prog_insn_count(prog));
    }
    print_maps(obj);
    const char *knob;
    for (unsigned i = 0; (knob = bpfmm_rt_obj_knob_name(obj, i)); i++) {
        char val[256];
        if (bpfmm_rt_obj_get_rodata(obj, knob, val, sizeof(val)) < 0)
            snprintf(val, sizeof(val), "?");
        printf("%s  %-20s = %s\n", i ? "" : "knobs (--rodata):\n", knob, val);
    }
    const struct bpfmm_rt_ctx_desc *d = bpfmm_policy_ctx_desc();
    printf("ctx fields used:");
    unsigned used = 0;
    for (unsigned i = 0; i < d->nr_fields; i++) {
        if (bpfmm_policy_reads(p, d->fields[i].off, d->fields[i].size)) {
            printf(" %s", d->fields[i].name);
            used++;
        }
    }
    printf("%s\n", used ? "" : " none");
    bpfmm_policy_close(p);
    return CLI_EXIT_OK;
}

static int apply_map_update(bpfmm_policy_t *p, const char *map_name, const char *kv)
{
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(bpfmm_policy_obj(p), map_name);
    if (!m) {
        cli_error("policy run: --map: no map named '%s' (`bpfmm policy check` lists them)",
                  map_name);
        return CLI_EXIT_USAGE;
    }
    const char *eq = strchr(kv, '=');
    if (!eq) {
        cli_error("policy run: --map %s '%s': expected KEY=VALUE", map_name, kv);
        return CLI_EXIT_USAGE;
    }
    char keytext[256];
    if ((size_t)(eq - kv) >= sizeof(keytext)) {
        cli_error("policy run: --map %s: key too long", map_name);
        return CLI_EXIT_USAGE;
    }
    memcpy(keytext, kv, (size_t)(eq - kv));
    keytext[eq - kv] = '\0';
    uint32_t ks = bpfmm_rt_map_key_size(m), vs = bpfmm_rt_map_value_size(m);
    unsigned char *key = calloc(1, ks), *val = calloc(1, vs);
    char log[512] = "";
    int rc = CLI_EXIT_OK;
    if (!key || !val) {
        cli_error("policy run: out of memory");
        rc = CLI_EXIT_FAIL;
    } else if (bpfmm_rt_map_parse_key(m, keytext, key, log, sizeof(log)) ||
               bpfmm_rt_map_parse_value(m, eq + 1, val, log, sizeof(log))) {
        cli_error("policy run: --map %s %s: %s", map_name, kv, log);
        rc = CLI_EXIT_USAGE;
    } else {
        int err = bpfmm_rt_map_update(m, key, val, 0);
        if (err) {
            cli_error("policy run: --map %s %s: update failed: %s", map_name, kv, strerror(-err));
            rc = CLI_EXIT_FAIL;
        }
    }
    free(key);
    free(val);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    struct policy_args a = {0};
    int rc = parse_args(argc, argv, &a, true);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;

    struct bpfmm_thp_ctx ctx;
    int type = BPFMM_THP_KHUGEPAGED;
    if (a.type) {
        type = bpfmm_policy_type_parse(a.type);
        if (type < 0) {
            cli_error("policy run: --type %s: use pagefault, khugepaged, forced_collapse, "
                      "swapin or query",
                      a.type);
            return CLI_EXIT_USAGE;
        }
    }
    bpfmm_policy_ctx_init(&ctx, (enum bpfmm_thp_type)type);
    for (unsigned i = 0; i < a.nr_set; i++) {
        char err[256];
        if (bpfmm_policy_ctx_set(&ctx, a.set[i], err, sizeof(err))) {
            cli_error("policy run: %s", err);
            return CLI_EXIT_USAGE;
        }
    }

    bpfmm_policy_t *p = open_policy("run", &a);
    if (!p)
        return CLI_EXIT_FAIL;
    for (unsigned i = 0; i < a.nr_map; i++) {
        rc = apply_map_update(p, a.map_name[i], a.map_kv[i]);
        if (rc) {
            bpfmm_policy_close(p);
            return rc;
        }
    }

    uint64_t allowed = bpfmm_policy_get_orders(p, &ctx);
    struct bpfmm_policy_stats st = {.sz = sizeof(st)};
    bpfmm_policy_get_stats(p, &st);
    bool faulted = st.faults > 0;

    char sizes[256], cand[256];
    bpfmm_policy_format_orders(allowed, sizes, sizeof(sizes));
    bpfmm_policy_format_orders(ctx.orders, cand, sizeof(cand));
    if (a.json) {
        printf("{\"policy\": \"%s\", \"type\": \"%s\", \"candidate\": \"0x%llx\", "
               "\"allowed\": \"0x%llx\", \"allowed_sizes\": \"%s\", \"faulted\": %s}\n",
               bpfmm_policy_name(p), bpfmm_policy_type_name(ctx.type),
               (unsigned long long)ctx.orders, (unsigned long long)allowed, sizes,
               faulted ? "true" : "false");
    } else {
        printf("policy %s, type %s, candidate orders %s (0x%llx)\n", bpfmm_policy_name(p),
               bpfmm_policy_type_name(ctx.type), cand, (unsigned long long)ctx.orders);
        printf("allowed: %s (mask 0x%llx)\n", sizes, (unsigned long long)allowed);
        if (faulted)
            printf("note: the policy faulted at insn %u; the answer is the candidate orders "
                   "(no opinion)\n",
                   st.last_fault_insn);
    }
    bpfmm_policy_close(p);
    return faulted ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int cmd_dump(int argc, char **argv)
{
    struct policy_args a = {0};
    int rc = parse_args(argc, argv, &a, false);
    if (rc)
        return rc < 0 ? CLI_EXIT_OK : rc;
    char path[4096], log[4096] = "";
    int err = bpfmm_policy_resolve(a.policy, path, sizeof(path));
    if (err) {
        cli_error("policy dump: %s: %s", a.policy,
                  err == -ENOENT ? "no such file or shipped policy (bpfmm policy list)"
                                 : strerror(-err));
        return CLI_EXIT_FAIL;
    }
    struct bpfmm_rt_open_opts oo = {.sz = sizeof(oo), .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_file(path, &oo);
    if (!obj) {
        cli_error("policy dump: %s", log[0] ? log : strerror(errno));
        return CLI_EXIT_FAIL;
    }
    for (unsigned i = 0; i < bpfmm_rt_obj_prog_count(obj); i++) {
        bpfmm_rt_prog_t *prog = bpfmm_rt_obj_prog(obj, i);
        printf("%s%s SEC(\"%s\"):\n", i ? "\n" : "", bpfmm_rt_prog_name(prog),
               bpfmm_rt_prog_section(prog));
        bpfmm_rt_prog_disasm(prog, stdout);
    }
    bpfmm_rt_obj_close(obj);
    return CLI_EXIT_OK;
}

static int cmd_list(int argc, char **argv)
{
    char names[64][64];
    unsigned n = bpfmm_policy_list_shipped(names, 64);
    if (!n) {
        cli_error("policy list: no shipped policies found; build them (cmake --build build) "
                  "or set BPFMM_POLICY_DIR");
        return CLI_EXIT_FAIL;
    }
    for (unsigned i = 0; i < n; i++) {
        char path[4096];
        if (bpfmm_policy_resolve(names[i], path, sizeof(path)))
            path[0] = '\0';
        printf("%-16s %s\n", names[i], path);
    }
    return CLI_EXIT_OK;
}

static int cmd_policy(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        policy_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc - 1, argv + 1);
    cli_error("policy: unknown subcommand '%s'; use check, run, dump or list", argv[1]);
    return CLI_EXIT_USAGE;
}

static const struct cli_command policy_command = {
    .name = "policy",
    .summary = "check, run, dump or list THP policies (clang-built .bpf.o)",
    .run = cmd_policy,
};
CLI_COMMAND(policy_command)
