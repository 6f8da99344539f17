/*
 * `bpfmm run` applies what the kernel can enforce at fault, before exec: the launched command
 * (this test program again, in "report" mode) reports prctl(PR_GET_THP_DISABLE) and
 * /proc/self/status THP_enabled, itself and in a forked child:
 *   - default (allows THP at fault): nothing set;
 *   - collapse-only (no THP at fault, collapse allowed): PR_THP_DISABLE_EXCEPT_ADVISED
 *     (Linux 6.18; probed), inherited by the child;
 *   - never (nothing allowed): THP fully disabled (THP_enabled 0), inherited.
 */
#include "daemon_test.h"

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif

static int thp_enabled_self(void)
{
    char line[256];
    int v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "THP_enabled: %d", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static int report(void)
{
    int me = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    int en = thp_enabled_self();
    int p[2];
    if (pipe(p))
        return 1;
    pid_t c = fork();
    if (c == 0) {
        int v[2] = {prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), thp_enabled_self()};
        _exit(write(p[1], v, sizeof(v)) == sizeof(v) ? 0 : 1);
    }
    int v[2] = {-9, -9};
    if (read(p[0], v, sizeof(v)) != sizeof(v))
        return 1;
    waitpid(c, NULL, 0);
    printf("report get=%d enabled=%d child_get=%d child_enabled=%d\n", me, en, v[0], v[1]);
    return 0;
}

static void launch(const char *policy, int *get, int *enabled, int *cget, int *cenabled)
{
    char self[512], out[8192];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK_GT(n, 0);
    self[n] = 0;
    char *argv[] = {(char *)dt_bpfmm(), "run", "--no-agent", "--socket", D.sock, "--policy",
                    (char *)policy,     "--",  self,         "--report", NULL};
    int rc = dt_exec(out, sizeof(out), argv, NULL);
    if (rc == 125 && strstr(out, "cannot be one"))
        test_skip("bpfmm run cannot be an agent here: %s", out);
    CHECK_MSG(rc == 0, "bpfmm run --policy %s: %d: %s", policy, rc, out);
    char *r = strstr(out, "report ");
    CHECK_MSG(r, "no report in: %s", out);
    CHECK_EQ(sscanf(r, "report get=%d enabled=%d child_get=%d child_enabled=%d", get, enabled, cget,
                    cenabled),
             4);
    printf("%s: %s", policy, r);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--report"))
        return report();
    dt_init();
    int get, en, cget, cen;

    launch("default", &get, &en, &cget, &cen);
    CHECK_EQ(get, 0);
    CHECK_EQ(en, 1);
    CHECK_EQ(cget, 0);

    launch("never", &get, &en, &cget, &cen);
    CHECK_NE(get, 0);
    CHECK_EQ(get & PR_THP_DISABLE_EXCEPT_ADVISED, 0);
    CHECK_EQ(en, 0);
    CHECK_EQ(cget, get);
    CHECK_EQ(cen, 0);

    launch("collapse-only", &get, &en, &cget, &cen);
    /* Whether the kernel has PR_THP_DISABLE_EXCEPT_ADVISED decides what can be done. */
    if (prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) == 0) {
        prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
        CHECK_NE(get, 0);
        CHECK_NE(get & PR_THP_DISABLE_EXCEPT_ADVISED, 0);
        CHECK_EQ(cget, get);
    } else {
        CHECK_EQ(get, 0); /* not enforceable without killing collapse: left alone */
    }
    printf("ok\n");
    return 0;
}
