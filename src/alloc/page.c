/*
 * The page API: bpfmm_alloc_pages / free_pages (blocking) and try_alloc_pages /
 * free_pages_nolock (never wait; async-signal-safe), with the charge counter and the race-free
 * validation of frees (one CAS on the head's state word moves "allocated, order k" to "being
 * freed", so double, tail, never-allocated and wrong-order frees are refused even without a
 * lock). It decides which path (thread cache, zone, deferred list) serves a call; the paths
 * themselves live in pcp.c and buddy.c.
 */
#include "alloc_internal.h"

#include <errno.h>
#include <string.h>

/* --- charge counter (memory-cgroup analogue) ------------------------------------------------ */

static bool charge_try(struct bpfmm_alloc *a, uint64_t n)
{
    uint64_t lim = atomic_load_explicit(&a->charge_limit, memory_order_relaxed);
    if (!lim) {
        atomic_fetch_add_explicit(&a->charged, n, memory_order_relaxed);
        return true;
    }
    uint64_t cur = atomic_load_explicit(&a->charged, memory_order_relaxed);
    do {
        if (cur + n > lim)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&a->charged, &cur, cur + n,
                                                    memory_order_relaxed, memory_order_relaxed));
    return true;
}

static void uncharge(struct bpfmm_alloc *a, uint64_t n)
{
    atomic_fetch_sub_explicit(&a->charged, n, memory_order_relaxed);
}

int bpfmm_alloc_set_charge_limit(bpfmm_alloc_t *a, uint64_t pages)
{
    if (!a)
        return -EINVAL;
    atomic_store_explicit(&a->charge_limit, pages, memory_order_relaxed);
    return 0;
}

/* --- debug owner tags ------------------------------------------------------------------------ */

void owner_set(struct bpfmm_alloc *a, uint32_t pfn, unsigned order)
{
#ifdef BPFMM_DEBUG
    for (uint32_t i = 0; i < (1u << order); i++) {
        uint32_t old =
            atomic_exchange_explicit(&a->frames[pfn + i].owner, pfn + 1, memory_order_relaxed);
        if (old) {
            stat_inc(&a->st.owner_conflicts);
            struct msg m = {.n = 0};
            msg_str(&m, "bpfmm alloc: BUG: frame ");
            msg_u64(&m, pfn + i);
            msg_str(&m, " handed out in the block at pfn ");
            msg_u64(&m, pfn);
            msg_str(&m, " while still owned by the block at pfn ");
            msg_u64(&m, old - 1);
            msg_emit(&m);
        }
    }
#else
    (void)a, (void)pfn, (void)order;
#endif
}

void owner_clear(struct bpfmm_alloc *a, uint32_t pfn, unsigned order)
{
#ifdef BPFMM_DEBUG
    for (uint32_t i = 0; i < (1u << order); i++) {
        /* Release: a concurrent check() that sees the cleared tag also sees the head's
         * state moved away from ALLOC. */
        uint32_t old = atomic_exchange_explicit(&a->frames[pfn + i].owner, 0, memory_order_release);
        if (old != pfn + 1) {
            stat_inc(&a->st.owner_conflicts);
            struct msg m = {.n = 0};
            msg_str(&m, "bpfmm alloc: BUG: frame ");
            msg_u64(&m, pfn + i);
            msg_str(&m, " freed with the block at pfn ");
            msg_u64(&m, pfn);
            msg_str(&m, old ? " but owned by the block at pfn " : " but owned by nobody");
            if (old)
                msg_u64(&m, old - 1);
            msg_emit(&m);
        }
    }
#else
    (void)a, (void)pfn, (void)order;
#endif
}

/* --- failures ----------------------------------------------------------------------------- */

static int64_t alloc_fail(struct bpfmm_alloc *a, enum bpfmm_alloc_fail why, const char *fn,
                          unsigned order)
{
    stat_inc(&a->st.fail[why]);
#ifdef BPFMM_DEBUG
    if (why == BPFMM_ALLOC_FAIL_BAD_ORDER) {
        struct msg m = {.n = 0};
        msg_str(&m, "bpfmm alloc: ");
        msg_str(&m, fn);
        msg_str(&m, ": order ");
        msg_u64(&m, order);
        msg_str(&m, " is above this zone's max_order ");
        msg_u64(&m, a->max_order);
        msg_str(&m, "; create the allocator with a larger max_order (up to 18)");
        msg_emit(&m);
    }
#else
    (void)fn, (void)order;
#endif
    switch (why) {
    case BPFMM_ALLOC_FAIL_NOMEM:
        return -ENOMEM;
    case BPFMM_ALLOC_FAIL_CHARGE:
        return -EDQUOT;
    case BPFMM_ALLOC_FAIL_BAD_ORDER:
        return -EINVAL;
    default:
        return -EAGAIN;
    }
}

