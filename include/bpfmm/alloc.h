/*
 * bpfmm page allocator: a buddy allocator over a range of 4 KiB page frames, with the
 * never-blocking entry points of Linux's try_alloc_pages() / free_pages_nolock() (seed 003),
 * per-thread page caches guarded by a local trylock, compound-page order checking, a charge
 * counter with a limit (the memory-cgroup analogue), and a small-object cache on top.
 *
 * Two modes:
 *   backed   - the frames are a real mmap'd arena; a pfn maps to usable memory;
 *   unbacked - metadata only (at most 32 bytes per frame), for simulated physical memory.
 *
 * Contexts. The blocking API may take (and wait for) locks; it must not be called from a signal
 * handler. The try_/nolock API never waits for another thread and never spins on a lock: it is
 * async-signal-safe and may run in a signal handler that interrupted a thread inside the
 * allocator (the userspace analogue of NMI).
 *
 * Errors: functions return 0 (or a pfn >= 0) on success and a negative errno on failure;
 * pointer-returning functions return NULL and set errno. Bad frees are refused (the block stays
 * as it was) and counted; debug builds (BPFMM_DEBUG) also print what was wrong and where.
 */
#ifndef BPFMM_ALLOC_H
#define BPFMM_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BPFMM_PAGE_SHIFT      12
#define BPFMM_PAGE_SIZE       (1ul << BPFMM_PAGE_SHIFT)
#define BPFMM_ALLOC_ORDER_MAX 18 /* largest supported max_order: 1 GiB blocks */
#define BPFMM_ALLOC_NR_ORDERS (BPFMM_ALLOC_ORDER_MAX + 1)
#define BPFMM_ALLOC_DEF_ORDER 10 /* default max_order, as Linux's MAX_PAGE_ORDER */

typedef struct bpfmm_alloc bpfmm_alloc_t;
typedef struct bpfmm_slab bpfmm_slab_t;

/* Options for bpfmm_alloc_create(). Extensible: set sz = sizeof(struct bpfmm_alloc_opts);
 * fields are only ever appended, and zero means "default" for every field. */
struct bpfmm_alloc_opts {
    size_t sz;
    uint64_t nr_frames;          /* frames in the zone; required, > 0 */
    unsigned max_order;          /* 0..18; 0 selects BPFMM_ALLOC_DEF_ORDER (use
                                    BPFMM_ALLOC_ORDER0_ONLY for a zone of order 0 only) */
    bool backed;                 /* true: mmap an arena of nr_frames pages */
    uint64_t charge_limit_pages; /* 0: unlimited */
    unsigned pcp_slots;          /* per-thread caches; 0: 64; BPFMM_ALLOC_NO_PCP: none (every
                                    call takes the zone path) */
    unsigned pcp_high;           /* pages a thread cache holds before it flushes half; 0: 64 */
    unsigned pcp_max_order;      /* highest order kept in thread caches; 0: 3 */
};
#define BPFMM_ALLOC_ORDER0_ONLY (~0u) /* also for pcp_max_order: cache order 0 only */
#define BPFMM_ALLOC_NO_PCP      (~0u) /* pcp_slots: no per-thread caches */

/* Allocation flags for the blocking API. */
#define BPFMM_GFP_ZERO     (1u << 0) /* zero the block (backed mode) */
#define BPFMM_GFP_NOCHARGE (1u << 1) /* do not charge the block to the charge counter */

/* NULL with errno EINVAL (bad option, zero frames), E2BIG (more than 2^32-1 frames, or a backed
 * arena larger than RAM + swap) or ENOMEM; bpfmm_alloc_last_error() then says what and why. */
bpfmm_alloc_t *bpfmm_alloc_create(const struct bpfmm_alloc_opts *opts);
/* The calling thread's message for its last failed bpfmm_alloc_create() or
 * bpfmm_alloc_slab_create() ("" if none). */
const char *bpfmm_alloc_last_error(void);
/* Frees all metadata and the arena. Outstanding blocks become invalid. Destroy the allocator's
 * slab caches first. No other thread may be using it. */
void bpfmm_alloc_destroy(bpfmm_alloc_t *a);

