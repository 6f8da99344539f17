/*
 * The agent's control socket: a UNIX stream socket that only root and the members of one
 * configured group may use. Two layers of protection:
 *   - the file: mode (default 0660) and owner root:group, set while nobody can connect (the
 *     socket is bound under a restrictive umask, then chown'ed and chmod'ed);
 *   - the peer: SO_PEERCRED (uid, gid) and SO_PEERGROUPS (supplementary groups) are checked
 *     at accept, so a socket made world-writable by mistake still refuses strangers. A refused
 *     peer gets one error reply (EACCES, saying why) and is disconnected.
 * Accepted peers' credentials (pid, uid, gid) are passed to the request handler, which decides
 * what they may do (the agent checks that the caller could ptrace a process it names).
 *
 * The server has an epoll set of its own: the agent's loop waits on live_ctl_fd() and calls
 * live_ctl_dispatch() when it is readable. Requests are handled synchronously, in order, one
 * connection at a time; replies are buffered and written as the peer reads them.
 *
 * Owns: the socket file, connections, framing (control_proto.h), peer checks. Not: what the
 * operations do (the handler).
 */
#ifndef BPFMM_LIVE_CONTROL_H
#define BPFMM_LIVE_CONTROL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct live_ctl live_ctl_t;

#define LIVE_CTL_MAX_GROUPS 256

struct live_ctl_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    bool in_group; /* member (primary or supplementary) of the configured group */
    /* Supplementary groups (SO_PEERGROUPS; none if it has more than LIVE_CTL_MAX_GROUPS),
     * for acting with the peer's file access (daemon_ops.c). */
    int nr_groups;
    gid_t groups[LIVE_CTL_MAX_GROUPS];
};

/* Returns a new reply object (ownership passes to the server), or NULL for "out of memory". */
typedef struct json_object *(*live_ctl_handler_fn)(void *arg, const struct live_ctl_peer *peer,
                                                   struct json_object *req);

#define LIVE_CTL_NO_GROUP ((gid_t)-1)

struct live_ctl_opts {
    size_t sz;
    const char *path;   /* socket path; its directory is created (0755) if missing */
    gid_t group;        /* LIVE_CTL_NO_GROUP: root only */
    unsigned mode;      /* file mode; 0: 0660 */
    unsigned max_conns; /* simultaneous connections; 0: 64 (more are closed at once) */
    live_ctl_handler_fn handler;
    void *arg;
};

/* Creates the socket. Refuses (-EADDRINUSE) when another agent is listening on path; a stale
 * socket file (nobody listening) is replaced. NULL + errno, with a message in err. */
live_ctl_t *live_ctl_open(const struct live_ctl_opts *o, char *err, size_t err_size);
/* Closes every connection and the socket, and unlinks the socket file. */
void live_ctl_close(live_ctl_t *c);

/* Readable when there is work for live_ctl_dispatch(). */
int live_ctl_fd(const live_ctl_t *c);
/* Accepts, reads, handles and writes without blocking. Returns 0 or -errno (fatal). */
int live_ctl_dispatch(live_ctl_t *c);

/* Closes connections that sent nothing for idle_s seconds (a peer holding connections open
 * must not use up max_conns). Call it now and then (the agent: every second). */
void live_ctl_expire(live_ctl_t *c, unsigned idle_s);

/* Changes the group and mode (SIGHUP reload): the file is updated and new peers are checked
 * against the new group. 0 or -errno. */
int live_ctl_set_access(live_ctl_t *c, gid_t group, unsigned mode, char *err, size_t err_size);

/* Whether a peer with these credentials is allowed, and why not (exposed for tests). */
bool live_ctl_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, int nr_groups, gid_t group);

struct live_ctl_stats {
    unsigned long long accepted, refused, requests, malformed, dropped;
};
void live_ctl_get_stats(const live_ctl_t *c, struct live_ctl_stats *st);

#endif
