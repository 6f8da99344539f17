/*
 * Client commands that change what a running agent does: `bpfmm attach`, `detach`, `update`,
 * `global set|clear` and `map show|update|delete`. Each builds one control request
 * (src/live/control_proto.h), sends it with ctl_client.c and prints the outcome (or the reply
 * itself with --json). The agent decides and checks permissions; these commands only speak.
 */
#include "cli.h"
#include "ctl_client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RO 64

struct common {
    const char *socket;
    bool json;
    const char *rodata[MAX_RO];
    unsigned nr_rodata;
    bool have_rodata;
};

enum { O_SOCKET = 1000, O_JSON, O_RODATA, O_PID, O_POLICY, O_FILE, O_NAME, O_FLAGS };

static int add_rodata(struct common *c, const char *what, const char *kv)
{
    if (c->nr_rodata == MAX_RO) {
        cli_error("%s: at most %d --rodata", what, MAX_RO);
        return -1;
    }
    if (!strchr(kv, '=')) {
        cli_error("%s: --rodata wants KNOB=VALUE, not '%s'", what, kv);
        return -1;
    }
    c->rodata[c->nr_rodata++] = kv;
    c->have_rodata = true;
    return 0;
}

/* The options every client command shares (--socket, --json, --rodata, -h, and unknown ones).
 * Returns OPT_OWN when ch is the command's own option, OPT_NEXT when it was handled, or
 * OPT_EXIT with the command's exit code in *rc. */
enum { OPT_OWN, OPT_NEXT, OPT_EXIT };
static int common_opt(struct common *c, int ch, const char *what, void (*usage)(FILE *), int *rc)
{
    switch (ch) {
    case O_SOCKET:
        c->socket = optarg;
        return OPT_NEXT;
    case O_JSON:
        c->json = true;
        return OPT_NEXT;
    case O_RODATA:
        if (add_rodata(c, what, optarg)) {
            *rc = CLI_EXIT_USAGE;
            return OPT_EXIT;
        }
        return OPT_NEXT;
    case 'h':
        usage(stdout);
        *rc = CLI_EXIT_OK;
        return OPT_EXIT;
    case '?':
    case ':':
        usage(stderr);
        *rc = CLI_EXIT_USAGE;
        return OPT_EXIT;
    }
    return OPT_OWN;
}

static void add_rodata_json(struct json_object *req, const struct common *c)
{
    if (!c->have_rodata)
        return;
    struct json_object *a = json_object_new_array();
    for (unsigned i = 0; i < c->nr_rodata; i++)
        json_object_array_add(a, json_object_new_string(c->rodata[i]));
    json_object_object_add(req, "rodata", a);
}

static int parse_pid(const char *what, const char *s, long *pid)
{
    char *end;
    errno = 0;
    *pid = strtol(s, &end, 10);
    if (errno || *end || end == s || *pid <= 0 || *pid > 0x7fffffff) {
        cli_error("%s: --pid wants a process id, not '%s'", what, s);
        return -1;
    }
    return 0;
}

/* A policy named by a file the agent must find: make the path absolute, since the agent
 * resolves paths from its own working directory. Shipped names are left alone. */
static const char *abs_policy(const char *p, char *buf, size_t size)
{
    size_t n = strlen(p);
    bool filey = strchr(p, '/') || (n > 2 && !strcmp(p + n - 2, ".o"));
    if (filey && p[0] != '/' && size >= 4096 && realpath(p, buf))
        return buf;
    return p;
}

/* Sends req and prints either the JSON reply or what (a format over the reply). */
static int send_req(const struct common *c, const char *what, struct json_object *req,
                    struct json_object **reply)
{
    int rc = ctl_request(c->socket, what, req, reply);
    json_object_put(req);
    if (rc)
        return CLI_EXIT_FAIL;
    if (c->json)
        printf("%s\n", json_object_to_json_string_ext(*reply, JSON_C_TO_STRING_PRETTY));
    return CLI_EXIT_OK;
}

static const char *jstr(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "?";
}

static long long jint(struct json_object *o, const char *k)
{
    struct json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? (long long)json_object_get_int64(v) : 0;
}

#define COMMON_LONGOPTS                                                                            \
    {"socket", required_argument, NULL, O_SOCKET}, {"json", no_argument, NULL, O_JSON},            \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

static const char common_help[] =
    "  --socket PATH      the agent's control socket (default: $BPFMM_SOCKET or\n"
    "                     /run/bpfmm/agent.sock)\n"
    "  --json             print the agent's reply as JSON\n";

