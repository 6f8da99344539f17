/*
 * Client side of the agent's control protocol (src/live/control_proto.h): connect to the
 * agent's UNIX socket, send one JSON request line, read one reply line. Used by `bpfmm
 * attach|detach|update|global|map|status` and by `bpfmm run` when an agent is running.
 * Owns the transport and its error messages, not the meaning of any operation.
 */
#ifndef BPFMM_CLI_CTL_CLIENT_H
#define BPFMM_CLI_CTL_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* The socket to use: opt if given, else $BPFMM_SOCKET, else /run/bpfmm/agent.sock. */
const char *ctl_socket_path(const char *opt);

/* Connects. Returns the fd, or -errno with a message in err saying what to do:
 * "is `bpfmm agent` running? socket PATH: No such file or directory". */
int ctl_connect(const char *path, char *err, size_t err_size);

/* Sends req (not consumed) and waits up to timeout_ms for the reply line. Returns 0 and the
 * parsed reply (caller puts it), or -errno with a message in err (transport failures only:
 * an error reply is a successful call). */
int ctl_call(int fd, struct json_object *req, struct json_object **reply, int timeout_ms, char *err,
             size_t err_size);

/* connect + call + close, with errors reported through cli_error() prefixed by what (e.g.
 * "attach"). An error reply is reported too ("attach: <error>"). Returns 0 and *reply
 * (caller puts it) when the agent answered ok:true; else -errno (the reply's code when the
 * agent refused). */
int ctl_request(const char *socket_opt, const char *what, struct json_object *req,
                struct json_object **reply);

/* A new request object {"v":1,"op":op}. */
struct json_object *ctl_new_request(const char *op);

#endif
