/*
 * VMAs of a target process, as the policy ctx describes them: start, end, BPFMM_VMA_* flags,
 * the mapping name ([heap], [stack], file base name, [anon:name], "" for plain anonymous
 * memory), file offset, device and inode; plus, filled in by other modules, the smaps
 * statistics (smaps.c) and the scanner's per-VMA totals (scan.c). VMAs come from the
 * PROCMAP_QUERY ioctl where the kernel has it (6.11; binary, per-VMA locks), else from
 * /proc/PID/maps; both give identical lists.
 *
 * Owns: reading and parsing the VMA list, classifying each VMA (anon/file/shmem/special) and
 * its collapse eligibility, the layout hash used as a cheap change signal. Not: smaps parsing
 * (smaps.c), page-level scanning (scan.c).
 */
#ifndef BPFMM_LIVE_VMA_H
#define BPFMM_LIVE_VMA_H

#include "proc.h"

#include <bpfmm/thp_policy.h>
#include <stdbool.h>
#include <stdint.h>

/* smaps VmFlags the agent cares about beyond hg/nh (which become BPFMM_VMA_(NO)HUGEPAGE). */
#define LIVE_VM_HUGETLB    (1u << 0) /* ht */
#define LIVE_VM_IO         (1u << 1) /* io */
#define LIVE_VM_PFNMAP     (1u << 2) /* pf */
#define LIVE_VM_MIXEDMAP   (1u << 3) /* mm */
#define LIVE_VM_LOCKED     (1u << 4) /* lo */
#define LIVE_VM_UFFD       (1u << 5) /* um or uw: userfaultfd-armed */
#define LIVE_VM_DONTDUMP   (1u << 6) /* dd */
#define LIVE_VM_WIPEONFORK (1u << 7) /* wf */

/* Per-VMA numbers from /proc/PID/smaps, in bytes. */
struct live_smaps_stats {
    uint64_t rss, pss, anonymous, anon_huge, shmem_huge, file_huge, swap;
    uint64_t shared;     /* Shared_Clean + Shared_Dirty */
    uint64_t private_;   /* Private_Clean + Private_Dirty */
    uint64_t referenced; /* since the last clear_refs */
    uint32_t vm;         /* LIVE_VM_* */
    int8_t thp_eligible; /* THPeligible: 0/1, -1 when absent */
};

/* Per-VMA totals of the last full scan of the VMA (scan.c), in pages. */
struct live_vma_scan {
    uint64_t present, swapped, huge, zero, guard;
    uint64_t scanned_ns; /* OS-layer clock when scanned; 0 = never */
};

struct live_vma {
    uint64_t start, end; /* [start, end) */
    uint64_t flags;      /* BPFMM_VMA_*; HUGEPAGE/NOHUGEPAGE need smaps, GUARD a scan */
    uint64_t offset;     /* file offset of start, in bytes */
    uint64_t inode;
    uint32_t dev_major, dev_minor;
    bool special; /* [vdso], [vvar], [vsyscall], [uprobes]...: not memory to manage */
    char name[BPFMM_NAME_LEN];
    bool have_smaps;
    struct live_smaps_stats sm;
    struct live_vma_scan scan;
};

struct live_vma_list {
    struct live_vma *v; /* ascending, non-overlapping */
    size_t nr, cap;
    uint64_t layout_hash; /* live_vma_layout_hash() of the list, set by every reader */
    bool from_query;      /* read with PROCMAP_QUERY (else /proc/PID/maps or smaps) */
};

void live_vma_list_free(struct live_vma_list *l);
/* Appends a zeroed VMA; NULL on allocation failure. */
struct live_vma *live_vma_list_add(struct live_vma_list *l);

/* Reads the VMA list of p into out (replacing its contents). use_query: try PROCMAP_QUERY
 * first (falls back to maps on ENOTTY). Shared mappings on anonymous devices (major 0) are
 * checked with statfs on /proc/PID/map_files (CAP_SYS_ADMIN) to tell tmpfs/shmem from other
 * pseudo filesystems; without it, names (memfd:, /dev/shm/, SYSV, /dev/zero) decide. -errno;
 * per-process errors are recorded in p. */
int live_vma_read(struct live_proc *p, bool use_query, struct live_vma_list *out);

/* Parses one maps line ("start-end perms offset major:minor inode [path]") into v: 0, 1 for
 * the [vsyscall] gate VMA (which both readers leave out), -EINVAL if malformed. */
int live_vma_parse_line(const char *line, size_t len, struct live_vma *v);
/* Parses /proc/PID/maps text (pure; no shmem statfs check). -EINVAL on a malformed line. */
int live_vma_parse_maps(const char *text, struct live_vma_list *out);

/* Turns shared FILE VMAs on anonymous devices (major 0) into SHMEM when statfs on
 * /proc/PID/map_files says tmpfs (needs CAP_SYS_ADMIN; otherwise names decided). */
void live_vma_refine_shmem(struct live_proc *p, struct live_vma_list *l);

/* Classifies one VMA from its raw description: sets flags (READ/WRITE/EXEC/SHARED from perms
 * "rwxp"/"r-xs"..., ANON/FILE/SHMEM/STACK/HEAP), special and name. path may be "" or NULL. */
void live_vma_classify(struct live_vma *v, const char *perms, const char *path);

/* The VMA containing addr, or NULL. */
struct live_vma *live_vma_find(const struct live_vma_list *l, uint64_t addr);

/* FNV-1a over every VMA's start, end, flags (as read), offset and inode: equal hashes mean
 * (almost certainly) an unchanged layout. */
uint64_t live_vma_layout_hash(const struct live_vma_list *l);

/* Why a VMA can or cannot be collapsed by process_madvise(MADV_COLLAPSE). */
enum live_vma_elig {
    LIVE_ELIG_OK = 0,
    LIVE_ELIG_TOO_SMALL,        /* no PMD-aligned block lies fully inside */
    LIVE_ELIG_SPECIAL,          /* [vdso], [vvar], VM_IO/PFNMAP/MIXEDMAP... */
    LIVE_ELIG_FILE,             /* file mapping: EINVAL without READ_ONLY_THP_FOR_FS */
    LIVE_ELIG_SHMEM_MISALIGNED, /* shmem whose address and file offset differ mod PMD size */
    LIVE_ELIG_SHMEM_PRIVATE,    /* private mapping of a shmem file */
    LIVE_ELIG_NOHUGEPAGE,       /* MADV_NOHUGEPAGE (known from smaps): EINVAL */
    LIVE_ELIG_HUGETLB,          /* hugetlbfs: already huge, not THP */
    LIVE_ELIG_UFFD,             /* userfaultfd-armed: EBUSY on empty PTEs */
};
enum live_vma_elig live_vma_eligibility(const struct live_vma *v, uint64_t pmd_size);
const char *live_vma_elig_str(enum live_vma_elig e);

/* The first and one-past-last PMD-aligned addresses of the blocks fully inside v (equal when
 * there is none). */
void live_vma_pmd_span(const struct live_vma *v, uint64_t pmd_size, uint64_t *first,
                       uint64_t *last);

/* "rwxp"-style flags text for a VMA (5 bytes with the NUL), for messages and tests. */
void live_vma_perms(const struct live_vma *v, char out[5]);

#endif
