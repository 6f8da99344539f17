/*
 * live_workload_pattern: the workload target's own checks work, so the agent's integrity test
 * can rely on them. A pattern-filled region (full and sparse) collapsed by the test verifies
 * clean on SIGUSR1 and at exit; a byte changed behind its back (process_vm_writev) is caught
 * with its offset and a non-zero exit status; a random-access run reports its rate; bad options
 * are refused with exit status 2.
 */
#include "live_test.h"

#include <fcntl.h>
#include <sys/uio.h>

static void expect_line(struct workload *w, const char *prefix, char *line, size_t size)
{
    workload_line(w, line, size);
    CHECK_MSG(!strncmp(line, prefix, strlen(prefix)), "expected '%s...', got: %s", prefix, line);
}

static int run_rc(const char *args[])
{
    char exe[4096];
    snprintf(exe, sizeof(exe), "%s/tests/live/live_workload", test_build_dir());
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[16] = {exe};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int main(void)
{
    require_live("collapses the workload's memory");
    char line[512];
    const uint64_t pmd = 2u << 20;

    /* Full: collapse everything, verify on demand, then at exit. */
    struct workload w;
    workload_start(&w, "--size", "16M", "--pattern", "--hold", NULL);
    CHECK_EQ(collapse_remote(w.pid, w.addr, w.size), 0);
    kill(w.pid, SIGUSR1);
    expect_line(&w, "verify ok", line, sizeof(line));
    CHECK_EQ(kv_u64(line, "bytes"), w.size);
    kill(w.pid, SIGTERM);
    expect_line(&w, "verify ok", line, sizeof(line));
    CHECK_EQ(workload_stop(&w), 0);

    /* Sparse: MADV_COLLAPSE fills the holes with zeroes; the pattern pages survive. */
    workload_start(&w, "--size", "8M", "--sparse", "--pattern", "--hold", NULL);
    CHECK_EQ(w.touched_pages, 4);
    CHECK_EQ(collapse_remote(w.pid, w.addr, w.size), 0);
    kill(w.pid, SIGUSR1);
    expect_line(&w, "verify ok", line, sizeof(line));
    CHECK_EQ(workload_stop(&w), 0);

    /* Corruption is caught, with its offset, and fails the exit status. */
    workload_start(&w, "--size", "4M", "--pattern", "--hold", NULL);
    uint64_t bad = 0x1234, off = pmd + 4096 * 3 + 16;
    struct iovec local = {.iov_base = &bad, .iov_len = sizeof(bad)};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)(w.addr + off), .iov_len = sizeof(bad)};
    CHECK_EQ(process_vm_writev(w.pid, &local, 1, &remote, 1, 0), sizeof(bad));
    kill(w.pid, SIGUSR1);
    expect_line(&w, "verify FAIL", line, sizeof(line));
    CHECK_EQ(kv_u64(line, "offset"), off);
    CHECK_EQ(kv_u64(line, "got"), bad);
    CHECK_EQ(workload_stop(&w), 1);

    /* Random access reports a rate. */
    workload_start(&w, "--size", "8M", "--random-access", "0.3", "--report-ms", "100", NULL);
    unsigned rates = 0;
    for (;;) {
        workload_line(&w, line, sizeof(line));
        if (!strncmp(line, "rate ", 5)) {
            rates++;
            continue;
        }
        CHECK_MSG(!strncmp(line, "random_access ", 14), "%s", line);
        break;
    }
    CHECK_GT(kv_u64(line, "accesses"), 0);
    CHECK_GT(kv_u64(line, "accesses_per_s"), 0);
    CHECK_GE(rates, 1);
    CHECK_EQ(workload_stop(&w), 0);

    /* Bad options. */
    CHECK_EQ(run_rc((const char *[]){"--size", "lots", NULL}), 2);
    CHECK_EQ(run_rc((const char *[]){"--frobnicate", NULL}), 2);
    CHECK_EQ(run_rc((const char *[]){"--hugepage", "--nohugepage", NULL}), 2);
    CHECK_EQ(run_rc((const char *[]){"--pattern", "--touch", "read", NULL}), 2);
    CHECK_EQ(run_rc((const char *[]){"--size", "4M", "--guard", "9", NULL}), 1);
    CHECK_EQ(run_rc((const char *[]){"--help", NULL}), 0);
    return 0;
}
