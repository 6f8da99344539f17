/*
 * Linux UAPI values the live backend needs that the build machine's headers (Debian bookworm,
 * linux-libc-dev 6.1) may lack. Each value is the kernel ABI's exact number (include/uapi/
 * linux/fs.h, asm-generic/mman-common.h, linux/prctl.h); each is guarded by #ifndef so newer
 * headers win. This header owns ABI constants and layouts only, no logic.
 */
#ifndef BPFMM_LIVE_UAPI_H
#define BPFMM_LIVE_UAPI_H

#include <linux/fs.h>
#include <linux/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* --- madvise (asm-generic/mman-common.h) --------------------------------------------------- */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* 6.1 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* 6.13 */
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103 /* 6.13 */
#endif

/* --- prctl (linux/prctl.h) ----------------------------------------------------------------- */
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif
#ifndef PR_GET_THP_DISABLE
#define PR_GET_THP_DISABLE 42
#endif
#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1) /* 6.18: THP only where MADV_HUGEPAGE */
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

/* --- syscalls (x86-64 numbers; the same on every architecture using the generic table) ----- */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

/* --- /proc/PID/pagemap entries (Documentation/admin-guide/mm/pagemap.rst) ------------------- */
#define PM_ENTRY_PFN_MASK   ((1ull << 55) - 1)
#define PM_ENTRY_SOFT_DIRTY (1ull << 55)
#define PM_ENTRY_EXCLUSIVE  (1ull << 56) /* page exclusively mapped (4.2) */
#define PM_ENTRY_UFFD_WP    (1ull << 57)
#define PM_ENTRY_GUARD      (1ull << 58) /* guard region marker (6.15) */
#define PM_ENTRY_FILE       (1ull << 61) /* file page or shared anon */
#define PM_ENTRY_SWAPPED    (1ull << 62)
#define PM_ENTRY_PRESENT    (1ull << 63)

/* --- /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h) ------------------------ */
#define KPF_BIT_THP       22
#define KPF_BIT_ZERO_PAGE 24

/* --- PAGEMAP_SCAN (6.7, linux/fs.h) -------------------------------------------------------- */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED  (1 << 0)
#define PAGE_IS_WRITTEN    (1 << 1)
#define PAGE_IS_FILE       (1 << 2)
#define PAGE_IS_PRESENT    (1 << 3)
#define PAGE_IS_SWAPPED    (1 << 4)
#define PAGE_IS_PFNZERO    (1 << 5)
#define PAGE_IS_HUGE       (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

struct page_region {
    __u64 start;
    __u64 end; /* exclusive */
    __u64 categories;
};

#define PM_SCAN_WP_MATCHING   (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)

struct pm_scan_arg {
    __u64 size;
    __u64 flags;
    __u64 start;
    __u64 end;
    __u64 walk_end; /* out: where the walk stopped */
    __u64 vec;
    __u64 vec_len;
    __u64 max_pages;
    __u64 category_inverted;
    __u64 category_mask;
    __u64 category_anyof_mask;
    __u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8) /* 6.15 */
#endif

/* --- PROCMAP_QUERY (6.11, linux/fs.h) ------------------------------------------------------ */
#ifndef PROCMAP_QUERY
#define PROCMAP_QUERY_VMA_READABLE         0x01
#define PROCMAP_QUERY_VMA_WRITABLE         0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE       0x04
#define PROCMAP_QUERY_VMA_SHARED           0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#define PROCMAP_QUERY_FILE_BACKED_VMA      0x20

struct procmap_query {
    __u64 size;
    __u64 query_flags;
    __u64 query_addr;
    __u64 vma_start;
    __u64 vma_end;
    __u64 vma_flags;
    __u64 vma_page_size;
    __u64 vma_offset;
    __u64 inode;
    __u32 dev_major;
    __u32 dev_minor;
    __u32 vma_name_size;
    __u32 build_id_size;
    __u64 vma_name_addr;
    __u64 build_id_addr;
};

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

_Static_assert(sizeof(struct pm_scan_arg) == 96, "struct pm_scan_arg is 96 bytes in the ABI");
_Static_assert(sizeof(struct page_region) == 24, "struct page_region is 24 bytes in the ABI");
_Static_assert(sizeof(struct procmap_query) == 104, "struct procmap_query is 104 bytes");

#endif
