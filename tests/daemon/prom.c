/*
 * The Prometheus exposition: the agent writes a textfile every second and serves GET /metrics
 * on a loopback port. Both parse as the text format (HELP and TYPE before each family's
 * samples, `name{labels} value` lines with bpfmm_ names) and contain the per-process metrics
 * of an attached workload with its pid, comm and policy labels.
 */
#include "daemon_test.h"

#include <ctype.h>
#include <netinet/in.h>

/* Checks the exposition format; returns the number of samples. */
static int check_format(const char *text)
{
    char fam_help[128] = "", fam_type[128] = "";
    int samples = 0;
    const char *l = text;
    while (*l) {
        const char *nl = strchr(l, '\n');
        CHECK_MSG(nl, "unterminated last line");
        char line[1024];
        size_t n = (size_t)(nl - l);
        CHECK_LT(n, sizeof(line));
        memcpy(line, l, n);
        line[n] = 0;
        l = nl + 1;
        char name[128], rest[900];
        if (sscanf(line, "# HELP %127s %899[^\n]", name, rest) == 2) {
            snprintf(fam_help, sizeof(fam_help), "%s", name);
            continue;
        }
        if (sscanf(line, "# TYPE %127s %899s", name, rest) == 2) {
            CHECK_MSG(!strcmp(name, fam_help), "TYPE %s without HELP", name);
            CHECK_MSG(!strcmp(rest, "gauge") || !strcmp(rest, "counter"), "type %s", rest);
            snprintf(fam_type, sizeof(fam_type), "%s", name);
            continue;
        }
        CHECK_MSG(line[0] != '#', "unexpected comment: %s", line);
        /* name{labels} value */
        size_t i = 0;
        while (isalnum((unsigned char)line[i]) || line[i] == '_')
            i++;
        CHECK_MSG(i > 6 && !strncmp(line, "bpfmm_", 6), "bad metric name in: %s", line);
        CHECK_MSG(strlen(fam_type) == i && !strncmp(line, fam_type, i),
                  "sample %s outside its family %s", line, fam_type);
        if (line[i] == '{') {
            const char *close = strrchr(line, '}');
            CHECK_MSG(close, "unclosed labels: %s", line);
            i = (size_t)(close - line) + 1;
        }
        CHECK_MSG(line[i] == ' ', "no value: %s", line);
        char *end;
        strtod(line + i + 1, &end);
        CHECK_MSG(*end == 0 && end != line + i + 1, "bad value: %s", line);
        samples++;
    }
    return samples;
}

static char *http_req(int port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[256];
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n", method, path);
    CHECK_EQ(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    size_t cap = 1 << 20, len = 0;
    char *buf = calloc(1, cap);
    for (ssize_t n; (n = read(fd, buf + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    close(fd);
    return buf;
}

static char *http_get(int port, const char *path)
{
    return http_req(port, "GET", path);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

int main(void)
{
    dt_init();
    char file[160], listen[64];
    snprintf(file, sizeof(file), "%s/bpfmm.prom", D.dir);
    int port = free_port();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    dt_agent_start("--prometheus-file", file, "--prometheus-listen", listen, "--set",
                   "prometheus_interval=1");
    struct dt_wl w;
    dt_workload(&w, "--size", "16M", "--hold");
    char out[4096], pid[16], label[64];
    snprintf(pid, sizeof(pid), "%d", (int)w.pid);
    CHECK_EQ(dt_ctl(out, sizeof(out), "attach", "--pid", pid, "--policy", "default", NULL), 0);
    CHECK(DT_WAIT(dt_proc_num(w.pid, "collapses") >= 1, 60));
    snprintf(label, sizeof(label), "{pid=\"%d\",comm=\"bpfmm\",policy=\"default\"}", (int)w.pid);

    char needle[160];
    snprintf(needle, sizeof(needle), "bpfmm_process_collapses_total%s", label);
    char *text = NULL;
    CHECK_MSG(DT_WAIT((free(text), text = slurp(file), text && strstr(text, needle)), 30),
              "%s has no %s", file, needle);
    CHECK_GT(check_format(text), 10);
    static const char *const want[] = {"bpfmm_process_anon_rss_bytes",
                                       "bpfmm_process_thp_ratio",
                                       "bpfmm_process_collapsed_bytes_total",
                                       "bpfmm_process_mmap_lock_seconds_total",
                                       "bpfmm_process_last_scan_age_seconds",
                                       "bpfmm_managed_processes",
                                       "bpfmm_agent_info"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char t[128];
        snprintf(t, sizeof(t), "# TYPE %s ", want[i]);
        CHECK_STR_CONTAINS(text, t);
    }
    free(text);

    char *resp = http_get(port, "/metrics");
    CHECK_STR_CONTAINS(resp, "HTTP/1.1 200 OK");
    CHECK_STR_CONTAINS(resp, "text/plain; version=0.0.4");
    char *body = strstr(resp, "\r\n\r\n");
    CHECK(body);
    CHECK_GT(check_format(body + 4), 10);
    CHECK_STR_CONTAINS(body, needle);
    free(resp);
    resp = http_req(port, "HEAD", "/metrics"); /* headers only */
    CHECK_STR_CONTAINS(resp, "200 OK");
    CHECK(!strstr(resp, "bpfmm_"));
    free(resp);
    resp = http_req(port, "POST", "/metrics");
    CHECK_STR_CONTAINS(resp, "405");
    free(resp);
    resp = http_get(port, "/nothing");
    CHECK_STR_CONTAINS(resp, "404");
    free(resp);
    CHECK(dt_agent_alive());
    printf("ok\n");
    return 0;
}
