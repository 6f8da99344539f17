/*
 * SIGHUP re-reads the config file: the socket's mode and group change in place, the budget
 * changes (status shows it), settings that need a restart are kept with a warning, and a
 * broken config file is refused with its line number while the agent keeps running with the
 * settings it had. Command-line overrides are re-applied after the file.
 */
#include "daemon_test.h"

static void write_conf(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

static double budget(const char *key)
{
    struct json_object *st = dt_status();
    double v = dt_num(dt_get(st, "budget"), key);
    json_object_put(st);
    return v;
}

static bool log_has(const char *what)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "grep -q -e '%s' %s", what, D.log);
    return system(cmd) == 0;
}

int main(void)
{
    dt_init();
    char conf[160];
    snprintf(conf, sizeof(conf), "%s/agent.conf", D.dir);
    write_conf(conf, "socket_mode = 0600\nbudget_proc_bytes_per_s = 64M\n");
    dt_agent_start("--config", conf, "--set", "budget_bytes_per_s=3G");
    struct stat sb;
    CHECK_EQ(stat(D.sock, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0600);
    CHECK_EQ(budget("proc_bytes_per_s"), 64 << 20);
    CHECK_EQ(budget("global_bytes_per_s"), 3ll << 30);

    write_conf(conf, "socket_mode = 0660\nsocket_group = root\nbudget_proc_bytes_per_s = 128M\n"
                     "lifecycle = procconn\n");
    kill(D.agent, SIGHUP);
    CHECK_MSG(DT_WAIT(budget("proc_bytes_per_s") == 128 << 20, 10), "the budget did not change");
    CHECK_EQ(budget("global_bytes_per_s"), 3ll << 30); /* the override still applies */
    CHECK_EQ(stat(D.sock, &sb), 0);
    CHECK_EQ(sb.st_mode & 0777, 0660);
    CHECK_EQ(sb.st_gid, 0);
    CHECK(DT_WAIT(log_has("take effect at the next start"), 10));
    struct json_object *st = dt_status();
    CHECK(!strcmp(dt_str(dt_get(st, "lifecycle"), "mode"), "bpf") ||
          !strcmp(dt_str(dt_get(st, "lifecycle"), "mode"), "procconn"));
    json_object_put(st);

    write_conf(conf, "socket_mode = 0660\nnot a line\n");
    kill(D.agent, SIGHUP);
    CHECK(DT_WAIT(log_has("agent.conf:2: expected `key = value`"), 10));
    CHECK(dt_agent_alive());
    CHECK_EQ(budget("proc_bytes_per_s"), 128 << 20);
    int ws = dt_agent_stop(SIGTERM);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    CHECK_NE(stat(D.sock, &sb), 0); /* the socket file is removed at exit */
    printf("ok\n");
    return 0;
}