/* --- attach -------------------------------------------------------------------------------- */

static void attach_usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm attach --pid PID --policy NAME|FILE [--rodata KNOB=VALUE ...]\n"
            "                    [--name INSTANCE] [--socket PATH] [--json]\n\n"
            "Asks the running agent to govern process PID, and every child it forks from now\n"
            "on, with a THP policy. Existing children are unaffected. A process has at most one\n"
            "local policy (EBUSY otherwise). The policy is loaded if it is not already;\n"
            "--name loads another instance of it (e.g. with other --rodata knobs).\n"
            "You must be allowed to ptrace PID (same user, or root).\n\noptions:\n%s",
            common_help);
}

static int cmd_attach(int argc, char **argv)
{
    struct common c = {0};
    long pid = 0;
    const char *policy = NULL, *name = NULL;
    static const struct option opts[] = {COMMON_LONGOPTS,
                                         {"pid", required_argument, NULL, O_PID},
                                         {"policy", required_argument, NULL, O_POLICY},
                                         {"rodata", required_argument, NULL, O_RODATA},
                                         {"name", required_argument, NULL, O_NAME},
                                         {0}};
    optind = 1;
    for (int ch, rc; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int k = common_opt(&c, ch, "attach", attach_usage, &rc);
        if (k == OPT_EXIT)
            return rc;
        if (k == OPT_NEXT)
            continue;
        switch (ch) {
        case O_PID:
            if (parse_pid("attach", optarg, &pid))
                return CLI_EXIT_USAGE;
            break;
        case O_POLICY:
            policy = optarg;
            break;
        case O_NAME:
            name = optarg;
            break;
        default:
            attach_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!pid || !policy || optind != argc) {
        cli_error("attach: needs --pid PID and --policy NAME|FILE (and nothing else)");
        attach_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char abs[4096];
    struct json_object *req = ctl_new_request("attach"), *reply;
    json_object_object_add(req, "pid", json_object_new_int((int)pid));
    json_object_object_add(req, "policy",
                           json_object_new_string(abs_policy(policy, abs, sizeof(abs))));
    if (name)
        json_object_object_add(req, "name", json_object_new_string(name));
    add_rodata_json(req, &c);
    int rc = send_req(&c, "attach", req, &reply);
    if (rc == CLI_EXIT_OK && !c.json)
        printf("attached policy %s to process %ld\n", jstr(reply, "policy"), pid);
    json_object_put(reply);
    return rc;
}

/* --- detach -------------------------------------------------------------------------------- */

static void detach_usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm detach --pid PID | --policy NAME [--socket PATH] [--json]\n\n"
            "--pid: process PID no longer has a local policy (its children keep theirs).\n"
            "--policy: unloads the policy and releases every process it governs.\n"
            "Processes are left as they are: nothing is undone.\n\noptions:\n%s",
            common_help);
}

