/*
 * Prometheus exposition (prom.h): the status document to text, the atomic textfile, and a
 * minimal HTTP/1.x server for GET /metrics, non-blocking inside an epoll set of its own.
 */
#include "prom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- formatting ---------------------------------------------------------------------------- */

static struct json_object *jget(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* A number at a dotted path ("lifecycle.forks"); false when absent or not a number. */
static bool jnum(struct json_object *o, const char *path, double *out)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save, *tok = strtok_r(buf, ".", &save);
    struct json_object *v = o;
    while (tok && v) {
        v = jget(v, tok);
        tok = strtok_r(NULL, ".", &save);
    }
    if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return false;
    *out = json_object_get_double(v);
    return true;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v = jget(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* Label values must be UTF-8: a comm is any bytes, so anything but printable ASCII becomes
 * '?' (one bad byte would make the whole scrape fail). */
static void put_label_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c >= 0x7f)
            fputc('?', f);
        else
            fputc(c, f);
    }
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(FILE *f, double v)
{
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        fprintf(f, " %lld\n", (long long)v);
    else
        fprintf(f, " %.9g\n", v);
}

static void scalar(FILE *f, struct json_object *st, const char *name, const char *type,
                   const char *help, const char *path, double scale)
{
    double v;
    if (!jnum(st, path, &v))
        return;
    header(f, name, type, help);
    fputs(name, f);
    value(f, v * scale);
}

static void proc_labels(FILE *f, struct json_object *p)
{
    double pid = 0;
    jnum(p, "pid", &pid);
    fprintf(f, "{pid=\"%lld\",comm=\"", (long long)pid);
    put_label_value(f, jstr(p, "comm"));
    fputs("\",policy=\"", f);
    put_label_value(f, jstr(p, "policy"));
    fputc('"', f);
}

struct proc_metric {
    const char *name, *type, *help, *field;
    double scale;
};

static const struct proc_metric proc_metrics[] = {
    {"bpfmm_process_anon_rss_bytes", "gauge", "Anonymous resident memory (RssAnon).", "anon_rss",
     1},
    {"bpfmm_process_anon_huge_bytes", "gauge", "Anonymous memory mapped by huge pages.",
     "anon_huge", 1},
    {"bpfmm_process_thp_ratio", "gauge", "AnonHugePages / anonymous RSS (0..1).", "thp_share", 1},
    {"bpfmm_process_collapses_total", "counter", "2 MiB ranges collapsed by the agent.",
     "collapses", 1},
    {"bpfmm_process_collapsed_bytes_total", "counter", "Bytes collapsed by the agent.",
     "collapsed_bytes", 1},
    {"bpfmm_process_mmap_lock_seconds_total", "counter",
     "Time the agent's collapses held the process's mmap lock.", "mmap_lock_us", 1e-6},
    {"bpfmm_process_scans_total", "counter", "Scans of the process's address space.", "scans", 1},
    {"bpfmm_process_last_scan_age_seconds", "gauge", "Seconds since the last scan.",
     "last_scan_age_s", 1},
};

