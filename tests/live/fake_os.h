/*
 * A fake OS layer for the live tests that need no kernel: one fake process (pid FAKE_PID)
 * whose page tables are an array of per-page states, with PAGEMAP_SCAN (including Linux
 * 6.18's stale walk_end when more than FAKE_KBUF regions were gathered), /proc/PID/pagemap
 * and /proc/kpageflags reads synthesized from that array, and canned stat/statm files.
 * Owns only the fake; the scenarios are the tests'.
 */
#ifndef BPFMM_FAKE_OS_H
#define BPFMM_FAKE_OS_H

#include "live/os.h"

#include <stdbool.h>
#include <stdint.h>

#define FAKE_PID      4242
#define FAKE_PAGE     4096ull
#define FAKE_PMD      (2ull << 20)
#define FAKE_KBUF     512 /* the kernel's internal region buffer */
#define FAKE_ZERO_PFN 0x777ull

struct fake_page {
    uint64_t cat; /* PAGE_IS_* */
    bool excl;    /* pagemap bit 56 */
    uint64_t pfn; /* for present pages */
};

struct fake_state {
    uint64_t base; /* address of pages[0] */
    size_t npages;
    struct fake_page *pages;
    bool alive;
    int esrch_once;                  /* next PAGEMAP_SCAN/pread fails with ESRCH (an exec) */
    bool stale_walk_end;             /* model the 6.18 bug (default on) */
    uint64_t thp_pfn_lo, thp_pfn_hi; /* kpageflags reports THP for PFNs in [lo, hi) */
    /* counters */
    unsigned scan_calls, pread_calls, pagemap_opens;
};

extern struct fake_state fake;
extern struct live_os fake_os; /* set up by fake_init */

/* Allocates npages of absent pages starting at base (PMD-aligned); installs the fake. */
void fake_init(uint64_t base, size_t npages);
void fake_fini(void);
struct fake_page *fake_at(uint64_t addr);
/* Sets pages [addr, addr + n pages) to cat (PRESENT pages get distinct PFNs, exclusive). */
void fake_set(uint64_t addr, size_t n, uint64_t cat);
/* Makes the PMD block at addr a PMD-mapped THP (PRESENT|HUGE, contiguous aligned PFNs). */
void fake_set_huge(uint64_t addr);

#endif