#ifdef BPFMM_DEBUG
/* "bpfmm alloc: free_pages(pfn 700, order 0) refused" */
static void msg_refused(struct msg *m, const char *fn, uint64_t pfn, unsigned order)
{
    msg_str(m, "bpfmm alloc: ");
    msg_str(m, fn);
    msg_str(m, "(pfn ");
    msg_u64(m, pfn);
    msg_str(m, ", order ");
    msg_u64(m, order);
    msg_str(m, ") refused");
}
#endif

static int bad_free(struct bpfmm_alloc *a, enum bpfmm_alloc_bad_free kind, const char *fn,
                    uint64_t pfn, unsigned order, uint32_t state)
{
    stat_inc(&a->st.bad_free[kind]);
#ifdef BPFMM_DEBUG
    struct msg m = {.n = 0};
    msg_refused(&m, fn, pfn, order);
    msg_str(&m, ", block left as it was: ");
    switch (kind) {
    case BPFMM_ALLOC_BAD_FREE_RANGE:
        msg_str(&m, "out of range (zone has ");
        msg_u64(&m, a->nr_frames);
        msg_str(&m, " frames, max_order ");
        msg_u64(&m, a->max_order);
        msg_str(&m, ")");
        break;
    case BPFMM_ALLOC_BAD_FREE_WRONG_ORDER:
        msg_str(&m, "wrong order, the block was allocated with order ");
        msg_u64(&m, fs_order(state));
        msg_str(&m, "; free it with that order");
        break;
    case BPFMM_ALLOC_BAD_FREE_DOUBLE:
        msg_str(&m, "double free, the block is already free (");
        msg_where(&m, a, (uint32_t)pfn);
        msg_str(&m, ")");
        break;
    case BPFMM_ALLOC_BAD_FREE_NOT_HEAD:
        msg_str(&m, "not the head of an allocated block (");
        msg_where(&m, a, (uint32_t)pfn);
        msg_str(&m, "); free the pfn the allocation returned");
        break;
    default:
        break;
    }
    msg_emit(&m);
#else
    (void)fn, (void)pfn, (void)order, (void)state;
#endif
    return -EINVAL;
}

/* --- allocation ----------------------------------------------------------------------------- */

static void zero_block(struct bpfmm_alloc *a, uint32_t pfn, unsigned order)
{
    if (a->backed)
        memset(a->arena + ((size_t)pfn << BPFMM_PAGE_SHIFT), 0, BPFMM_PAGE_SIZE << order);
}

int64_t bpfmm_alloc_pages(bpfmm_alloc_t *a, unsigned order, unsigned flags)
{
    if (unlikely(!a))
        return -EINVAL;
    if (unlikely(order > a->max_order))
        return alloc_fail(a, BPFMM_ALLOC_FAIL_BAD_ORDER, "alloc_pages", order);
    if (unlikely(flags & ~(BPFMM_GFP_ZERO | BPFMM_GFP_NOCHARGE)))
        return -EINVAL;
    bool charge = !(flags & BPFMM_GFP_NOCHARGE);
    if (charge && unlikely(!charge_try(a, 1ull << order)))
        return alloc_fail(a, BPFMM_ALLOC_FAIL_CHARGE, "alloc_pages", order);
    uint32_t st = fs_make(FK_ALLOC, order) | (charge ? FS_CHARGED : 0);
    struct pcp_slot *s = (int)order <= a->pcp_max_order ? pcp_get(a) : NULL;
    uint32_t pfn = NONE;

    for (int attempt = 0; attempt < 2 && pfn == NONE; attempt++) {
        if (attempt)
            pcp_drain_all(a); /* as the kernel's slowpath drains pcp lists before failing */
        if (s) {
            pcp_lock(s);
            if (!attempt)
                stat_add_locked(&s->alloc_calls, 1);
            pfn = pcp_pop(a, s, order);
            if (pfn == NONE) {
                zone_lock(a);
                pcp_refill(a, s, order);
                zone_unlock(a, false);
                pfn = pcp_pop(a, s, order);
            }
            if (pfn != NONE) {
                fset(&a->frames[pfn], st);
                owner_set(a, pfn, order);
            }
            pcp_unlock(s);
        } else {
            zone_lock(a);
            if (!attempt)
                stat_add_locked(&a->st.alloc_calls, 1);
            pfn = buddy_take(a, order, st);
            if (pfn != NONE)
                owner_set(a, pfn, order);
            zone_unlock(a, false);
        }
    }
    if (pfn == NONE) {
        if (charge)
            uncharge(a, 1ull << order);
        return alloc_fail(a, BPFMM_ALLOC_FAIL_NOMEM, "alloc_pages", order);
    }
    if (flags & BPFMM_GFP_ZERO)
        zero_block(a, pfn, order);
    return pfn;
}

