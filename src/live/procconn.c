/*
 * Netlink proc connector socket (see procconn.h): subscribe, read and parse. The only raw
 * netlink calls of the live backend are here.
 */
#include "procconn.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One control message: netlink header, connector header, the multicast op. */
static int send_op(int fd, enum proc_cn_mcast_op op)
{
    char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(op))] __attribute__((aligned(8)));
    struct nlmsghdr *nl = (struct nlmsghdr *)buf;
    struct cn_msg *cn = NLMSG_DATA(nl);

    memset(buf, 0, sizeof(buf));
    nl->nlmsg_len = NLMSG_LENGTH(sizeof(*cn) + sizeof(op));
    nl->nlmsg_type = NLMSG_DONE;
    nl->nlmsg_pid = 0;
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->len = sizeof(op);
    memcpy(cn->data, &op, sizeof(op));
    if (send(fd, nl, nl->nlmsg_len, 0) < 0)
        return -errno;
    return 0;
}

int procconn_open(uint32_t rcvbuf, char *err, size_t err_size)
{
    int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0) {
        int e = -errno;
        snprintf(err, err_size,
                 "proc connector: socket(NETLINK_CONNECTOR) failed: %s (kernel without "
                 "CONFIG_CONNECTOR/CONFIG_PROC_EVENTS?)",
                 strerror(-e));
        return e;
    }
    int size = rcvbuf ? (int)rcvbuf : 4 << 20;
    /* FORCE passes net.core.rmem_max when privileged; otherwise take what we can get. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        snprintf(err, err_size,
                 "proc connector: joining the process-events group failed: %s (before Linux "
                 "6.6 this needs CAP_NET_ADMIN; run as root)",
                 strerror(-e));
        close(fd);
        return e;
    }
    int e = send_op(fd, PROC_CN_MCAST_LISTEN);
    if (e) {
        snprintf(err, err_size, "proc connector: subscribing failed: %s (run as root)",
                 strerror(-e));
        close(fd);
        return e;
    }
    return fd;
}

static bool parse(const struct proc_event *pe, struct procconn_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->mono_ns = pe->timestamp_ns;
    switch (pe->what) {
    case PROC_EVENT_FORK:
        ev->type = PROCCONN_FORK;
        ev->pid = pe->event_data.fork.child_pid;
        ev->tgid = pe->event_data.fork.child_tgid;
        ev->parent_pid = pe->event_data.fork.parent_pid;
        ev->parent_tgid = pe->event_data.fork.parent_tgid;
        return true;
    case PROC_EVENT_EXEC:
        ev->type = PROCCONN_EXEC;
        ev->pid = pe->event_data.exec.process_pid;
        ev->tgid = pe->event_data.exec.process_tgid;
        return true;
    case PROC_EVENT_EXIT:
        ev->type = PROCCONN_EXIT;
        ev->pid = pe->event_data.exit.process_pid;
        ev->tgid = pe->event_data.exit.process_tgid;
        ev->parent_pid = pe->event_data.exit.parent_pid;
        ev->parent_tgid = pe->event_data.exit.parent_tgid;
        return true;
    default:
        return false;
    }
}

int procconn_read(int fd, unsigned max_msgs, void (*fn)(void *arg, const struct procconn_event *ev),
                  void *arg, bool *overflow, bool *drained)
{
    char buf[16384] __attribute__((aligned(8)));
    int count = 0;

    *overflow = false;
    *drained = false;
    for (unsigned msgs = 0; msgs < max_msgs; msgs++) {
        struct sockaddr_nl from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) { /* events were dropped; the queue continues after */
                *overflow = true;
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *drained = true;
                return count;
            }
            return -errno;
        }
        if (from.nl_pid != 0) /* only the kernel speaks for processes */
            continue;
        for (struct nlmsghdr *nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)n);
             nl = NLMSG_NEXT(nl, n)) {
            if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP)
                continue;
            struct cn_msg *cn = NLMSG_DATA(nl);
            if (nl->nlmsg_len < NLMSG_LENGTH(sizeof(*cn)) || cn->id.idx != CN_IDX_PROC ||
                cn->id.val != CN_VAL_PROC || cn->len < offsetof(struct proc_event, event_data) ||
                nl->nlmsg_len < NLMSG_LENGTH(sizeof(*cn) + cn->len))
                continue;
            struct proc_event pe;
            memset(&pe, 0, sizeof(pe));
            memcpy(&pe, cn->data, cn->len < sizeof(pe) ? cn->len : sizeof(pe));
            struct procconn_event ev;
            if (parse(&pe, &ev)) {
                count++;
                fn(arg, &ev);
            }
        }
    }
    return count;
}

void procconn_close(int fd)
{
    if (fd < 0)
        return;
    /* The kernel counts listeners and stops building events when none is left. */
    send_op(fd, PROC_CN_MCAST_IGNORE);
    close(fd);
}
