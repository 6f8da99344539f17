/*
 * `bpfmm run` without an agent propagates CMD's exit: its exit status, 128 + N for a death by
 * signal N, 127 for a command that does not exist, 126 for one that cannot be executed, and
 * 125 (with a message) for an unknown policy, before anything is started.
 */
#include "daemon_test.h"

static int run(char *out, size_t size, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)dt_bpfmm();
    argv[n++] = "run";
    argv[n++] = "--no-agent";
    argv[n++] = "--socket";
    argv[n++] = D.sock;
    for (int i = 0; args[i]; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return dt_exec(out, size, argv, NULL);
}
#define RUN(out, ...) run(out, sizeof(out), (const char *const[]){__VA_ARGS__, NULL})

int main(void)
{
    dt_init();
    char out[8192];
    int rc = RUN(out, "--", "/bin/sh", "-c", "exit 7");
    if (strstr(out, "cannot be one"))
        test_skip("bpfmm run cannot be an agent here: %s", out);
    CHECK_MSG(rc == 7, "exit status %d, output: %s", rc, out);
    CHECK_STR_CONTAINS(out, "managing /bin/sh");
    CHECK_EQ(RUN(out, "--quiet", "--", "/bin/sh", "-c", "exit 0"), 0);
    CHECK_MSG(!strstr(out, "bpfmm run:"), "--quiet still printed: %s", out);
    CHECK_EQ(RUN(out, "--", "/bin/sh", "-c", "kill -TERM $$"), 128 + SIGTERM);
    CHECK_EQ(RUN(out, "--", "/bin/sh", "-c", "kill -KILL $$"), 128 + SIGKILL);
    CHECK_EQ(RUN(out, "--", "/nonexistent/cmd"), 127);
    CHECK_STR_CONTAINS(out, "No such file");
    char notexec[160];
    snprintf(notexec, sizeof(notexec), "%s/notexec", D.dir);
    FILE *f = fopen(notexec, "w");
    CHECK(f);
    fclose(f);
    CHECK_EQ(RUN(out, "--", notexec), 126);
    CHECK_STR_CONTAINS(out, "Permission denied");
    CHECK_EQ(RUN(out, "--policy", "nosuchpolicy", "--", "/bin/true"), 125);
    CHECK_STR_CONTAINS(out, "nosuchpolicy");
    CHECK_EQ(RUN(out, "--rodata", "nosuchknob=1", "--", "/bin/true"), 125);
    CHECK_STR_CONTAINS(out, "nosuchknob");
    /* --agent with no agent running fails clearly */
    CHECK_EQ(RUN(out, "--", "/bin/true"), 0);
    char *argv[] = {(char *)dt_bpfmm(), "run", "--agent", "--socket", D.sock, "--",
                    "/bin/true",        NULL};
    CHECK_EQ(dt_exec(out, sizeof(out), argv, NULL), 125);
    CHECK_STR_CONTAINS(out, "is `bpfmm agent` running?");
    printf("ok\n");
    return 0;
}
