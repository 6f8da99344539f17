/*
 * Feature probing for the live backend: what this kernel and these privileges allow (kernel
 * version, MADV_COLLAPSE locally and on another process, PAGEMAP_SCAN, guard detection,
 * PROCMAP_QUERY, PR_THP_DISABLE_EXCEPT_ADVISED, anonymous VMA names, capabilities) and the
 * THP sysfs settings. Interfaces are probed for real (an ioctl, a madvise on memory of our
 * own or of a short-lived child), not inferred from the version alone. Owns the probing, the
 * cached result, the minimum-requirement check and the human-readable report; it decides
 * nothing about which process to scan or collapse.
 */
#ifndef BPFMM_LIVE_PROBE_H
#define BPFMM_LIVE_PROBE_H

#include "os.h"

#include <stdbool.h>
#include <stdint.h>

#define LIVE_KVER(a, b, c) (((uint32_t)(a) << 16) | ((uint32_t)(b) << 8) | (uint32_t)(c))

/* Linux capability numbers the agent cares about (linux/capability.h). */
#define LIVE_CAP_SYS_PTRACE 19
#define LIVE_CAP_SYS_ADMIN  21
#define LIVE_CAP_SYS_NICE   23
#define LIVE_CAP_PERFMON    38
#define LIVE_CAP_BPF        39

struct live_khugepaged {
    bool valid; /* the khugepaged directory was readable */
    uint64_t pages_to_scan, scan_sleep_millisecs, alloc_sleep_millisecs;
    uint64_t max_ptes_none, max_ptes_swap, max_ptes_shared;
    uint64_t defrag;
};

struct live_features {
    /* --- kernel --- */
    char release[65]; /* uname -r */
    unsigned kmajor, kminor, kpatch;
    uint32_t kver; /* LIVE_KVER(kmajor, kminor, min(kpatch, 255)) */
    unsigned page_size;

    /* --- interfaces (real probes; *_err is the errno that made a probe fail, 0 if it
     *     passed or did not run) --- */
    bool pidfd;         /* pidfd_open */
    bool madv_collapse; /* MADV_COLLAPSE on our own memory (>= 6.1) */
    int madv_collapse_err;
    bool madv_collapse_remote; /* process_madvise(pidfd, MADV_COLLAPSE) on a child of ours */
    int madv_collapse_remote_err;
    bool pagemap_scan; /* PAGEMAP_SCAN ioctl (>= 6.7) */
    int pagemap_scan_err;
    bool guard_install;              /* MADV_GUARD_INSTALL (>= 6.13) */
    bool pagemap_scan_guard;         /* PAGEMAP_SCAN reports PAGE_IS_GUARD (>= 6.15) */
    bool pagemap_pfn;                /* /proc/PID/pagemap shows PFNs (CAP_SYS_ADMIN) */
    bool procmap_query;              /* PROCMAP_QUERY ioctl (>= 6.11) */
    bool thp_disable_except_advised; /* PR_THP_DISABLE_EXCEPT_ADVISED (6.18) */
    bool anon_vma_name;              /* PR_SET_VMA_ANON_NAME (CONFIG_ANON_VMA_NAME) */

    /* --- privileges --- */
    bool root;                /* effective uid 0 */
    uint64_t caps;            /* effective capability mask */
    bool can_collapse_others; /* CAP_SYS_NICE and CAP_SYS_PTRACE (root has both) */
    bool can_lifecycle_bpf;   /* CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) */

    /* --- THP settings (/sys/kernel/mm/transparent_hugepage) --- */
    bool thp_sysfs;       /* the directory exists */
    char thp_enabled[16]; /* always | madvise | never ("" if unknown) */
    char thp_defrag[24];
    char thp_shmem_enabled[24];
    bool thp_use_zero_page;
    uint64_t hpage_pmd_size;       /* bytes; 0 if unknown */
    unsigned pmd_order;            /* log2(hpage_pmd_size / page_size); 9 on x86-64 */
    uint64_t thp_orders_supported; /* orders with a hugepages-<size>kB directory */
    /* Orders allowed for anonymous memory at all: the per-size enabled files that are not
     * "never", with "inherit" resolved against the top-level enabled. This is what
     * bpfmm_sysfs_thp_orders() reports to policies. */
    uint64_t thp_orders_enabled;
    struct live_khugepaged khugepaged;
};

/* Probes everything now (forks one short-lived child; takes a few ms). Never fails as a
 * whole: what cannot be probed is reported as absent, with the errno kept where useful. */
void live_probe(const struct live_os *os, struct live_features *f);

/* The first call probes with os and caches; later calls return the cache (os ignored).
 * Thread-safe. */
const struct live_features *live_probe_cached(const struct live_os *os);

/* The agent's minimum: Linux >= 6.1 with MADV_COLLAPSE usable, pidfds, and the privileges to
 * collapse other processes' memory. Returns 0, or -ENOTSUP (kernel or interface missing) /
 * -EPERM (privileges), writing a message that says exactly what is missing and what to do. */
int live_probe_require(const struct live_features *f, char *msg, size_t size);

/* A multi-line human-readable report of everything above, with what the agent does instead
 * when something is missing (for `bpfmm status`). Returns a malloc'd string, NULL + errno. */
char *live_probe_report(const struct live_features *f);

/* Parses a sysfs choice list ("always [madvise] never") into the bracketed word. Returns 0, or
 * -EINVAL if no word is bracketed. Exposed for tests. */
int live_sysfs_choice(const char *text, char *out, size_t size);

#endif
