/*
 * live_agent_cli_collapse: `bpfmm collapse` end to end, on real workload targets.
 *   - a full region with guard pages: every allowed range "collapsed", guarded ones "skipped:
 *     guard markers" (never submitted), exit 0; the memory is huge afterwards;
 *   - a sparse region under the default policy: every range "refused by the policy", nothing
 *     collapsed, exit 0 (nothing allowed failed); under --policy always: collapsed;
 *   - a process with THP disabled by prctl (inherited across exec): each range fails with
 *     the kernel's errno name (EINVAL), exit 1;
 *   - --json: the same, machine-readable;
 *   - a pid that does not exist, a range without a whole 2 MiB block, an unknown policy:
 *     clear messages, exit 1 / 2 / 2.
 */
#include "agent_test.h"

#include <fcntl.h>
#include <json-c/json.h>

static char out[1 << 20], errbuf[1 << 14];

/* Runs bpfmm with args (NULL-terminated); captures stdout and stderr; returns the status. */
static int bpfmm(const char *first, ...)
{
    const char *argv[32];
    static char exe[4096];
    snprintf(exe, sizeof(exe), "%s/bpfmm", test_build_dir());
    int n = 0;
    argv[n++] = exe;
    argv[n++] = first;
    va_list ap;
    va_start(ap, first);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 30)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char opath[] = "/tmp/bpfmm-cli-XXXXXX", epath[] = "/tmp/bpfmm-cli-XXXXXX";
    int ofd = mkstemp(opath), efd = mkstemp(epath);
    CHECK(ofd >= 0 && efd >= 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    ssize_t k = pread(ofd, out, sizeof(out) - 1, 0);
    out[k > 0 ? k : 0] = 0;
    k = pread(efd, errbuf, sizeof(errbuf) - 1, 0);
    errbuf[k > 0 ? k : 0] = 0;
    close(ofd);
    close(efd);
    unlink(opath);
    unlink(epath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned count_lines(const char *needle)
{
    unsigned n = 0;
    for (const char *s = out; (s = strstr(s, needle)); s += strlen(needle))
        n++;
    return n;
}

int main(void)
{
    at_require("collapses a workload's memory with bpfmm collapse");
    char pid[32], range[96];
    const uint64_t pmd = 2u << 20;

    /* Full region with 2 guard pages. */
    struct workload w;
    workload_start(&w, "--size", "16M", "--guard", "2", "--hold", NULL);
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    /* --range: the region only (an ASan-built target has more memory of its own). */
    snprintf(range, sizeof(range), "%#llx-%#llx", (unsigned long long)w.addr,
             (unsigned long long)(w.addr + w.size));
    int rc = bpfmm("collapse", "--pid", pid, "--range", range, NULL);
    CHECK_MSG(rc == 0, "rc %d\n%s\n%s", rc, out, errbuf);
    CHECK_STR_CONTAINS(out, "policy default, type FORCED_COLLAPSE");
    CHECK_EQ(count_lines(" collapsed\n"), 6);
    CHECK_EQ(count_lines("skipped: guard markers"), 2);
    CHECK_STR_CONTAINS(out, "summary: 8 ranges: 6 allowed, 6 collapsed, 0 failed");
    CHECK_EQ(at_huge_bytes(w.pid, w.addr, w.size), 6 * pmd);
    CHECK_EQ(at_guard_pages(w.pid, w.addr, w.size), 2);
    /* Again: already huge, nothing to do. */
    CHECK_EQ(bpfmm("collapse", "--pid", pid, "--range", range, "--json", NULL), 0);
    struct json_object *j = json_tokener_parse(out);
    CHECK_MSG(j, "not JSON: %s", out);
    struct json_object *s, *v, *ranges;
    CHECK(json_object_object_get_ex(j, "summary", &s));
    CHECK(json_object_object_get_ex(s, "already_huge", &v) && json_object_get_int(v) == 6);
    CHECK(json_object_object_get_ex(s, "guard", &v) && json_object_get_int(v) == 2);
    CHECK(json_object_object_get_ex(j, "ranges", &ranges));
    CHECK_EQ(json_object_array_length(ranges), 8);
    struct json_object *r0 = json_object_array_get_idx(ranges, 0), *d;
    CHECK(json_object_object_get_ex(r0, "decision", &d));
    CHECK_STR_CONTAINS(json_object_get_string(d), "guard");
    json_object_put(j);
    /* A range: only the blocks fully inside it. */
    snprintf(range, sizeof(range), "%#llx-%#llx", (unsigned long long)(w.addr + pmd + 4096),
             (unsigned long long)(w.addr + 4 * pmd));
    CHECK_EQ(bpfmm("collapse", "--pid", pid, "--range", range, NULL), 0);
    CHECK_STR_CONTAINS(out, "summary: 2 ranges");
    CHECK_EQ(workload_stop(&w), 0);

    /* Sparse: refused under default, collapsed under always. */
    workload_start(&w, "--size", "16M", "--sparse", "--hold", NULL);
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    snprintf(range, sizeof(range), "%#llx-%#llx", (unsigned long long)w.addr,
             (unsigned long long)(w.addr + w.size));
    CHECK_EQ(bpfmm("collapse", "--pid", pid, "--range", range, NULL), 0);
    CHECK_EQ(count_lines("refused by the policy\n"), 8);
    CHECK_STR_CONTAINS(out, "0 allowed, 0 collapsed, 0 failed; 8 refused");
    CHECK_EQ(at_huge_bytes(w.pid, w.addr, w.size), 0);
    rc = bpfmm("collapse", "--pid", pid, "--range", range, "--policy", "always", NULL);
    CHECK_MSG(rc == 0, "rc %d\n%s\n%s", rc, out, errbuf);
    CHECK_EQ(count_lines(" collapsed\n"), 8);
    CHECK_EQ(at_huge_bytes(w.pid, w.addr, w.size), w.size);
    CHECK_EQ(workload_stop(&w), 0);

    /* THP disabled by prctl in the target (it inherits it across exec): EINVAL per range. */
    CHECK_EQ(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
    workload_start(&w, "--size", "8M", "--hold", NULL);
    CHECK_EQ(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0), 0);
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    snprintf(range, sizeof(range), "%#llx-%#llx", (unsigned long long)w.addr,
             (unsigned long long)(w.addr + w.size));
    rc = bpfmm("collapse", "--pid", pid, "--range", range, NULL);
    CHECK_MSG(rc == 1, "rc %d\n%s\n%s", rc, out, errbuf);
    CHECK_EQ(count_lines(" EINVAL\n"), 4);
    CHECK_STR_CONTAINS(out, "4 allowed, 0 collapsed, 4 failed (EINVAL 4)");
    CHECK_EQ(workload_stop(&w), 0);

    /* Errors. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(pid, sizeof(pid), "%d", (int)dead);
    CHECK_EQ(bpfmm("collapse", "--pid", pid, NULL), 1);
    CHECK_STR_CONTAINS(errbuf, "ESRCH");
    CHECK_EQ(bpfmm("collapse", "--pid", "1", "--range", "0x200000-0x300000", NULL), 2);
    CHECK_STR_CONTAINS(errbuf, "no whole 2 MiB");
    CHECK_EQ(bpfmm("collapse", "--pid", "1", "--range", "0x400000-0x200000", NULL), 2);
    CHECK_STR_CONTAINS(errbuf, "END must be above START");
    CHECK_EQ(bpfmm("collapse", "--pid", "1", "--policy", "no-such-policy", NULL), 2);
    CHECK_STR_CONTAINS(errbuf, "no-such-policy");
    CHECK_EQ(bpfmm("collapse", NULL), 2);
    CHECK_STR_CONTAINS(errbuf, "--pid PID is required");
    return 0;
}
