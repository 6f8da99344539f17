/*
 * Internal structures of the page allocator, shared by its source files: the per-frame metadata
 * and its state word, the zone (buddy lists, zone lock, deferred-free list, charge counter), the
 * per-thread cache slots, and the functions each file exports to the others.
 * The public contract is include/bpfmm/alloc.h; this header owns no logic beyond small inline
 * helpers. Locking rules (see docs/alloc.md): slab lock -> pcp slot lock(s) in index order ->
 * zone lock; the try/nolock paths only ever trylock.
 */
#ifndef BPFMM_ALLOC_INTERNAL_H
#define BPFMM_ALLOC_INTERNAL_H

#include "bpfmm/alloc.h"
#include "alloc_lock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define likely(x)        __builtin_expect(!!(x), 1)
#define unlikely(x)      __builtin_expect(!!(x), 0)

#define NONE             ((uint32_t)UINT32_MAX) /* end of a frame list */
#define ALLOC_MAX_FRAMES ((uint64_t)UINT32_MAX) /* frame indices are 32-bit; NONE excluded */

/*
 * Frame state word. Only heads of blocks carry a kind other than TAIL; every frame inside a
 * block (free or allocated) is a TAIL, so an O(1) look at one word tells whether a pfn heads a
 * block and of which order. Transitions (docs/alloc.md has the diagram):
 *   FREE -(zone lock)-> ALLOC or PCP;  PCP -(slot lock)-> ALLOC;
 *   ALLOC -(CAS, no lock needed)-> FREEING -> PCP | FREE | DEFERRED;  DEFERRED -(zone lock)-> FREE.
 */
enum frame_kind {
    FK_TAIL = 0, /* inside a block (or never a head): zero-filled metadata is all tails */
    FK_FREE,     /* head of a free block on the buddy list of its order */
    FK_ALLOC,    /* head of an allocated block */
    FK_PCP,      /* head of a free block cached in a per-thread cache */
    FK_FREEING,  /* head of a block whose free won the CAS and is being placed */
    FK_DEFERRED, /* head of a freed block on the lock-free deferred list */
};
#define FS_ORDER_MASK 0x1fu
#define FS_KIND_SHIFT 5
#define FS_KIND_MASK  (7u << FS_KIND_SHIFT)
#define FS_CHARGED    (1u << 8) /* the block was charged; its free uncharges */
#define FS_TAIL       0u

static inline uint32_t fs_make(enum frame_kind k, unsigned order)
{
    return ((uint32_t)k << FS_KIND_SHIFT) | order;
}
static inline enum frame_kind fs_kind(uint32_t s)
{
    return (enum frame_kind)((s & FS_KIND_MASK) >> FS_KIND_SHIFT);
}
static inline unsigned fs_order(uint32_t s)
{
    return s & FS_ORDER_MASK;
}

/* Per-frame metadata: 16 bytes (24 with debug owner tags); never more than 32 (asserted). */
struct frame {
    _Atomic uint32_t state;
    uint32_t next; /* buddy list, pcp list or deferred list link (a frame is on one at most) */
    uint32_t prev; /* buddy list only (O(1) removal of a buddy when merging) */
    _Atomic uint32_t slab; /* head of a slab block: the owning slab cache's id, else 0 */
#ifdef BPFMM_DEBUG
    /* Allocated frames: head pfn + 1 of the block that owns them; 0 = the allocator's. */
    _Atomic uint32_t owner;
    uint32_t pad_;
#endif
};
_Static_assert(sizeof(struct frame) <= 32, "frame metadata must stay within 32 bytes");

struct free_area {
    uint32_t head;       /* first free block of this order (NONE if empty) */
    _Atomic uint64_t nr; /* blocks on the list; written under the zone lock */
};

/* Per-thread cache ("per-CPU pages"). The lock word holds the holder's thread token, so a
 * signal handler can tell it interrupted its own thread inside the cache. */
struct pcp_slot {
    _Atomic uintptr_t lock;   /* 0 or the holder's token (local trylock) */
    _Atomic uint32_t claimed; /* owned by a thread */
    _Atomic uint32_t count;   /* pages cached, all orders */
    uint32_t head[BPFMM_ALLOC_NR_ORDERS];
    _Atomic uint32_t nr[BPFMM_ALLOC_NR_ORDERS];
    /* Call counters, written under the slot lock only (no atomic RMW on the fast path). */
    _Atomic uint64_t alloc_calls, try_alloc_calls, free_calls, free_nolock_calls;
} __attribute__((aligned(64)));

struct zone_stats {
    _Atomic uint64_t alloc_calls, try_alloc_calls, free_calls, free_nolock_calls;
    _Atomic uint64_t fail[BPFMM_ALLOC_FAIL_NR];
    _Atomic uint64_t bad_free[BPFMM_ALLOC_BAD_FREE_NR];
    _Atomic uint64_t reentered_zone, reentered_pcp;
    _Atomic uint64_t deferred_frees, deferred_drained;
    _Atomic uint64_t owner_conflicts;
};

struct bpfmm_alloc {
    /* Read-mostly after creation. */
    uint64_t id; /* unique per process, never reused: thread caches key on it */
    uint32_t nr_frames;
    unsigned max_order;
    int pcp_max_order; /* -1: no thread caches */
    unsigned pcp_high, pcp_batch, nr_slots;
    bool backed;
    struct frame *frames;
    size_t frames_bytes;
    char *arena; /* backed mode: frame 0's memory, aligned to the largest block */
    size_t arena_bytes;
    void *arena_map; /* what to munmap */
    size_t arena_map_bytes;
    struct pcp_slot *slots;
    struct bpfmm_alloc *reg_next; /* registry of live allocators (pcp.c) */
    _Atomic uint32_t next_slab_id;
    _Atomic uint64_t slot_gen; /* bumped when a slot is released, so slotless threads retry */