/* --- Blocking API (alloc_pages / free_pages) --------------------------------------------- */

/* Returns the first pfn of a naturally aligned block of 2^order frames, or -ENOMEM (no block
 * large enough: fragmentation is real), -EDQUOT (charge limit), -EINVAL (bad order). */
int64_t bpfmm_alloc_pages(bpfmm_alloc_t *a, unsigned order, unsigned flags);
/* Returns 0, or -EINVAL for a pfn that is not the head of an allocated block, a double free
 * or a wrong order (the block is left allocated and the event counted). */
int bpfmm_alloc_free_pages(bpfmm_alloc_t *a, uint64_t pfn, unsigned order);

/* --- Non-blocking API (try_alloc_pages / free_pages_nolock); async-signal-safe ----------- */

/* Like bpfmm_alloc_pages(), but returns -EAGAIN instead of waiting when the thread cache or
 * the zone lock is busy (the reason is counted). Always charged. */
int64_t bpfmm_alloc_try_alloc_pages(bpfmm_alloc_t *a, unsigned order);
/* Never spins: when the lock it needs is held, the block goes onto a lock-free list that the
 * next operation holding the lock drains. Same validation and return values as free_pages. */
int bpfmm_alloc_free_pages_nolock(bpfmm_alloc_t *a, uint64_t pfn, unsigned order);

/* --- Frames and memory ------------------------------------------------------------------- */

/* Backed mode: the address of frame pfn (NULL and errno EINVAL for unbacked or out of
 * range). Async-signal-safe. */
void *bpfmm_alloc_pfn_to_addr(const bpfmm_alloc_t *a, uint64_t pfn);
/* Backed mode: the pfn containing addr, or -EFAULT if addr is outside the arena. */
int64_t bpfmm_alloc_addr_to_pfn(const bpfmm_alloc_t *a, const void *addr);

/* --- Charge counter (memory-cgroup analogue) --------------------------------------------- */

/* A limit below the current charge makes further charged allocations fail until frees bring
 * the charge under it. 0 means unlimited. */
int bpfmm_alloc_set_charge_limit(bpfmm_alloc_t *a, uint64_t pages);

/* --- Maintenance ------------------------------------------------------------------------- */

/* Blocking: returns every thread cache's pages and every deferred free to the buddy lists. */
int bpfmm_alloc_drain(bpfmm_alloc_t *a);
/* Blocking: full consistency check. Verifies free + cached + allocated + deferred == total,
 * that free blocks are merged where they can be, and (debug builds) that no frame is owned
 * twice. Returns 0, or -EUCLEAN with a description of the first problem in msg. */
int bpfmm_alloc_check(bpfmm_alloc_t *a, char *msg, size_t msg_size);

/* --- Statistics -------------------------------------------------------------------------- */

enum bpfmm_alloc_fail {
    BPFMM_ALLOC_FAIL_NOMEM,     /* no free block of the order (after splitting) */
    BPFMM_ALLOC_FAIL_CHARGE,    /* charge limit reached */
    BPFMM_ALLOC_FAIL_PCP_BUSY,  /* try path: thread cache lock busy and zone lock busy */
    BPFMM_ALLOC_FAIL_ZONE_BUSY, /* try path: zone lock busy */
    BPFMM_ALLOC_FAIL_BAD_ORDER, /* order above max_order */
    BPFMM_ALLOC_FAIL_NR
};

enum bpfmm_alloc_bad_free {
    BPFMM_ALLOC_BAD_FREE_WRONG_ORDER, /* order differs from the block's recorded order */
    BPFMM_ALLOC_BAD_FREE_DOUBLE,      /* block already free */
    BPFMM_ALLOC_BAD_FREE_NOT_HEAD,    /* pfn is inside a block, or never allocated */
    BPFMM_ALLOC_BAD_FREE_RANGE,       /* pfn or order out of range */
    BPFMM_ALLOC_BAD_FREE_NR
};