char *live_prom_format(struct json_object *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    struct json_object *agent = jget(st, "agent"), *lc = jget(st, "lifecycle");

    header(f, "bpfmm_agent_info", "gauge", "The agent's version and lifecycle mechanism.");
    fputs("bpfmm_agent_info{version=\"", f);
    put_label_value(f, jstr(agent, "version"));
    fputs("\",lifecycle=\"", f);
    put_label_value(f, jstr(lc, "mode"));
    fputs("\"} 1\n", f);
    scalar(f, st, "bpfmm_agent_uptime_seconds", "gauge", "Seconds since the agent started.",
           "agent.uptime_s", 1);
    scalar(f, st, "bpfmm_agent_cpu_seconds_total", "counter", "CPU time used by the agent.",
           "agent.cpu_s", 1);
    scalar(f, st, "bpfmm_agent_scanned_bytes_total", "counter",
           "Bytes of address space scanned by the agent.", "engine.scanned_bytes", 1);
    scalar(f, st, "bpfmm_agent_cpu_ms_per_gib_scanned", "gauge",
           "Agent CPU milliseconds per GiB scanned.", "engine.cpu_ms_per_gib_scanned", 1);
    scalar(f, st, "bpfmm_managed_processes", "gauge", "Processes governed by a policy.",
           "lifecycle.managed", 1);

    double v;
    static const char *const events[] = {"forks", "execs", "exits"};
    static const char *const event_label[] = {"fork", "exec", "exit"};
    bool hdr = false;
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof(path), "lifecycle.%s", events[i]);
        if (!jnum(st, path, &v))
            continue;
        if (!hdr)
            header(f, "bpfmm_lifecycle_events_total", "counter",
                   "Lifecycle events of managed processes.");
        hdr = true;
        fprintf(f, "bpfmm_lifecycle_events_total{event=\"%s\"}", event_label[i]);
        value(f, v);
    }
    scalar(f, st, "bpfmm_lifecycle_lost_total", "counter",
           "Lifecycle events lost (ring or socket overflow), repaired by reconciliation.",
           "lifecycle.lost", 1);

    struct json_object *pols = jget(st, "policies");
    size_t np =
        pols && json_object_is_type(pols, json_type_array) ? json_object_array_length(pols) : 0;
    static const struct {
        const char *name, *type, *help, *field;
    } pm[] = {
        {"bpfmm_policy_processes", "gauge", "Processes attached to (or inherited) the policy.",
         "processes"},
        {"bpfmm_policy_calls_total", "counter", "Policy program runs.", "calls"},
        {"bpfmm_policy_faults_total", "counter", "Policy run-time faults (answered as no opinion).",
         "faults"},
    };
    for (size_t m = 0; m < sizeof(pm) / sizeof(pm[0]) && np; m++) {
        header(f, pm[m].name, pm[m].type, pm[m].help);
        for (size_t i = 0; i < np; i++) {
            struct json_object *p = json_object_array_get_idx(pols, i);
            if (!jnum(p, pm[m].field, &v))
                continue;
            fprintf(f, "%s{policy=\"", pm[m].name);
            put_label_value(f, jstr(p, "name"));
            fputs("\"}", f);
            value(f, v);
        }
    }

    struct json_object *procs = jget(st, "processes");
    size_t n =
        procs && json_object_is_type(procs, json_type_array) ? json_object_array_length(procs) : 0;
    for (size_t m = 0; m < sizeof(proc_metrics) / sizeof(proc_metrics[0]) && n; m++) {
        const struct proc_metric *pm2 = &proc_metrics[m];
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            struct json_object *p = json_object_array_get_idx(procs, i);
            if (!jnum(p, pm2->field, &v))
                continue;
            if (!any)
                header(f, pm2->name, pm2->type, pm2->help);
            any = true;
            fputs(pm2->name, f);
            proc_labels(f, p);
            fputc('}', f);
            value(f, v * pm2->scale);
        }
    }
    /* Failures by errno: one series per (process, errno) seen. */
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(procs, i);
        struct json_object *fails = jget(p, "collapse_failures");
        if (!fails || !json_object_is_type(fails, json_type_object))
            continue;
        json_object_object_foreach(fails, ename, eval)
        {
            if (!any)
                header(f, "bpfmm_process_collapse_failures_total", "counter",
                       "Failed collapse attempts by errno.");
            any = true;
            fputs("bpfmm_process_collapse_failures_total", f);
            proc_labels(f, p);
            fputs(",errno=\"", f);
            put_label_value(f, ename);
            fputs("\"}", f);
            value(f, json_object_get_double(eval));
        }
    }
    if (fclose(f)) {
        free(text);
        errno = ENOMEM;
        return NULL;
    }
    return text;
}

int live_prom_write_file(const char *path, const char *text, char *err, size_t err_size)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        snprintf(err, err_size, "prometheus_file %s: path too long", path);
        return -ENAMETOOLONG;
    }
    /* node_exporter reads *.prom files: the temporary name must not end in .prom. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_size, "prometheus_file: cannot create %s: %s", tmp, strerror(e));
        return -e;
    }
    size_t n = strlen(text), off = 0;
    int rc = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(err, err_size, "prometheus_file: cannot write %s: %s", path, strerror(-rc));
    }
    return rc;
}

/* --- HTTP ------------------------------------------------------------------------------------ */

#define HTTP_MAX_REQ   8192
#define HTTP_MAX_CONNS 16
#define HTTP_TIMEOUT_S 5

struct hconn {
    int fd;
    time_t started;
    char req[HTTP_MAX_REQ];
    size_t req_len;
    char *out;
    size_t out_len, out_off;
    struct hconn *next;
};

struct live_prom_http {
    int lfd, ep;
    live_prom_text_fn get_text;
    void *arg;
    struct hconn *conns;
    unsigned nr;
};

static int parse_listen(const char *listen, struct addrinfo **res, char *err, size_t err_size)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || (size_t)(colon - listen) >= sizeof(host)) {
        snprintf(err, err_size, "prometheus_listen '%s' is not ADDR:PORT (e.g. 127.0.0.1:9464)",
                 listen);
        return -EINVAL;
    }
    size_t hl = (size_t)(colon - listen);
    memcpy(host, listen, hl);
    host[hl] = 0;
    char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        h = host + 1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    int g = getaddrinfo(*h ? h : NULL, colon + 1, &hints, res);
    if (g) {
        snprintf(err, err_size, "prometheus_listen '%s': %s (use a numeric address and port)",
                 listen, gai_strerror(g));
        return -EINVAL;
    }
    return 0;
}

