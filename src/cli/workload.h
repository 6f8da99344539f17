/*
 * The `bpfmm workload` process's state (src/cli/cmd_workload.c), shared with its fault probe
 * (src/cli/cmd_workload_probe.c). Internal to the command; nothing else includes it.
 */
#ifndef BPFMM_CLI_WORKLOAD_H
#define BPFMM_CLI_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WL_PMD  (2ul << 20)
#define WL_PAGE 4096ul

/* Pages the fault probe cycles through (page 0 of its block stays resident, so the block keeps
 * its page table and never gets a THP at fault; 1 + 128 resident pages at most, so a policy
 * with max_ptes_none < 383 never collapses it). */
#define WL_PROBE_PAGES 128u

/* One fault probe: a thread faulting pages of its 2 MiB block. */
struct probe {
    struct wl *w;
    char *block;
    const char *vma; /* "same" (the region's VMA) or "other" (a VMA of its own: the control) */
    pthread_t thread;
    bool started;
};

struct wl {
    uint64_t size, sparse_size;
    bool sparse, read_touch, pattern, hugepage, nohugepage, hold, prevent_thp, advise_after;
    bool nondumpable;
    unsigned guards;
    double random_s;
    unsigned report_ms, probe_us;
    int ready_fd;
    const char *name;
    /* state */
    char *region, *sparse_region;
    uint64_t ranges, guard_stride, sparse_touched;
    bool thp_at_fault;
    bool verify_failed;
    bool probe_rt;
    struct probe probes[2];
    atomic_bool probe_stop;
};

/* Starts the two probe threads (w->probes[] must be set up); 0, or -1 after an error message. */
int wl_probe_start(struct wl *w);
/* Stops and joins whichever probe threads were started. */
void wl_probe_stop(struct wl *w);

#endif