struct bpfmm_alloc_stats {
    size_t sz; /* set by the caller: sizeof(struct bpfmm_alloc_stats) */
    uint64_t nr_frames;
    unsigned max_order;
    uint64_t free_blocks[BPFMM_ALLOC_NR_ORDERS]; /* like /proc/buddyinfo */
    uint64_t free_pages;                         /* in the buddy lists */
    uint64_t pcp_pages;       /* cached in thread caches (free, not yet returned) */
    uint64_t allocated_pages; /* handed out and not freed */
    uint64_t deferred_pages;  /* freed with free_pages_nolock, waiting for the lock */
    uint64_t charged_pages;
    uint64_t charge_limit_pages;
    uint64_t alloc_calls, try_alloc_calls, free_calls, free_nolock_calls;
    uint64_t deferred_frees; /* frees that had to be deferred */
    uint64_t fail[BPFMM_ALLOC_FAIL_NR];
    uint64_t bad_free[BPFMM_ALLOC_BAD_FREE_NR];
    /* Appended fields. */
    uint64_t deferred_drained; /* deferred frees merged by lock holders */
    /* try/nolock calls that found a lock held by their own thread: a signal handler that
     * interrupted its thread inside the zone lock / inside its thread cache. */
    uint64_t reentered_zone, reentered_pcp;
    uint64_t pcp_slots, pcp_slots_claimed;
    uint64_t owner_conflicts; /* debug builds: frames found owned twice (always 0 if sound) */
};

/* A consistent snapshot only when no operation runs concurrently; otherwise approximate. */
int bpfmm_alloc_get_stats(bpfmm_alloc_t *a, struct bpfmm_alloc_stats *st);
const char *bpfmm_alloc_fail_name(enum bpfmm_alloc_fail reason);
const char *bpfmm_alloc_bad_free_name(enum bpfmm_alloc_bad_free kind);

/* --- Small-object cache (slab), backed mode only ----------------------------------------- */

/* Objects of obj_size bytes (align: 0 or a power of two up to 4096). Slab pages are never
 * returned to the page allocator while the cache exists: memory is type-stable, so a pointer
 * into a freed object still points into an object of this cache (as SLAB_TYPESAFE_BY_RCU). */
bpfmm_slab_t *bpfmm_alloc_slab_create(bpfmm_alloc_t *a, const char *name, size_t obj_size,
                                      size_t align);
void bpfmm_alloc_slab_destroy(bpfmm_slab_t *s);
void *bpfmm_alloc_slab_alloc(bpfmm_slab_t *s, unsigned flags); /* blocking */
/* NULL with errno EAGAIN when every shard of the cache is busy (never waits), or the page
 * allocator's reason (ENOMEM, EDQUOT, EAGAIN) when the cache could not grow. */
void *bpfmm_alloc_slab_try_alloc(bpfmm_slab_t *s);            /* async-signal-safe */
int bpfmm_alloc_slab_free(bpfmm_slab_t *s, void *obj);        /* blocking */
int bpfmm_alloc_slab_free_nolock(bpfmm_slab_t *s, void *obj); /* async-signal-safe */
/* If [addr, addr + len) lies inside one object slot of this cache, returns true and (if base)
 * the slot's start. "Inside" means within the first obj_size bytes of the slot (the size given
 * to slab_create, not the padded slot), whether or not the object is currently allocated
 * (memory is type-stable). Async-signal-safe and O(1): the policy runtime calls it to
 * bounds-check variable-offset accesses to map values. */
bool bpfmm_alloc_slab_contains(const bpfmm_slab_t *s, const void *addr, size_t len, void **base);

struct bpfmm_slab_stats {
    size_t sz;
    size_t obj_size; /* slot size after alignment */
    uint64_t pages;  /* pages owned by the cache */
    uint64_t objs_total, objs_inuse;
    uint64_t alloc_fail, bad_free;
    /* Appended fields. */
    uint64_t objs_deferred;  /* freed with free_nolock while the cache was busy, not merged */
    uint64_t try_busy;       /* try_alloc calls that found the cache locked (-EAGAIN) */
    uint64_t deferred_frees; /* free_nolock calls that had to defer */
};
int bpfmm_alloc_slab_get_stats(const bpfmm_slab_t *s, struct bpfmm_slab_stats *st);

#ifdef __cplusplus
}
#endif
#endif
