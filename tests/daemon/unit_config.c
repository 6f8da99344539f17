/*
 * The agent's config file: defaults, `key = value` parsing with comments and quotes, sizes and
 * octal modes, command-line style overrides, and errors that name the file, the line and
 * what is accepted. No root needed.
 */
#include "test.h"
#include "live/config.h"

#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    struct live_config c;
    char err[1024], path[] = "/tmp/bpfmm-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK_GE(fd, 0);
    close(fd);

    live_config_defaults(&c);
    CHECK(!strcmp(c.socket, "/run/bpfmm/agent.sock"));
    CHECK(!strcmp(c.state, "/var/lib/bpfmm/state.json"));
    CHECK_EQ(c.socket_mode, 0660);
    CHECK(!strcmp(c.lifecycle, "auto"));

    write_file(path, "# comment\n\n  socket = /tmp/x.sock   # trailing comment\n"
                     "socket_group=\"users\"\nsocket_mode = 0600\n"
                     "budget_bytes_per_s = 256M\nbudget_proc_bytes_per_s = 1GiB\n"
                     "budget_off = yes\nbatch_blocks = 8\nlifecycle = procconn\n"
                     "prometheus_listen = 127.0.0.1:9464\nstate =\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), 0);
    CHECK(!strcmp(c.socket, "/tmp/x.sock"));
    CHECK(!strcmp(c.socket_group, "users"));
    CHECK_EQ(c.socket_mode, 0600);
    CHECK_U64_EQ(c.budget_bytes_per_s, 256ull << 20);
    CHECK_U64_EQ(c.budget_proc_bytes_per_s, 1ull << 30);
    CHECK(c.budget_off);
    CHECK_EQ(c.batch_blocks, 8);
    CHECK(!strcmp(c.lifecycle, "procconn"));
    CHECK(!strcmp(c.prom_listen, "127.0.0.1:9464"));
    CHECK_EQ(c.state[0], 0);
    CHECK_EQ(c.prom_interval_s, 15); /* untouched keys keep their value */

    /* errors name the file and the line */
    write_file(path, "socket = /a\nfrobnicate = 1\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, ":2: unknown key 'frobnicate'");
    CHECK_STR_CONTAINS(err, "socket_group");
    write_file(path, "socket_mode = 999\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, ":1: socket_mode");
    write_file(path, "just words\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, "expected `key = value`");
    write_file(path, "lifecycle = kernel\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, "auto, bpf or procconn");
    write_file(path, "batch_blocks = -3\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    write_file(path, "budget_bytes_per_s = 12Q\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, "size");
    write_file(path, "prometheus_listen = nowhere\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, "ADDR:PORT");
    write_file(path, "budget_off = maybe\n");
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -EINVAL);
    unlink(path);
    CHECK_EQ(live_config_load(&c, path, err, sizeof(err)), -ENOENT);
    CHECK_STR_CONTAINS(err, path);

    /* overrides and groups */
    CHECK_EQ(live_config_set(&c, "scan_interval_ms", "250", err, sizeof(err)), 0);
    CHECK_EQ(c.scan_interval_ms, 250);
    gid_t g;
    CHECK_EQ(live_config_set(&c, "socket_group", "root", err, sizeof(err)), 0);
    CHECK_EQ(live_config_group(&c, &g, err, sizeof(err)), 0);
    CHECK_EQ(g, 0);
    CHECK_EQ(live_config_set(&c, "socket_group", "no-such-group-here", err, sizeof(err)), 0);
    CHECK_EQ(live_config_group(&c, &g, err, sizeof(err)), -ENOENT);
    CHECK_STR_CONTAINS(err, "groupadd");
    CHECK_EQ(live_config_set(&c, "socket_group", "", err, sizeof(err)), 0);
    CHECK_EQ(live_config_group(&c, &g, err, sizeof(err)), 0);
    CHECK_EQ(g, (gid_t)-1);

    /* --print-config shows every key */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    live_config_print(&c, m);
    fclose(m);
    CHECK_STR_CONTAINS(text, "scan_interval_ms         = 250");
    CHECK_STR_CONTAINS(text, "socket_mode              = 0600");
    free(text);
    printf("ok\n");
    return 0;
}
