/*
 * Prometheus text exposition (format 0.0.4) of the agent's status, served two ways:
 *   - a file rewritten atomically every N seconds, for node_exporter's textfile collector
 *     (--collector.textfile.directory): live_prom_write_file;
 *   - a small HTTP endpoint answering GET /metrics on a configured address: live_prom_http_*.
 * Metric names start with bpfmm_; per-process series carry labels pid, comm and policy.
 *
 * The input is the status document the agent answers `bpfmm status --json` with (the fields
 * are listed in docs/agent-daemon.md), so that the metrics, the JSON and the table never
 * disagree. Owns the formatting, the file and the HTTP server; not the status itself.
 */
#ifndef BPFMM_LIVE_PROM_H
#define BPFMM_LIVE_PROM_H

#include <json-c/json.h>
#include <stddef.h>

/* Formats status as exposition text. Returns a malloc'd string, NULL + errno. */
char *live_prom_format(struct json_object *status);

/* Atomic write (temporary file in the same directory, rename). 0 or -errno with a message. */
int live_prom_write_file(const char *path, const char *text, char *err, size_t err_size);

/* The HTTP endpoint. The server has an epoll set of its own (live_prom_http_fd); the agent's
 * loop calls live_prom_http_dispatch when it is readable, which calls get_text for each
 * GET /metrics (the returned malloc'd text is freed by the server). Only GET /metrics (and
 * GET /) are served; anything else gets 404/405; a request that does not complete within
 * 5 s, or exceeds 8 KiB, is dropped. */
typedef struct live_prom_http live_prom_http_t;
typedef char *(*live_prom_text_fn)(void *arg);
/* listen: "127.0.0.1:9464", "[::1]:9464", ":9464" (all addresses). */
live_prom_http_t *live_prom_http_open(const char *listen, live_prom_text_fn get_text, void *arg,
                                      char *err, size_t err_size);
void live_prom_http_close(live_prom_http_t *h);
int live_prom_http_fd(const live_prom_http_t *h);
void live_prom_http_dispatch(live_prom_http_t *h);

#endif
