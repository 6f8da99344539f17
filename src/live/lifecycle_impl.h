/*
 * Internals shared by the lifecycle front end (lifecycle.c) and its two backends
 * (lifecycle_bpf.c, lifecycle_procconn.c): the object layout, the epoll tags and the backend
 * entry points. Not for use outside those files.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_IMPL_H
#define BPFMM_LIVE_LIFECYCLE_IMPL_H

#include "lifecycle.h"
#include "lifecycle_core.h"
#include "os.h"

/* epoll_data.u64 = kind << 60 | (fd << 32 for pidfds) | tgid. */
enum lc_src {
    LC_SRC_RING = 1,  /* BPF ring buffer */
    LC_SRC_NL = 2,    /* proc connector socket */
    LC_SRC_TIMER = 3, /* rescan timerfd */
    LC_SRC_PIDFD = 4, /* a managed process's pidfd (proc connector mode) */
};
#define LC_TAG(kind, fd, tgid)                                                                     \
    ((uint64_t)(kind) << 60 | ((uint64_t)(uint32_t)(fd)&0x0fffffffu) << 32 | (uint32_t)(tgid))
#define LC_TAG_KIND(t) ((unsigned)((t) >> 60))
#define LC_TAG_FD(t)   ((int)(((t) >> 32) & 0x0fffffffu))
#define LC_TAG_TGID(t) ((pid_t)(uint32_t)(t))

struct lc_bpf;

struct live_lifecycle {
    enum live_lc_mode mode;
    struct live_lifecycle_opts opts;
    const struct live_os *os;
    struct lc_core core;
    int epfd;
    bool polling; /* inside poll: a callback must not poll again */
    char describe[512];
    char bpf_reason[256];

    struct lc_bpf *bpf; /* BPF mode */

    int nlfd, tfd; /* proc connector mode: socket, rescan timer */
    uint64_t boot_minus_mono_ns;
    bool overflowed;
};

/* Fills err (if given) with a formatted message; returns err_code. */
__attribute__((format(printf, 4, 5))) int lc_errf(char *err, size_t err_size, int err_code,
                                                  const char *fmt, ...);

/* --- BPF backend (lifecycle_bpf.c) --- */
/* Loads and attaches the programs. On failure returns -errno with the reason in reason. */
int lc_bpf_open(live_lifecycle_t *lc, char *reason, size_t reason_size);
void lc_bpf_close(live_lifecycle_t *lc);
/* Inserts the attach root into the kernel map (after the front end opened its pidfd). */
int lc_bpf_attach(live_lifecycle_t *lc, pid_t tgid, uint32_t policy_id, uint64_t gen, char *err,
                  size_t err_size);
int lc_bpf_detach(live_lifecycle_t *lc, pid_t tgid);
int lc_bpf_detach_policy(live_lifecycle_t *lc, uint32_t policy_id);
int lc_bpf_lookup(live_lifecycle_t *lc, pid_t tgid, uint32_t *policy_id);
int lc_bpf_list(live_lifecycle_t *lc, uint32_t policy_id, struct live_lc_proc *out, size_t cap);
/* Consumes the ring buffer; reconciles if records were lost. */
int lc_bpf_consume(live_lifecycle_t *lc);
uint64_t lc_bpf_insert_fails(live_lifecycle_t *lc);

/* --- proc connector backend (lifecycle_procconn.c) --- */
int lc_pc_open(live_lifecycle_t *lc, char *err, size_t err_size);
void lc_pc_close(live_lifecycle_t *lc);
/* Handles the ready epoll sources of one epoll_wait. */
void lc_pc_handle(live_lifecycle_t *lc, const uint64_t *tags, int n);

#endif
