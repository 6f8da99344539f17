/*
 * The slow path of the scanner: /proc/PID/smaps (per-VMA Rss, Anonymous, AnonHugePages,
 * Swap, Shared_*, Referenced, VmFlags), smaps_rollup (process totals) and clear_refs (reset
 * the accessed bits, so that the next smaps Referenced counts what was touched since).
 * Reading smaps walks every page table of the target under its mmap lock: about 45 ms for a
 * 4 GiB all-4K process on these machines, so the caller rate-limits it (seconds, not every
 * scan). The parser ignores unknown fields and lines, so newer kernels do not break it.
 *
 * Owns: smaps/smaps_rollup parsing, merging smaps numbers into a VMA list, clear_refs. Not:
 * the VMA list itself (vma.c) or page-level counts (scan.c).
 */
#ifndef BPFMM_LIVE_SMAPS_H
#define BPFMM_LIVE_SMAPS_H

#include "vma.h"

/* Parses smaps text into a VMA list (headers classified as maps lines, fields into ->sm,
 * hg/nh VmFlags into BPFMM_VMA_HUGEPAGE/NOHUGEPAGE, have_smaps set). Pure. -EINVAL on a
 * malformed header line; unknown "Key: value" lines are skipped. */
int live_smaps_parse(const char *text, struct live_vma_list *out);

/* Reads /proc/PID/smaps into out (replacing it; shmem refined as live_vma_read does). */
int live_smaps_read(struct live_proc *p, struct live_vma_list *out);

/* Copies smaps numbers and hg/nh flags from src into the VMAs of dst with the same start and
 * end (others keep have_smaps false). Returns how many VMAs matched. */
size_t live_smaps_merge(struct live_vma_list *dst, const struct live_vma_list *src);

/* /proc/PID/smaps_rollup: the same fields summed over the process (vm and thp_eligible 0). */
int live_smaps_rollup(struct live_proc *p, struct live_smaps_stats *tot);

/* Parses one "Key:   1234 kB" line into st (bytes); returns false for keys it does not know.
 * Exposed for tests. */
bool live_smaps_field(const char *line, size_t len, struct live_smaps_stats *st);

enum live_clear_refs {
    LIVE_CLEAR_REFS_ALL = 1,  /* accessed bits of every page */
    LIVE_CLEAR_REFS_ANON = 2, /* anonymous pages only */
    LIVE_CLEAR_REFS_FILE = 3, /* file-backed pages only */
};
/* Writes "1", "2" or "3" to /proc/PID/clear_refs. Needs ptrace access (like pagemap). */
int live_clear_refs(struct live_proc *p, enum live_clear_refs what);

#endif