live_prom_http_t *live_prom_http_open(const char *addr, live_prom_text_fn get_text, void *arg,
                                      char *err, size_t err_size)
{
    struct addrinfo *res;
    int rc = parse_listen(addr, &res, err, err_size);
    if (rc) {
        errno = -rc;
        return NULL;
    }
    struct live_prom_http *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(res);
        errno = ENOMEM;
        return NULL;
    }
    h->get_text = get_text;
    h->arg = arg;
    h->ep = -1;
    h->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(h->lfd, res->ai_addr, res->ai_addrlen) || listen(h->lfd, 16)) {
        rc = -errno;
        snprintf(err, err_size, "prometheus_listen %s: cannot listen: %s", addr, strerror(-rc));
        goto fail;
    }
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (h->ep < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->lfd, &ev)) {
        rc = -errno;
        snprintf(err, err_size, "prometheus_listen: epoll: %s", strerror(-rc));
        goto fail;
    }
    freeaddrinfo(res);
    return h;
fail:
    freeaddrinfo(res);
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->ep >= 0)
        close(h->ep);
    free(h);
    errno = -rc;
    return NULL;
}

static void hconn_free(struct live_prom_http *h, struct hconn *c)
{
    for (struct hconn **pp = &h->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->out);
    free(c);
    h->nr--;
}

void live_prom_http_close(live_prom_http_t *h)
{
    if (!h)
        return;
    while (h->conns)
        hconn_free(h, h->conns);
    close(h->lfd);
    close(h->ep);
    free(h);
}

int live_prom_http_fd(const live_prom_http_t *h)
{
    return h->ep;
}

static void respond(struct live_prom_http *h, struct hconn *c, const char *status,
                    const char *ctype, const char *body)
{
    char *out = NULL;
    bool head = !strncmp(c->req, "HEAD ", 5); /* the headers only */
    int n = asprintf(&out,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, ctype, strlen(body), head ? "" : body);
    if (n < 0)
        return;
    c->out = out;
    c->out_len = (size_t)n;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns true when the connection is finished. */
static bool hconn_io(struct live_prom_http *h, struct hconn *c)
{
    if (!c->out) {
        ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
        if (n > 0)
            c->req_len += (size_t)n;
        c->req[c->req_len] = 0;
        if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
            if (c->req_len >= sizeof(c->req) - 1)
                respond(h, c, "431 Request Header Fields Too Large", "text/plain",
                        "request too large\n");
            else
                return false;
        } else {
            char method[8] = "", target[256] = "";
            sscanf(c->req, "%7s %255s", method, target);
            char *q = strchr(target, '?');
            if (q)
                *q = 0;
            if (strcmp(method, "GET") && strcmp(method, "HEAD"))
                respond(h, c, "405 Method Not Allowed", "text/plain", "only GET\n");
            else if (!strcmp(target, "/metrics")) {
                char *text = h->get_text(h->arg);
                respond(h, c, text ? "200 OK" : "500 Internal Server Error",
                        "text/plain; version=0.0.4; charset=utf-8",
                        text ? text : "status unavailable\n");
                free(text);
            } else if (!strcmp(target, "/"))
                respond(h, c, "200 OK", "text/html",
                        "<html><body><a href=\"/metrics\">bpfmm metrics</a></body></html>\n");
            else
                respond(h, c, "404 Not Found", "text/plain", "try /metrics\n");
        }
    }
    while (c->out && c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno != EAGAIN && errno != EINTR;
        c->out_off += (size_t)n;
    }
    return c->out != NULL;
}

void live_prom_http_dispatch(live_prom_http_t *h)
{
    struct epoll_event evs[16];
    int n = epoll_wait(h->ep, evs, 16, 0);
    for (int i = 0; i < n; i++) {
        struct hconn *c = evs[i].data.ptr;
        if (!c) {
            for (;;) {
                int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                struct hconn *k = h->nr < HTTP_MAX_CONNS ? calloc(1, sizeof(*k)) : NULL;
                if (!k) {
                    close(fd);
                    continue;
                }
                k->fd = fd;
                k->started = time(NULL);
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
                if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev)) {
                    close(fd);
                    free(k);
                    continue;
                }
                k->next = h->conns;
                h->conns = k;
                h->nr++;
            }
            continue;
        }
        if (hconn_io(h, c))
            hconn_free(h, c);
    }
    time_t now = time(NULL);
    for (struct hconn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->started > HTTP_TIMEOUT_S)
            hconn_free(h, c);
    }
}