int64_t bpfmm_alloc_try_alloc_pages(bpfmm_alloc_t *a, unsigned order)
{
    if (unlikely(!a))
        return -EINVAL;
    if (unlikely(order > a->max_order))
        return alloc_fail(a, BPFMM_ALLOC_FAIL_BAD_ORDER, "try_alloc_pages", order);
    if (unlikely(!charge_try(a, 1ull << order)))
        return alloc_fail(a, BPFMM_ALLOC_FAIL_CHARGE, "try_alloc_pages", order);
    uint32_t st = fs_make(FK_ALLOC, order) | FS_CHARGED;
    uintptr_t me = alloc_thread_token();
    enum bpfmm_alloc_fail why = BPFMM_ALLOC_FAIL_NOMEM;
    bool pcp_busy = false;
    uint32_t pfn = NONE;

    struct pcp_slot *s = (int)order <= a->pcp_max_order ? pcp_lookup(a) : NULL;
    if (s) {
        if (pcp_trylock(s)) {
            stat_add_locked(&s->try_alloc_calls, 1);
            pfn = pcp_pop(a, s, order);
            if (pfn == NONE) {
                if (zone_trylock(a)) {
                    pcp_refill(a, s, order);
                    zone_unlock(a, true);
                    pfn = pcp_pop(a, s, order);
                } else {
                    why = BPFMM_ALLOC_FAIL_ZONE_BUSY;
                    if (zlock_held_by(&a->lock, me))
                        stat_inc(&a->st.reentered_zone);
                }
            }
            if (pfn != NONE) {
                fset(&a->frames[pfn], st);
                owner_set(a, pfn, order);
            }
            pcp_unlock(s);
            if (pfn != NONE)
                return pfn;
            goto fail;
        }
        /* Busy: we interrupted our own thread inside its cache (or a drainer holds it).
         * Fall back to the zone, as try_alloc_pages() falls back from pcp to the zone. */
        pcp_busy = true;
        if (atomic_load_explicit(&s->lock, memory_order_relaxed) == me)
            stat_inc(&a->st.reentered_pcp);
    }
    if (!zone_trylock(a)) {
        why = pcp_busy ? BPFMM_ALLOC_FAIL_PCP_BUSY : BPFMM_ALLOC_FAIL_ZONE_BUSY;
        if (zlock_held_by(&a->lock, me))
            stat_inc(&a->st.reentered_zone);
        stat_inc(&a->st.try_alloc_calls);
        goto fail;
    }
    /* An atomic add even under the lock: callers that fail the trylock count here too. */
    stat_inc(&a->st.try_alloc_calls);
    pfn = buddy_take(a, order, st);
    if (pfn != NONE)
        owner_set(a, pfn, order);
    zone_unlock(a, true);
    if (pfn != NONE)
        return pfn;
fail:
    uncharge(a, 1ull << order);
    return alloc_fail(a, why, "try_alloc_pages", order);
}

/* --- free ------------------------------------------------------------------------------------ */

/* Moves the head from ALLOC(order) to FREEING with one CAS, or refuses. On success *charged
 * tells whether the block was charged. */
