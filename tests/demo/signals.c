/*
 * live_demo_sigint / live_demo_sigkill: the demo never leaves its workload behind. SIGINT (as
 * from ^C, sent to the demo alone): it kills and reaps the workload, says it was interrupted
 * and exits 130. SIGKILL (nothing can be cleaned up): the workload dies with it
 * (PR_SET_PDEATHSIG). This test is a child subreaper, so an orphaned workload would become
 * its child and be seen.
 */
#include "demo_test.h"

#include <dirent.h>

static struct cmd_result r;

/* The demo's child running `bpfmm workload` (the feature probe forks short-lived children
 * too), or 0. */
static pid_t workload_child(pid_t demo)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)demo, (int)demo);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    pid_t found = 0;
    int pid;
    while (!found && fscanf(f, "%d", &pid) == 1) {
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[n] = 0;
        if (strstr(buf, " workload "))
            found = pid;
    }
    fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    CHECK_EQ(argc, 2);
    bool kill9 = !strcmp(argv[1], "sigkill");
    CHECK(kill9 || !strcmp(argv[1], "sigint"));
    require_demo("runs the demo and interrupts it");
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);

    int o, e;
    pid_t demo = bpfmm_start(
        (const char *[]){"demo", "--quick", "--khugepaged-seconds", "120", NULL}, false, &o, &e);
    pid_t w = 0;
    for (int i = 0; i < 600 && !w; i++) {
        usleep(50000);
        w = workload_child(demo);
    }
    CHECK_MSG(w > 0, "the demo started no workload within 30 s");
    usleep(1500000); /* well inside the run */
    CHECK_EQ(kill(demo, kill9 ? SIGKILL : SIGINT), 0);
    bpfmm_finish(demo, o, e, &r);

    if (kill9) {
        CHECK_EQ(r.status, 128 + SIGKILL);
        /* Orphaned, it became our child: it must have died of SIGKILL. */
        int st = 0;
        CHECK_EQ(waitpid(w, &st, 0), w);
        CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the workload ended with %#x", st);
    } else {
        CHECK_MSG(r.status == 128 + SIGINT, "exit %d: %s", r.status, r.err);
        CHECK_STR_CONTAINS(r.err, "interrupted");
        CHECK_EQ(r.out[0], 0);
        /* The demo reaped it: it is nobody's child any more, least of all ours. */
        errno = 0;
        CHECK_EQ(waitpid(w, NULL, WNOHANG), -1);
        CHECK_EQ(errno, ECHILD);
        CHECK_MSG(kill(w, 0) == -1 && errno == ESRCH, "workload %d still exists", (int)w);
    }
    return 0;
}
