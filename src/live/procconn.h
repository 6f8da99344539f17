/*
 * The netlink proc connector (linux/cn_proc.h): a socket that receives every process's FORK,
 * EXEC and EXIT from the kernel, used by the lifecycle fallback when BPF is unavailable.
 * Owns the socket, the subscription and the message parsing; what the events mean for
 * managed processes is lifecycle_core.c's. The connector is asynchronous (events arrive after
 * the child may already have run) and lossy (a full socket buffer drops events: the reader
 * reports an overflow and the caller rescans /proc).
 */
#ifndef BPFMM_LIVE_PROCCONN_H
#define BPFMM_LIVE_PROCCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum procconn_type {
    PROCCONN_FORK = 1, /* pid/tgid: the child; parent_pid/parent_tgid: the forking thread */
    PROCCONN_EXEC = 2, /* pid/tgid: the process */
    PROCCONN_EXIT = 3, /* pid/tgid: the exiting thread */
};

struct procconn_event {
    enum procconn_type type;
    pid_t pid, tgid;
    pid_t parent_pid, parent_tgid;
    uint64_t mono_ns; /* kernel timestamp, CLOCK_MONOTONIC */
};

/* Opens a non-blocking, close-on-exec socket subscribed to process events. rcvbuf: socket
 * buffer bytes (0: 4 MiB; forced past rmem_max when privileged). Returns the fd or -errno,
 * with a message in err. */
int procconn_open(uint32_t rcvbuf, char *err, size_t err_size);
/* Reads pending messages (at most max_msgs datagrams) and calls fn for each FORK/EXEC/EXIT,
 * in order. Messages not from the kernel are ignored. Returns the number of events; *overflow
 * is set when the socket dropped events since the last read (ENOBUFS); *drained when the
 * socket was emptied. -errno on other failures. */
int procconn_read(int fd, unsigned max_msgs, void (*fn)(void *arg, const struct procconn_event *ev),
                  void *arg, bool *overflow, bool *drained);
/* Unsubscribes and closes. */
void procconn_close(int fd);

#endif
