/*
 * A fake OS layer for the agent's unit tests: several fake processes, each with VMAs whose
 * pages are an array of states, and the /proc files, PAGEMAP_SCAN, pagemap reads and
 * process_madvise(MADV_COLLAPSE) the agent uses, behaving as Linux 6.18 does
 * (../../shared/reference/linux-thp.md):
 *   - process_madvise walks the iovecs in order and stops at the first that fails, returning
 *     the bytes of the iovecs before it, or its errno if it was the first;
 *   - one iovec is collapsed block by block: a guard page, a MADV_NOHUGEPAGE VMA, a process
 *     with THP disabled, an injected "abort" error end it (EINVAL...); an empty block or an
 *     injected "skip" error is passed over but fails the iovec; an unmapped gap gives ENOMEM
 *     after the mapped parts; ESRCH for a dead process, EPERM when denied;
 *   - each collapsed block advances the fake clock by block_cost_ns (the lock estimate).
 * Also a fake CPU clock and /proc listing for struct live_agent_opts. Owns only the fake.
 */
#ifndef BPFMM_FAKE_AGENT_H
#define BPFMM_FAKE_AGENT_H

#include "live/agent.h"

#include <stdbool.h>
#include <stdint.h>

#define FA_PAGE      4096ull
#define FA_PMD       (2ull << 20)
#define FA_MAX_PROCS 8
#define FA_MAX_VMAS  16
#define FA_MAX_INJ   64
#define FA_MAX_CALLS 4096

/* Page states (bits). */
#define FA_PRESENT 1u
#define FA_SWAPPED 2u
#define FA_HUGE    4u
#define FA_ZERO    8u
#define FA_GUARD   16u
#define FA_SHARED  32u /* present and mapped by another process (not exclusive) */

struct fa_vma {
    uint64_t start, end;
    char perms[5];
    bool nohuge;
    uint64_t referenced_kb; /* smaps Referenced */
    uint8_t *pages;
};

struct fa_inj {
    uint64_t block; /* PMD-aligned address */
    int err;        /* negative errno */
    int times;      /* -1: forever */
    bool abort;     /* ends the iovec (guard-like) rather than skipping the block */
};

struct fa_proc {
    pid_t pid;
    bool exists; /* has a /proc entry (alive or zombie) */
    bool zombie; /* its memory is gone */
    bool deny;   /* process_madvise and pagemap: EPERM/EACCES */
    char comm[16];
    unsigned uid, gid;
    bool nondumpable; /* /proc/PID then belongs to root */
    int thp_enabled;
    uint64_t ticks;
    struct fa_vma v[FA_MAX_VMAS];
    int nv;
    struct fa_inj inj[FA_MAX_INJ];
    int ninj;
};

struct fa_call {
    pid_t pid;
    unsigned n;
    uint64_t start[16], len[16]; /* the first 16 iovecs */
    long ret;
    uint64_t at;
};

struct fa_state {
    uint64_t now;           /* fake CLOCK_MONOTONIC, ns */
    uint64_t cpu;           /* fake thread CPU, ns */
    uint64_t block_cost_ns; /* clock advance per collapsed block */
    int enomem;             /* the next N blocks fail to allocate (ENOMEM, abort) */
    struct fa_proc p[FA_MAX_PROCS];
    int np;
    struct fa_call calls[FA_MAX_CALLS];
    unsigned ncalls;
    unsigned smaps_reads, clear_refs, pagemap_scans, preads;
    /* /sys/kernel/mm/ksm/{run,pages_shared}; ksm_absent: no such files (no CONFIG_KSM) */
    bool ksm_absent;
    unsigned ksm_run, ksm_pages_shared;
};

extern struct fa_state fa;
extern struct live_os fa_os;
extern struct live_features fa_features;

/* Resets everything (clock at 1 s) and installs the fake. */
void fa_init(void);
void fa_fini(void);
struct fa_proc *fa_proc_add(pid_t pid, const char *comm);
struct fa_proc *fa_proc(pid_t pid);
/* A private anonymous VMA [start, start + size) with every page absent. */
struct fa_vma *fa_vma_add(struct fa_proc *p, uint64_t start, uint64_t size);
void fa_vma_remove(struct fa_proc *p, uint64_t start);
/* Sets n pages from addr to state. */
void fa_set(struct fa_proc *p, uint64_t addr, uint64_t n, uint8_t state);
uint8_t fa_page(struct fa_proc *p, uint64_t addr);
bool fa_block_huge(struct fa_proc *p, uint64_t block);
void fa_inject(struct fa_proc *p, uint64_t block, int err, int times, bool abort);
/* Calls that included block (in any iovec). */
unsigned fa_calls_touching(pid_t pid, uint64_t block);
unsigned fa_calls_of(pid_t pid);

/* For struct live_agent_opts. */
int fa_list_pids(void *arg, pid_t *pids, size_t cap);
uint64_t fa_cpu_ns(void *arg);
/* Options with the fake installed, the given budget, everything else default. */
struct live_agent_opts fa_opts(const struct live_agent_budget *b);
/* An agent on the fake with a policy loaded from the build tree (id returned). */
live_agent_t *fa_agent(const struct live_agent_opts *o, const char *policy, uint32_t *id);
/* Runs steps, advancing the fake clock to each step's requested time (at least step_ns
 * later), until the clock passes `until`. Returns the number of steps. */
unsigned fa_run(live_agent_t *a, uint64_t until, uint64_t step_ns);

#endif