    /* Charge counter: touched by every charged call, on its own line. */
    _Atomic uint64_t charged __attribute__((aligned(64)));
    _Atomic uint64_t charge_limit;

    /* Lock-free deferred-free list: pushed by anyone, taken whole by the zone lock holder. */
    _Atomic uint32_t deferred_head __attribute__((aligned(64)));
    _Atomic uint64_t deferred_pages; /* includes the backlog below */

    /* Zone lock and what it protects. */
    struct zlock lock __attribute__((aligned(64)));
    uint32_t backlog; /* deferred frees taken off the list but not merged yet (bounded drains) */
    _Atomic uint64_t free_pages;
    struct free_area area[BPFMM_ALLOC_NR_ORDERS];

    struct zone_stats st __attribute__((aligned(64)));
};

static inline uint32_t fstate(const struct frame *f)
{
    return atomic_load_explicit(&f->state, memory_order_acquire);
}
static inline void fset(struct frame *f, uint32_t s)
{
    atomic_store_explicit(&f->state, s, memory_order_release);
}
/* Counters written by one lock holder at a time and read racily by statistics. Only for counters
 * every writer of which holds that lock: a stat_inc() from outside it could be lost. */
static inline void stat_add_locked(_Atomic uint64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint64_t)d,
                          memory_order_relaxed);
}
static inline void stat_inc(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}
static inline uint64_t stat_get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* --- buddy.c: buddy lists, zone lock with deferred drain (zone lock held unless noted) ---- */
#define TRY_DRAIN_BUDGET 8u /* deferred blocks merged per try-path lock hold (latency bound) */
void buddy_init(struct bpfmm_alloc *a);
/* Takes a free block of exactly 2^order frames (splitting), gives its head state newstate. */
uint32_t buddy_take(struct bpfmm_alloc *a, unsigned order, uint32_t newstate);
/* Returns a block (its head is owned by the caller) to the lists, merging with free buddies. */
void buddy_free(struct bpfmm_alloc *a, uint32_t pfn, unsigned order);
void zone_lock(struct bpfmm_alloc *a);    /* blocking; drains the deferred list */
bool zone_trylock(struct bpfmm_alloc *a); /* never waits; drains a bounded part */
void zone_unlock(struct bpfmm_alloc *a, bool try_path);
/* No lock needed: pushes a block whose head the caller owns (state FREEING). */
void deferred_push(struct bpfmm_alloc *a, uint32_t pfn, unsigned order);

/* --- pcp.c: per-thread caches -------------------------------------------------------------- */
uintptr_t alloc_thread_token(void); /* nonzero, unique per live thread; async-signal-safe */
/* Signal-safe: this thread's slot for a, or NULL (never claims). */
struct pcp_slot *pcp_lookup(const struct bpfmm_alloc *a);
/* Blocking API only: this thread's slot, claiming one on first use (NULL if none is free). */
struct pcp_slot *pcp_get(struct bpfmm_alloc *a);
bool pcp_trylock(struct pcp_slot *s);
void pcp_lock(struct pcp_slot *s); /* spins/yields: only cross-thread drainers hold it long */
void pcp_unlock(struct pcp_slot *s);
/* Slot lock held. */
uint32_t pcp_pop(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned order);
void pcp_push(struct bpfmm_alloc *a, struct pcp_slot *s, uint32_t pfn, unsigned order);
/* Slot and zone locks held. */
void pcp_refill(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned order);
void pcp_flush(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned target_pages);
/* Blocking: returns every slot's pages (and deferred frees) to the buddy lists. */
void pcp_drain_all(struct bpfmm_alloc *a);
void pcp_lock_all(struct bpfmm_alloc *a);
void pcp_unlock_all(struct bpfmm_alloc *a);
int alloc_registry_add(struct bpfmm_alloc *a);
void alloc_registry_del(struct bpfmm_alloc *a);

/* --- page.c ------------------------------------------------------------------------------- */
/* Internal free used by the slab cache for its own blocks (skips the slab-ownership check). */
int page_free_internal(struct bpfmm_alloc *a, uint64_t pfn, unsigned order, bool nolock);
/* Debug builds: owner tags of a block's frames (no-ops otherwise). */
void owner_set(struct bpfmm_alloc *a, uint32_t pfn, unsigned order);
void owner_clear(struct bpfmm_alloc *a, uint32_t pfn, unsigned order);

/* --- report.c: error reporting ------------------------------------------------------------- */
/* Async-signal-safe message builder (write(2), no stdio, no malloc). */
struct msg {
    char buf[384];
    unsigned n;
};
void msg_str(struct msg *m, const char *s);
void msg_u64(struct msg *m, uint64_t v);
void msg_emit(struct msg *m); /* to stderr, with a newline */
/* Create-time errors: remembered for bpfmm_alloc_last_error() and printed in debug builds. */
__attribute__((format(printf, 1, 2))) void alloc_set_error(const char *fmt, ...);
/* Describes where pfn lies (head of which block / inside which block), async-signal-safe. */
void msg_where(struct msg *m, const struct bpfmm_alloc *a, uint32_t pfn);

#endif
