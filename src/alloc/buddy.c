/*
 * The buddy core: per-order free lists of naturally aligned blocks, splitting on allocation and
 * merging with free buddies on free, plus the zone lock wrappers that drain the lock-free
 * deferred-free list (free_pages_nolock's fallback) whenever the lock is taken or released.
 * Everything here except deferred_push() runs with the zone lock held. It owns the buddy lists
 * and the deferred list; not charging, validation of frees (page.c) or thread caches (pcp.c).
 */
#include "alloc_internal.h"

static void list_add(struct bpfmm_alloc *a, unsigned order, uint32_t pfn)
{
    struct frame *f = &a->frames[pfn];
    uint32_t h = a->area[order].head;
    f->prev = NONE;
    f->next = h;
    if (h != NONE)
        a->frames[h].prev = pfn;
    a->area[order].head = pfn;
    stat_add_locked(&a->area[order].nr, 1);
}

static void list_del(struct bpfmm_alloc *a, unsigned order, uint32_t pfn)
{
    struct frame *f = &a->frames[pfn];
    if (f->prev != NONE)
        a->frames[f->prev].next = f->next;
    else
        a->area[order].head = f->next;
    if (f->next != NONE)
        a->frames[f->next].prev = f->prev;
    stat_add_locked(&a->area[order].nr, -1);
}

/* Carves the zone into the largest naturally aligned blocks that fit (no lock: creation). */
void buddy_init(struct bpfmm_alloc *a)
{
    for (unsigned o = 0; o <= BPFMM_ALLOC_ORDER_MAX; o++) {
        a->area[o].head = NONE;
        atomic_init(&a->area[o].nr, 0);
    }
    a->backlog = NONE;
    uint64_t pfn = 0, n = a->nr_frames;
    while (pfn < n) {
        unsigned o = a->max_order;
        while (o > 0 && ((pfn & ((1ull << o) - 1)) || pfn + (1ull << o) > n))
            o--;
        fset(&a->frames[pfn], fs_make(FK_FREE, o));
        pfn += 1ull << o;
    }
    /* Second pass, high to low, so each list's head is its lowest block. */
    pfn = n;
    while (pfn > 0) {
        /* Find the block ending at pfn: its head is the nearest FREE head below. */
        uint64_t p = pfn - 1;
        unsigned o = 0;
        while (fs_kind(fstate(&a->frames[p])) != FK_FREE)
            p &= ~((1ull << (++o)) - 1);
        o = fs_order(fstate(&a->frames[p]));
        list_add(a, o, (uint32_t)p);
        atomic_store_explicit(&a->free_pages,
                              atomic_load_explicit(&a->free_pages, memory_order_relaxed) +
                                  (1ull << o),
                              memory_order_relaxed);
        pfn = p;
    }
}

uint32_t buddy_take(struct bpfmm_alloc *a, unsigned order, uint32_t newstate)
{
    unsigned k = order;
    while (k <= a->max_order && a->area[k].head == NONE)
        k++;
    if (k > a->max_order)
        return NONE;
    uint32_t pfn = a->area[k].head;
    list_del(a, k, pfn);
    /* Split: the upper halves go back on the lists, as the kernel's expand(). */
    while (k > order) {
        k--;
        uint32_t hi = pfn + (1u << k);
        fset(&a->frames[hi], fs_make(FK_FREE, k));
        list_add(a, k, hi);
    }
    fset(&a->frames[pfn], newstate);
    stat_add_locked(&a->free_pages, -(int64_t)(1u << order));
    return pfn;
}

void buddy_free(struct bpfmm_alloc *a, uint32_t pfn, unsigned order)
{
    uint64_t n = a->nr_frames;
    stat_add_locked(&a->free_pages, 1u << order);
    while (order < a->max_order) {
        uint32_t buddy = pfn ^ (1u << order);
        if ((uint64_t)buddy + (1u << order) > n)
            break;
        /* Only a FREE head of exactly this order merges: an allocated, cached, deferred or
         * being-freed buddy (or a split one) stays apart. */
        if (fstate(&a->frames[buddy]) != fs_make(FK_FREE, order))
            break;
        list_del(a, order, buddy);
        fset(&a->frames[pfn | (1u << order)], FS_TAIL);
        pfn &= ~(1u << order);
        order++;
    }
    fset(&a->frames[pfn], fs_make(FK_FREE, order));
    list_add(a, order, pfn);
}

void deferred_push(struct bpfmm_alloc *a, uint32_t pfn, unsigned order)
{
    struct frame *f = &a->frames[pfn];
    /* Count first, so the drain's subtraction never runs ahead of it. */
    atomic_fetch_add_explicit(&a->deferred_pages, 1ull << order, memory_order_relaxed);
    fset(f, fs_make(FK_DEFERRED, order));
    uint32_t old = atomic_load_explicit(&a->deferred_head, memory_order_relaxed);
    do {
        f->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&a->deferred_head, &old, pfn,
                                                    memory_order_acq_rel, memory_order_relaxed));
    stat_inc(&a->st.deferred_frees);
}

/* Merges up to budget deferred blocks. The whole list is taken with one exchange (no ABA:
 * nothing is ever popped singly from the shared list); what the budget leaves is kept in the
 * lock-protected backlog for the next holder. */
static void deferred_drain(struct bpfmm_alloc *a, unsigned budget)
{
    unsigned done = 0;
    while (done < budget) {
        if (a->backlog == NONE) {
            if (atomic_load_explicit(&a->deferred_head, memory_order_relaxed) == NONE)
                return;
            a->backlog = atomic_exchange_explicit(&a->deferred_head, NONE, memory_order_acq_rel);
        }
        while (a->backlog != NONE && done < budget) {
            uint32_t pfn = a->backlog;
            struct frame *f = &a->frames[pfn];
            a->backlog = f->next;
            unsigned order = fs_order(fstate(f));
            buddy_free(a, pfn, order);
            atomic_fetch_sub_explicit(&a->deferred_pages, 1ull << order, memory_order_relaxed);
            stat_add_locked(&a->st.deferred_drained, 1);
            done++;
        }
    }
}

void zone_lock(struct bpfmm_alloc *a)
{
    zlock_lock(&a->lock, alloc_thread_token());
    deferred_drain(a, UINT32_MAX);
}

bool zone_trylock(struct bpfmm_alloc *a)
{
    if (!zlock_trylock(&a->lock, alloc_thread_token()))
        return false;
    deferred_drain(a, TRY_DRAIN_BUDGET);
    return true;
}

void zone_unlock(struct bpfmm_alloc *a, bool try_path)
{
    /* Frees deferred while we held the lock would otherwise wait for the next holder. */
    if (a->backlog != NONE || atomic_load_explicit(&a->deferred_head, memory_order_relaxed) != NONE)
        deferred_drain(a, try_path ? TRY_DRAIN_BUDGET : UINT32_MAX);
    zlock_unlock(&a->lock);
}