static int claim_for_free(struct bpfmm_alloc *a, uint64_t pfn, unsigned order, bool check_slab,
                          const char *fn, bool *charged)
{
    if (unlikely(pfn >= a->nr_frames || order > a->max_order ||
                 pfn + (1ull << order) > a->nr_frames))
        return bad_free(a, BPFMM_ALLOC_BAD_FREE_RANGE, fn, pfn, order, 0);
    struct frame *f = &a->frames[pfn];
    uint32_t s = fstate(f);
    if (check_slab && unlikely(atomic_load_explicit(&f->slab, memory_order_relaxed) != 0)) {
#ifdef BPFMM_DEBUG
        struct msg m = {.n = 0};
        msg_refused(&m, fn, pfn, order);
        msg_str(&m, ": the block belongs to a slab cache; free its objects instead");
        msg_emit(&m);
#endif
        stat_inc(&a->st.bad_free[BPFMM_ALLOC_BAD_FREE_NOT_HEAD]);
        return -EINVAL;
    }
    for (;;) {
        enum frame_kind k = fs_kind(s);
        if (unlikely(k != FK_ALLOC)) {
            return bad_free(
                a, k == FK_TAIL ? BPFMM_ALLOC_BAD_FREE_NOT_HEAD : BPFMM_ALLOC_BAD_FREE_DOUBLE, fn,
                pfn, order, s);
        }
        if (unlikely(fs_order(s) != order))
            return bad_free(a, BPFMM_ALLOC_BAD_FREE_WRONG_ORDER, fn, pfn, order, s);
        uint32_t freeing = fs_make(FK_FREEING, order) | (s & FS_CHARGED);
        if (atomic_compare_exchange_weak_explicit(&f->state, &s, freeing, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    *charged = s & FS_CHARGED;
    return 0;
}

static int page_free(struct bpfmm_alloc *a, uint64_t pfn64, unsigned order, bool nolock,
                     bool check_slab)
{
    const char *fn = nolock ? "free_pages_nolock" : "free_pages";
    bool charged;
    int err = claim_for_free(a, pfn64, order, check_slab, fn, &charged);
    if (err)
        return err;
    uint32_t pfn = (uint32_t)pfn64, n = 1u << order;
    if (charged)
        uncharge(a, n);
    owner_clear(a, pfn, order);

    if (!nolock) {
        struct pcp_slot *s = (int)order <= a->pcp_max_order ? pcp_get(a) : NULL;
        if (s) {
            pcp_lock(s);
            stat_add_locked(&s->free_calls, 1);
            pcp_push(a, s, pfn, order);
            if (atomic_load_explicit(&s->count, memory_order_relaxed) > a->pcp_high) {
                zone_lock(a);
                pcp_flush(a, s, a->pcp_high / 2);
                zone_unlock(a, false);
            }
            pcp_unlock(s);
        } else {
            zone_lock(a);
            stat_add_locked(&a->st.free_calls, 1);
            buddy_free(a, pfn, order);
            zone_unlock(a, false);
        }
        return 0;
    }

    uintptr_t me = alloc_thread_token();
    struct pcp_slot *s = (int)order <= a->pcp_max_order ? pcp_lookup(a) : NULL;
    if (s) {
        if (pcp_trylock(s)) {
            stat_add_locked(&s->free_nolock_calls, 1);
            unsigned count = atomic_load_explicit(&s->count, memory_order_relaxed);
            if (count + n > a->pcp_high) {
                if (zone_trylock(a)) {
                    pcp_push(a, s, pfn, order);
                    pcp_flush(a, s, a->pcp_high / 2);
                    zone_unlock(a, true);
                    pcp_unlock(s);
                    return 0;
                }
                if (zlock_held_by(&a->lock, me))
                    stat_inc(&a->st.reentered_zone);
                if (count + n > 2 * a->pcp_high) {
                    /* The zone stays busy: don't let the cache grow without bound. */
                    pcp_unlock(s);
                    deferred_push(a, pfn, order);
                    return 0;
                }
            }
            pcp_push(a, s, pfn, order);
            pcp_unlock(s);
            return 0;
        }
        if (atomic_load_explicit(&s->lock, memory_order_relaxed) == me)
            stat_inc(&a->st.reentered_pcp);
    }
    if (zone_trylock(a)) {
        stat_inc(&a->st.free_nolock_calls); /* also counted by deferring callers, unlocked */
        buddy_free(a, pfn, order);
        zone_unlock(a, true);
        return 0;
    }
    if (zlock_held_by(&a->lock, me))
        stat_inc(&a->st.reentered_zone);
    stat_inc(&a->st.free_nolock_calls);
    deferred_push(a, pfn, order);
    return 0;
}

int bpfmm_alloc_free_pages(bpfmm_alloc_t *a, uint64_t pfn, unsigned order)
{
    if (unlikely(!a))
        return -EINVAL;
    return page_free(a, pfn, order, false, true);
}

int bpfmm_alloc_free_pages_nolock(bpfmm_alloc_t *a, uint64_t pfn, unsigned order)
{
    if (unlikely(!a))
        return -EINVAL;
    return page_free(a, pfn, order, true, true);
}

int page_free_internal(struct bpfmm_alloc *a, uint64_t pfn, unsigned order, bool nolock)
{
    return page_free(a, pfn, order, nolock, false);
}