static int cmd_detach(int argc, char **argv)
{
    struct common c = {0};
    long pid = 0;
    const char *policy = NULL;
    static const struct option opts[] = {COMMON_LONGOPTS,
                                         {"pid", required_argument, NULL, O_PID},
                                         {"policy", required_argument, NULL, O_POLICY},
                                         {0}};
    optind = 1;
    for (int ch, rc; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int k = common_opt(&c, ch, "detach", detach_usage, &rc);
        if (k == OPT_EXIT)
            return rc;
        if (k == OPT_NEXT)
            continue;
        switch (ch) {
        case O_PID:
            if (parse_pid("detach", optarg, &pid))
                return CLI_EXIT_USAGE;
            break;
        case O_POLICY:
            policy = optarg;
            break;
        default:
            detach_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if ((!pid) == (!policy) || optind != argc) {
        cli_error("detach: needs exactly one of --pid PID and --policy NAME");
        detach_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct json_object *req = ctl_new_request("detach"), *reply;
    if (pid)
        json_object_object_add(req, "pid", json_object_new_int((int)pid));
    else
        json_object_object_add(req, "policy", json_object_new_string(policy));
    int rc = send_req(&c, "detach", req, &reply);
    if (rc == CLI_EXIT_OK && !c.json) {
        if (pid)
            printf("detached process %ld\n", pid);
        else
            printf("detached policy %s (%lld processes released)\n", jstr(reply, "policy"),
                   jint(reply, "released"));
    }
    json_object_put(reply);
    return rc;
}

/* --- update -------------------------------------------------------------------------------- */

static void update_usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm update --policy NAME [--file FILE] [--rodata KNOB=VALUE ...]\n"
            "                    [--socket PATH] [--json]\n\n"
            "Replaces a loaded policy's program for all its processes at once. --file loads\n"
            "another object (with the --rodata given, or none); without --file the same object\n"
            "is reloaded, with the --rodata given or else the current knobs. Map entries set\n"
            "with `bpfmm map update` are applied to the new program.\n\noptions:\n%s",
            common_help);
}

static int cmd_update(int argc, char **argv)
{
    struct common c = {0};
    const char *policy = NULL, *file = NULL;
    static const struct option opts[] = {COMMON_LONGOPTS,
                                         {"policy", required_argument, NULL, O_POLICY},
                                         {"file", required_argument, NULL, O_FILE},
                                         {"rodata", required_argument, NULL, O_RODATA},
                                         {0}};
    optind = 1;
    for (int ch, rc; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int k = common_opt(&c, ch, "update", update_usage, &rc);
        if (k == OPT_EXIT)
            return rc;
        if (k == OPT_NEXT)
            continue;
        switch (ch) {
        case O_POLICY:
            policy = optarg;
            break;
        case O_FILE:
            file = optarg;
            break;
        default:
            update_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!policy || optind != argc) {
        cli_error("update: needs --policy NAME");
        update_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    char abs[4096];
    struct json_object *req = ctl_new_request("update"), *reply;
    json_object_object_add(req, "policy", json_object_new_string(policy));
    if (file) {
        json_object_object_add(req, "file",
                               json_object_new_string(abs_policy(file, abs, sizeof(abs))));
    }
    add_rodata_json(req, &c);
    int rc = send_req(&c, "update", req, &reply);
    if (rc == CLI_EXIT_OK && !c.json)
        printf("updated policy %s to version %lld (%lld processes)\n", jstr(reply, "policy"),
               jint(reply, "version"), jint(reply, "processes"));
    json_object_put(reply);
    return rc;
}

/* --- global -------------------------------------------------------------------------------- */

static void global_usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm global set POLICY [--rodata KNOB=VALUE ...] [--socket PATH] [--json]\n"
            "       bpfmm global clear [--socket PATH] [--json]\n\n"
            "The global policy governs every process that has no local policy (root only).\n"
            "A local policy (bpfmm attach) overrides it; clearing it leaves local ones alone.\n"
            "\noptions:\n%s",
            common_help);
}

static int cmd_global(int argc, char **argv)
{
    struct common c = {0};
    static const struct option opts[] = {
        COMMON_LONGOPTS, {"rodata", required_argument, NULL, O_RODATA}, {0}};
    optind = 1;
    for (int ch, rc; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int k = common_opt(&c, ch, "global", global_usage, &rc);
        if (k == OPT_EXIT)
            return rc;
        if (k == OPT_NEXT)
            continue;
        switch (ch) {
        default:
            global_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    struct json_object *req, *reply = NULL;
    char abs[4096];
    if (n == 2 && !strcmp(a[0], "set")) {
        req = ctl_new_request("global_set");
        json_object_object_add(req, "policy",
                               json_object_new_string(abs_policy(a[1], abs, sizeof(abs))));
        add_rodata_json(req, &c);
    } else if (n == 1 && !strcmp(a[0], "clear")) {
        req = ctl_new_request("global_clear");
    } else {
        cli_error("global: expected `set POLICY` or `clear`");
        global_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int rc = send_req(&c, "global", req, &reply);
    if (rc == CLI_EXIT_OK && !c.json) {
        if (n == 2)
            printf("global policy: %s\n", jstr(reply, "policy"));
        else
            printf("global policy cleared\n");
    }
    json_object_put(reply);
    return rc;
}

/* --- map ----------------------------------------------------------------------------------- */

static void map_usage(FILE *o)
{
    fprintf(o,
            "usage: bpfmm map show --policy NAME [MAP]\n"
            "       bpfmm map update --policy NAME MAP KEY=VALUE [--flags any|noexist|exist]\n"
            "       bpfmm map delete --policy NAME MAP KEY\n"
            "       (each also takes --socket PATH and --json)\n\n"
            "Shows and edits the maps of a policy loaded in the running agent; the policy\n"
            "sees the change at its next decision. Keys and values are written as the map's\n"
            "BTF types say: integers in any base, char arrays as strings, structs as\n"
            "{a=1,b=2}. Example: bpfmm map update --policy by-name orders_by_comm "
            "postgres=0x200\n"
            "Edits are remembered by the agent (and applied again after `bpfmm update` and a\n"
            "restart).\n\noptions:\n%s",
            common_help);
}

static int cmd_map(int argc, char **argv)
{
    struct common c = {0};
    const char *policy = NULL, *flags = NULL;
    static const struct option opts[] = {COMMON_LONGOPTS,
                                         {"policy", required_argument, NULL, O_POLICY},
                                         {"flags", required_argument, NULL, O_FLAGS},
                                         {0}};
    optind = 1;
    for (int ch, rc; (ch = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        int k = common_opt(&c, ch, "map", map_usage, &rc);
        if (k == OPT_EXIT)
            return rc;
        if (k == OPT_NEXT)
            continue;
        switch (ch) {
        case O_POLICY:
            policy = optarg;
            break;
        case O_FLAGS:
            flags = optarg;
            break;
        default:
            map_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    if (!policy || n < 1) {
        cli_error("map: needs a subcommand (show, update, delete) and --policy NAME");
        map_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    struct json_object *req, *reply = NULL;
    const char *sub = a[0];
    if (!strcmp(sub, "show") && n <= 2) {
        req = ctl_new_request("map_show");
        if (n == 2)
            json_object_object_add(req, "map", json_object_new_string(a[1]));
    } else if (!strcmp(sub, "update") && n == 3) {
        char *eq = strchr(a[2], '=');
        if (!eq || eq == a[2]) {
            cli_error("map update: expected KEY=VALUE, not '%s'", a[2]);
            return CLI_EXIT_USAGE;
        }
        req = ctl_new_request("map_update");
        json_object_object_add(req, "map", json_object_new_string(a[1]));
        json_object_object_add(req, "key", json_object_new_string_len(a[2], (int)(eq - a[2])));
        json_object_object_add(req, "value", json_object_new_string(eq + 1));
        if (flags)
            json_object_object_add(req, "flags", json_object_new_string(flags));
    } else if (!strcmp(sub, "delete") && n == 3) {
        req = ctl_new_request("map_delete");
        json_object_object_add(req, "map", json_object_new_string(a[1]));
        json_object_object_add(req, "key", json_object_new_string(a[2]));
    } else {
        cli_error("map: bad arguments for '%s'", sub);
        map_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    json_object_object_add(req, "policy", json_object_new_string(policy));
    int rc = send_req(&c, "map", req, &reply);
    if (rc == CLI_EXIT_OK && !c.json) {
        struct json_object *v;
        if (!strcmp(sub, "show") && json_object_object_get_ex(reply, "maps", &v) &&
            json_object_array_length(v) == 0) {
            printf("policy %s has no maps\n", jstr(reply, "policy"));
        } else if (!strcmp(sub, "show") && json_object_object_get_ex(reply, "maps", &v)) {
            printf("%-24s %-9s %8s %8s %11s\n", "MAP", "TYPE", "KEY", "VALUE", "MAX_ENTRIES");
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct json_object *m = json_object_array_get_idx(v, i);
                printf("%-24s %-9s %7lldB %7lldB %11lld\n", jstr(m, "name"), jstr(m, "type"),
                       jint(m, "key_size"), jint(m, "value_size"), jint(m, "max_entries"));
            }
        } else if (!strcmp(sub, "show") && json_object_object_get_ex(reply, "entries", &v)) {
            size_t ne = json_object_array_length(v);
            for (size_t i = 0; i < ne; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                printf("%s = %s\n", jstr(e, "key"), jstr(e, "value"));
            }
            printf("(%zu entr%s in %s)\n", ne, ne == 1 ? "y" : "ies", jstr(reply, "map"));
        } else if (!strcmp(sub, "update")) {
            printf("%s: %s = %s\n", a[1], jstr(reply, "key"), jstr(reply, "value"));
        } else {
            printf("%s: %s deleted\n", a[1], jstr(reply, "key"));
        }
    }
    json_object_put(reply);
    return rc;
}

static const struct cli_command attach_cmd = {"attach", "attach a policy to a process (agent)",
                                              cmd_attach};
static const struct cli_command detach_cmd = {"detach", "detach a process or a policy (agent)",
                                              cmd_detach};
static const struct cli_command update_cmd = {
    "update", "replace a policy's program for all its processes (agent)", cmd_update};
static const struct cli_command global_cmd = {"global", "set or clear the global policy (agent)",
                                              cmd_global};
static const struct cli_command map_cmd = {"map", "show or edit a loaded policy's maps (agent)",
                                           cmd_map};
CLI_COMMAND(attach_cmd)
CLI_COMMAND(detach_cmd)
CLI_COMMAND(update_cmd)
CLI_COMMAND(global_cmd)
CLI_COMMAND(map_cmd)
