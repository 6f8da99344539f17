/*
 * The agent's control protocol, shared by the server (control.c, in the agent) and the client
 * (src/cli/ctl_client.c): one JSON object per line, UTF-8, over a UNIX stream socket. A client
 * sends requests and reads one reply line per request, in order.
 *
 *   request: {"v":1, "op":"attach", "pid":123, "policy":"default", "rodata":["k=v"]}
 *   reply:   {"v":1, "ok":true, ...}
 *            {"v":1, "ok":false, "errno":"ESRCH", "code":3, "error":"what, why, what to do"}
 *
 * The operations and their fields are listed in docs/agent-daemon.md ("Control protocol").
 * This header owns the framing constants and the reply helpers; it knows nothing of what an
 * operation does.
 */
#ifndef BPFMM_LIVE_CONTROL_PROTO_H
#define BPFMM_LIVE_CONTROL_PROTO_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define LIVE_CTL_VERSION 1
/* A reply line longer than this is refused by the client. Status replies of agents managing
 * tens of thousands of processes stay below it. */
#define LIVE_CTL_MAX_LINE (16u << 20)
/* A request line longer than this is refused and its connection closed (requests are small;
 * 64 connections cannot pin more than 64 MiB of the agent's memory). */
#define LIVE_CTL_MAX_REQUEST    (1u << 20)

#define LIVE_CTL_DEFAULT_SOCKET "/run/bpfmm/agent.sock"
#define LIVE_CTL_DEFAULT_STATE  "/var/lib/bpfmm/state.json"
#define LIVE_CTL_DEFAULT_CONFIG "/etc/bpfmm/agent.conf"

/* {"v":1,"ok":true} */
struct json_object *live_ctl_reply_ok(void);
/* {"v":1,"ok":false,"errno":NAME,"code":err,"error":msg}; err is a positive or negative errno. */
struct json_object *live_ctl_reply_err(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Field accessors for request handlers: 0 or -EINVAL/-ENOENT with a message in err. */
int live_ctl_get_str(struct json_object *req, const char *key, bool required, const char **out,
                     char *err, size_t err_size);
int live_ctl_get_int(struct json_object *req, const char *key, bool required, long long *out,
                     char *err, size_t err_size);
/* An array of strings (e.g. "rodata"): *out points into req (valid while req lives), *n its
 * length (0 when absent). At most max entries. */
int live_ctl_get_strv(struct json_object *req, const char *key, const char **out, unsigned max,
                      unsigned *n, char *err, size_t err_size);

#endif
