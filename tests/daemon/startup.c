/*
 * Starting the agent: a second agent on the same socket is refused (the first keeps
 * serving); a broken config file is refused with FILE:LINE; --print-config shows the
 * resulting settings; under systemd (JOURNAL_STREAM set) every log line carries its syslog
 * priority (<6> info, <4> warning...); the features found are printed at start.
 */
#include "daemon_test.h"

static int agent_once(char *out, size_t size, const char *const *extra, const char *journal)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)dt_bpfmm();
    argv[n++] = "agent";
    argv[n++] = "--socket";
    argv[n++] = D.sock;
    argv[n++] = "--no-state";
    for (int i = 0; extra[i]; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    if (journal)
        setenv("JOURNAL_STREAM", journal, 1);
    int rc = dt_exec(out, size, argv, NULL);
    unsetenv("JOURNAL_STREAM");
    return rc;
}

int main(void)
{
    dt_init();
    static char out[1 << 16];
    char conf[160];
    snprintf(conf, sizeof(conf), "%s/bad.conf", D.dir);
    FILE *f = fopen(conf, "w");
    CHECK(f);
    fputs("socket_mode = 0660\nbudget_off = perhaps\n", f);
    fclose(f);
    CHECK_EQ(agent_once(out, sizeof(out), (const char *const[]){"--config", conf, NULL}, NULL), 1);
    CHECK_STR_CONTAINS(out, "bad.conf:2: budget_off");
    CHECK_EQ(agent_once(out, sizeof(out), (const char *const[]){"--frobnicate", NULL}, NULL), 2);
    CHECK_EQ(agent_once(out, sizeof(out),
                        (const char *const[]){"--set", "batch_blocks=4", "--print-config", NULL},
                        NULL),
             0);
    CHECK_STR_CONTAINS(out, "batch_blocks             = 4");
    CHECK_STR_CONTAINS(out, D.sock);

    dt_agent_start();
    /* a second agent on the same socket */
    CHECK_EQ(agent_once(out, sizeof(out), (const char *const[]){NULL}, "8:1234"), 1);
    CHECK_STR_CONTAINS(out, "another agent is already listening on");
    /* it had printed its findings first, with journal priorities, and stopped before loading
     * anything (no lifecycle programs) */
    CHECK_STR_CONTAINS(out, "<6>kernel: Linux ");
    CHECK(!strstr(out, "lifecycle: "));
    CHECK(dt_agent_alive()); /* the first one is unharmed */
    struct stat sb;
    CHECK_EQ(stat(D.sock, &sb), 0);
    printf("ok\n");
    return 0;
}
