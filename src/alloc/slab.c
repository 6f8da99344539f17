/*
 * Small-object cache (slab) on top of the page allocator, for the policy runtime's map
 * entries. Each slab block is a naturally aligned block of 2^order pages whose first bytes
 * hold a header and per-object metadata (state byte, free-list link); objects follow. No
 * allocator metadata lives inside an object, so a stale writer through a pointer to a freed
 * object can damage only object data, never the free lists (memory is type-stable: blocks stay
 * with the cache until it is destroyed).
 * Concurrency mirrors the page API. A cache is split into shards, each with its own lock word,
 * partial list and deferred lists; a block belongs to one shard. A thread allocates from its
 * home shard (by thread token) and, on the try path, trylocks the other shards in turn when
 * that one is busy or empty, so try_alloc fails only when every shard is busy (or memory is
 * short), not whenever another thread is in the cache. Frees go to the block's shard. A
 * per-object state byte moved by CAS validates frees without a lock; free_nolock that cannot
 * get the shard lock defers (per block, plus a lock-free list of such blocks per shard).
 * It owns slab blocks and objects; pages come from page.c.
 */
#include "alloc_internal.h"
#include "alloc_testing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_MAGIC       0x51ab51abu
#define NONE16           0xffffu
#define MAX_OBJS         65534u
#define TRY_DRAIN_BLOCKS 4u /* blocks of deferred frees merged per try-path lock hold */
#define NSHARD           8u

enum obj_state { OS_FREE = 0, OS_INUSE, OS_FREEING, OS_DEFERRED };

struct slab_hdr {
    uint32_t magic;
    uint32_t slab_id;
    uint32_t pfn;
    uint32_t next_all;           /* every block of the cache (cache lock) */
    uint32_t next_partial;       /* blocks with free objects (cache lock) */
    uint32_t next_defer;         /* lock-free list of blocks with deferred frees */
    _Atomic uint32_t defer_head; /* first deferred object + 1; 0 = none */
    uint32_t nr_free;
    uint32_t free_head;
    uint32_t on_partial;
    uint32_t shard;
    /* then: _Atomic uint8_t state[nobj]; uint16_t next[nobj]; objects at obj_off */
};

struct bpfmm_slab {
    struct bpfmm_alloc *a;
    char name[32];
    uint32_t id;
    unsigned order;
    uint32_t nobj;
    size_t obj_size, slot_size, next_off, obj_off;
    _Atomic uint64_t objs_deferred, alloc_fail, bad_free, try_busy, deferred_frees;
    struct shard {
        struct zlock lock;
        uint32_t idx;
        uint32_t partial, all; /* shard lock */
        uint32_t backlog;      /* deferred blocks taken off the list, not merged yet (shard lock) */
        _Atomic uint32_t defer_blocks;
        _Atomic uint64_t pages, objs_total, objs_free; /* written under the shard lock */
    } __attribute__((aligned(64))) sh[NSHARD];
};

static inline struct slab_hdr *blk(const struct bpfmm_slab *s, uint32_t pfn)
{
    return (struct slab_hdr *)(s->a->arena + ((size_t)pfn << BPFMM_PAGE_SHIFT));
}
static inline _Atomic uint8_t *ostate(struct slab_hdr *h)
{
    return (_Atomic uint8_t *)(h + 1);
}
static inline uint16_t *onext(const struct bpfmm_slab *s, struct slab_hdr *h)
{
    return (uint16_t *)((char *)h + s->next_off);
}
static inline char *obj_at(const struct bpfmm_slab *s, struct slab_hdr *h, uint32_t idx)
{
    return (char *)h + s->obj_off + (size_t)idx * s->slot_size;
}

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* Objects that fit in a block of blk bytes, and the layout offsets. */
static uint32_t layout(size_t blk_bytes, size_t slot, size_t align, size_t *next_off,
                       size_t *obj_off)
{
    if (blk_bytes <= sizeof(struct slab_hdr))
        return 0;
    size_t n = (blk_bytes - sizeof(struct slab_hdr)) / (slot + 3);
    if (n > MAX_OBJS)
        n = MAX_OBJS;
    for (; n > 0; n--) {
        size_t no = round_up(sizeof(struct slab_hdr) + n, 2);
        size_t oo = round_up(no + 2 * n, align);
        if (oo + n * slot <= blk_bytes) {
            *next_off = no;
            *obj_off = oo;
            return (uint32_t)n;
        }
    }
    return 0;
}

bpfmm_slab_t *bpfmm_alloc_slab_create(bpfmm_alloc_t *a, const char *name, size_t obj_size,
                                      size_t align)
{
    const char *nm = name ? name : "(unnamed)";
    if (!a) {
        alloc_set_error("slab_create(%s): allocator is NULL", nm);
        errno = EINVAL;
        return NULL;
    }
    if (!a->backed) {
        alloc_set_error("slab_create(%s): the allocator is unbacked (metadata only); slab "
                        "caches need a backed allocator (opts.backed = true)",
                        nm);
        errno = EINVAL;
        return NULL;
    }
    if (obj_size == 0) {
        alloc_set_error("slab_create(%s): obj_size is 0; objects need at least one byte", nm);
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1) || align > BPFMM_PAGE_SIZE) {
        alloc_set_error("slab_create(%s): align %zu is not 0 or a power of two up to 4096", nm,
                        align);
        errno = EINVAL;
        return NULL;
    }
    size_t al = align > 8 ? align : 8;
    if (obj_size > (BPFMM_PAGE_SIZE << a->max_order)) {
        alloc_set_error("slab_create(%s): obj_size %zu is larger than the largest block "
                        "(%lu bytes); use pages directly",
                        nm, obj_size, BPFMM_PAGE_SIZE << a->max_order);
        errno = E2BIG;
        return NULL;
    }
    size_t slot = round_up(obj_size, al), next_off = 0, obj_off = 0;
    int order = -1, fallback = -1;
    uint32_t nobj = 0;
    for (unsigned o = 0; o <= a->max_order; o++) {
        size_t no, oo;
        uint32_t n = layout(BPFMM_PAGE_SIZE << o, slot, al, &no, &oo);
        if (n >= 1 && fallback < 0)
            fallback = (int)o;
        if (n >= 8) {
            order = (int)o;
            break;
        }
    }
    if (order < 0)
        order = fallback;
    if (order < 0) {
        alloc_set_error("slab_create(%s): obj_size %zu (slot %zu) does not fit a block of this "
                        "allocator (max_order %u) next to its header",
                        nm, obj_size, slot, a->max_order);
        errno = E2BIG;
        return NULL;
    }
    nobj = layout(BPFMM_PAGE_SIZE << order, slot, al, &next_off, &obj_off);

    struct bpfmm_slab *s = aligned_alloc(64, round_up(sizeof(*s), 64));
    if (!s) {
        alloc_set_error("slab_create(%s): out of memory", nm);
        errno = ENOMEM;
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->a = a;
    snprintf(s->name, sizeof(s->name), "%s", nm);
    s->id = atomic_fetch_add_explicit(&a->next_slab_id, 1, memory_order_relaxed);
    s->order = (unsigned)order;
    s->nobj = nobj;
    s->obj_size = obj_size;
    s->slot_size = slot;
    s->next_off = next_off;
    s->obj_off = obj_off;
    for (unsigned i = 0; i < NSHARD; i++) {
        s->sh[i].idx = i;
        s->sh[i].partial = s->sh[i].all = s->sh[i].backlog = NONE;
        atomic_init(&s->sh[i].defer_blocks, NONE);
    }
    return s;
}

/* The block's shard lock held. */
static void put_locked(struct bpfmm_slab *s, struct shard *sh, struct slab_hdr *h, uint32_t idx)
{
    onext(s, h)[idx] = (uint16_t)(h->free_head == NONE ? NONE16 : h->free_head);
    h->free_head = idx;
    h->nr_free++;
    atomic_store_explicit(&ostate(h)[idx], OS_FREE, memory_order_release);
    stat_add_locked(&sh->objs_free, 1);
    if (!h->on_partial) {
        h->on_partial = 1;
        h->next_partial = sh->partial;
        sh->partial = h->pfn;
    }
}

static void drain_deferred(struct bpfmm_slab *s, struct shard *sh, unsigned budget)
{
    unsigned done = 0;
    while (done < budget) {
        if (sh->backlog == NONE) {
            if (atomic_load_explicit(&sh->defer_blocks, memory_order_relaxed) == NONE)
                return;
            sh->backlog = atomic_exchange_explicit(&sh->defer_blocks, NONE, memory_order_acq_rel);
        }
        while (sh->backlog != NONE && done < budget) {
            struct slab_hdr *h = blk(s, sh->backlog);
            /* Read the link before emptying the block's list: a later push re-lists it. */
            sh->backlog = h->next_defer;
            uint32_t o = atomic_exchange_explicit(&h->defer_head, 0, memory_order_acq_rel);
            uint64_t n = 0;
            while (o) {
                uint32_t idx = o - 1;
                uint16_t nx = onext(s, h)[idx];
                put_locked(s, sh, h, idx);
                n++;
                o = nx == NONE16 ? 0 : (uint32_t)nx + 1;
            }
            atomic_fetch_sub_explicit(&s->objs_deferred, n, memory_order_relaxed);
            done++;
        }
    }
}

static bool shard_lock(struct bpfmm_slab *s, struct shard *sh, bool try_path)
{
    uintptr_t me = alloc_thread_token();
    if (try_path) {
        if (!zlock_trylock(&sh->lock, me))
            return false;
    } else {
        zlock_lock(&sh->lock, me);
    }
    drain_deferred(s, sh, try_path ? TRY_DRAIN_BLOCKS : UINT32_MAX);
    return true;
}

static void shard_unlock(struct shard *sh)
{
    zlock_unlock(&sh->lock);
}

/* The calling thread's home shard: spreads threads over the shards by their token. */
static unsigned home_shard(void)
{
    uint64_t t = (uint64_t)alloc_thread_token() >> 4;
    return (unsigned)((t * 0x9e3779b97f4a7c15ull) >> 61) % NSHARD;
}

/* Shard lock held: a new block from the page allocator, for this shard. */
static int new_block(struct bpfmm_slab *s, struct shard *sh, bool try_path, unsigned flags)
{
    struct bpfmm_alloc *a = s->a;
    int64_t pfn = try_path ? bpfmm_alloc_try_alloc_pages(a, s->order)
                           : bpfmm_alloc_pages(a, s->order, flags & BPFMM_GFP_NOCHARGE);
    if (pfn < 0)
        return (int)pfn;
    struct slab_hdr *h = blk(s, (uint32_t)pfn);
    memset(h, 0, sizeof(*h));
    h->magic = SLAB_MAGIC;
    h->slab_id = s->id;
    h->pfn = (uint32_t)pfn;
    h->shard = sh->idx;
    h->free_head = 0;
    h->nr_free = s->nobj;
    atomic_init(&h->defer_head, 0);
    uint16_t *nx = onext(s, h);
    for (uint32_t i = 0; i < s->nobj; i++) {
        atomic_init(&ostate(h)[i], OS_FREE);
        nx[i] = (uint16_t)(i + 1 < s->nobj ? i + 1 : NONE16);
    }
    h->next_all = sh->all;
    sh->all = h->pfn;
    h->on_partial = 1;
    h->next_partial = sh->partial;
    sh->partial = h->pfn;
    stat_add_locked(&sh->pages, 1u << s->order);
    stat_add_locked(&sh->objs_total, s->nobj);
    stat_add_locked(&sh->objs_free, s->nobj);
    /* Publish last: contains() and frees trust a tagged head. */
    atomic_store_explicit(&a->frames[pfn].slab, s->id, memory_order_release);
    return 0;
}

/* Shard lock held. */
static void *take_locked(struct bpfmm_slab *s, struct shard *sh)
{
    if (sh->partial == NONE)
        return NULL;
    struct slab_hdr *h = blk(s, sh->partial);
    uint32_t idx = h->free_head;
    uint16_t nx = onext(s, h)[idx];
    h->free_head = nx == NONE16 ? NONE : nx;
    if (--h->nr_free == 0) {
        sh->partial = h->next_partial;
        h->on_partial = 0;
    }
    atomic_store_explicit(&ostate(h)[idx], OS_INUSE, memory_order_release);
    stat_add_locked(&sh->objs_free, -1);
    return obj_at(s, h, idx);
}

void *bpfmm_alloc_slab_alloc(bpfmm_slab_t *s, unsigned flags)
{
    if (!s || flags & ~(BPFMM_GFP_ZERO | BPFMM_GFP_NOCHARGE)) {
        errno = EINVAL;
        return NULL;
    }
    struct shard *home = &s->sh[home_shard()];
    shard_lock(s, home, false);
    int err = 0;
    void *obj = take_locked(s, home);
    /* Free objects in another shard are used before the cache grows (trylock only: holding
     * one shard lock, never wait for another). */
    for (unsigned i = 1; !obj && i < NSHARD; i++) {
        struct shard *o = &s->sh[(home->idx + i) % NSHARD];
        if (shard_lock(s, o, true)) {
            obj = take_locked(s, o);
            shard_unlock(o);
        }
    }
    if (!obj) {
        err = new_block(s, home, false, flags);
        if (!err)
            obj = take_locked(s, home);
    }
    shard_unlock(home);
    if (!obj) {
        stat_inc(&s->alloc_fail);
        errno = err ? -err : ENOMEM;
        return NULL;
    }
    if (flags & BPFMM_GFP_ZERO)
        memset(obj, 0, s->obj_size);
    return obj;
}

void *bpfmm_alloc_slab_try_alloc(bpfmm_slab_t *s)
{
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    /* Pass 0: a free object in any shard we can trylock, home first. Pass 1: grow the first
     * shard we can trylock. At most 2 * NSHARD compare-and-swaps; never waits. */
    unsigned home = home_shard();
    bool grew = false;
    int err = 0;
    for (unsigned pass = 0; pass < 2 && !grew; pass++) {
        for (unsigned i = 0; i < NSHARD; i++) {
            struct shard *sh = &s->sh[(home + i) % NSHARD];
            if (!shard_lock(s, sh, true))
                continue;
            void *obj = take_locked(s, sh);
            if (!obj && pass == 1) {
                grew = true;
                err = new_block(s, sh, true, 0);
                if (!err)
                    obj = take_locked(s, sh);
            }
            shard_unlock(sh);
            if (obj)
                return obj;
            if (grew)
                break;
        }
    }
    stat_inc(&s->alloc_fail);
    if (grew) {
        errno = -err; /* the page allocator's reason: ENOMEM, EDQUOT or EAGAIN */
    } else {
        stat_inc(&s->try_busy); /* every shard was busy at some point */
        errno = EAGAIN;
    }
    return NULL;
}

/* The block and slot addr falls in, if it is in one of this cache's blocks. */
static struct slab_hdr *locate(const struct bpfmm_slab *s, uintptr_t p, uintptr_t *slot,
                               uint32_t *idx)
{
    const struct bpfmm_alloc *a = s->a;
    uintptr_t base = (uintptr_t)a->arena;
    if (p < base || p - base >= a->arena_bytes)
        return NULL;
    uint32_t pfn = (uint32_t)((p - base) >> BPFMM_PAGE_SHIFT);
    uint32_t head = pfn & ~((1u << s->order) - 1);
    if (atomic_load_explicit(&a->frames[head].slab, memory_order_acquire) != s->id)
        return NULL;
    uintptr_t hb = base + ((uintptr_t)head << BPFMM_PAGE_SHIFT);
    uintptr_t first = hb + s->obj_off;
    if (p < first)
        return NULL;
    uintptr_t i = (p - first) / s->slot_size;
    if (i >= s->nobj)
        return NULL;
    *slot = first + i * s->slot_size;
    *idx = (uint32_t)i;
    return (struct slab_hdr *)hb;
}

bool bpfmm_alloc_slab_contains(const bpfmm_slab_t *s, const void *addr, size_t len, void **base)
{
    if (!s)
        return false;
    uintptr_t p = (uintptr_t)addr, slot;
    uint32_t idx;
    if (!locate(s, p, &slot, &idx))
        return false;
    size_t off = p - slot;
    if (len > s->obj_size || off > s->obj_size - len || (len == 0 && off >= s->obj_size))
        return false;
    if (base)
        *base = (void *)slot;
    return true;
}

static int obj_bad(struct bpfmm_slab *s, const char *fn, const void *obj, const char *why)
{
    stat_inc(&s->bad_free);
#ifdef BPFMM_DEBUG
    struct msg m = {.n = 0};
    msg_str(&m, "bpfmm slab ");
    msg_str(&m, s->name);
    msg_str(&m, ": ");
    msg_str(&m, fn);
    msg_str(&m, "(0x");
    char hex[17];
    uintptr_t v = (uintptr_t)obj;
    for (int i = 15; i >= 0; i--, v >>= 4)
        hex[i] = "0123456789abcdef"[v & 15];
    hex[16] = '\0';
    msg_str(&m, hex);
    msg_str(&m, ") refused: ");
    msg_str(&m, why);
    msg_emit(&m);
#else
    (void)fn, (void)obj, (void)why;
#endif
    return -EINVAL;
}

/* Validates obj and moves it INUSE -> FREEING with one CAS. */
static struct slab_hdr *claim_obj(struct bpfmm_slab *s, void *obj, const char *fn, uint32_t *idx,
                                  int *err)
{
    uintptr_t slot;
    struct slab_hdr *h = locate(s, (uintptr_t)obj, &slot, idx);
    if (!h) {
        *err = obj_bad(s, fn, obj, "not an object of this cache");
        return NULL;
    }
    if (slot != (uintptr_t)obj) {
        *err = obj_bad(s, fn, obj, "points inside an object, not at its start");
        return NULL;
    }
    uint8_t st = OS_INUSE;
    if (!atomic_compare_exchange_strong_explicit(&ostate(h)[*idx], &st, OS_FREEING,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        *err = obj_bad(s, fn, obj, "double free: the object is not allocated");
        return NULL;
    }
    return h;
}

int bpfmm_alloc_slab_free(bpfmm_slab_t *s, void *obj)
{
    if (!s)
        return -EINVAL;
    uint32_t idx;
    int err;
    struct slab_hdr *h = claim_obj(s, obj, "slab_free", &idx, &err);
    if (!h)
        return err;
    struct shard *sh = &s->sh[h->shard];
    shard_lock(s, sh, false);
    put_locked(s, sh, h, idx);
    shard_unlock(sh);
    return 0;
}

static void defer_obj(struct bpfmm_slab *s, struct shard *sh, struct slab_hdr *h, uint32_t idx)
{
    atomic_fetch_add_explicit(&s->objs_deferred, 1, memory_order_relaxed);
    atomic_store_explicit(&ostate(h)[idx], OS_DEFERRED, memory_order_release);
    uint32_t old = atomic_load_explicit(&h->defer_head, memory_order_relaxed);
    do {
        onext(s, h)[idx] = (uint16_t)(old ? old - 1 : NONE16);
    } while (!atomic_compare_exchange_weak_explicit(&h->defer_head, &old, idx + 1,
                                                    memory_order_acq_rel, memory_order_relaxed));
    if (old == 0) {
        /* We made the block's list non-empty: we list the block (exactly one pusher does). */
        uint32_t ob = atomic_load_explicit(&sh->defer_blocks, memory_order_relaxed);
        do {
            h->next_defer = ob;
        } while (!atomic_compare_exchange_weak_explicit(
            &sh->defer_blocks, &ob, h->pfn, memory_order_acq_rel, memory_order_relaxed));
    }
    stat_inc(&s->deferred_frees);
}

int bpfmm_alloc_slab_free_nolock(bpfmm_slab_t *s, void *obj)
{
    if (!s)
        return -EINVAL;
    uint32_t idx;
    int err;
    struct slab_hdr *h = claim_obj(s, obj, "slab_free_nolock", &idx, &err);
    if (!h)
        return err;
    struct shard *sh = &s->sh[h->shard];
    if (shard_lock(s, sh, true)) {
        put_locked(s, sh, h, idx);
        shard_unlock(sh);
    } else {
        defer_obj(s, sh, h, idx);
    }
    return 0;
}

void bpfmm_alloc_slab_destroy(bpfmm_slab_t *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < NSHARD; i++) {
        struct shard *sh = &s->sh[i];
        shard_lock(s, sh, false);
        uint32_t p = sh->all;
        while (p != NONE) {
            struct slab_hdr *h = blk(s, p);
            uint32_t next = h->next_all;
            atomic_store_explicit(&s->a->frames[p].slab, 0, memory_order_release);
            page_free_internal(s->a, p, s->order, false);
            p = next;
        }
        sh->all = sh->partial = NONE;
        shard_unlock(sh);
    }
    free(s);
}

int bpfmm_alloc_slab_get_stats(const bpfmm_slab_t *s, struct bpfmm_slab_stats *out)
{
    if (!s || !out || out->sz < offsetof(struct bpfmm_slab_stats, bad_free) + sizeof(uint64_t))
        return -EINVAL;
    struct bpfmm_slab_stats st;
    memset(&st, 0, sizeof(st));
    st.obj_size = s->slot_size;
    uint64_t fr = 0, def = stat_get(&s->objs_deferred);
    for (unsigned i = 0; i < NSHARD; i++) {
        st.pages += stat_get(&s->sh[i].pages);
        st.objs_total += stat_get(&s->sh[i].objs_total);
        fr += stat_get(&s->sh[i].objs_free);
    }
    st.objs_inuse = st.objs_total > fr + def ? st.objs_total - fr - def : 0;
    st.alloc_fail = stat_get(&s->alloc_fail);
    st.bad_free = stat_get(&s->bad_free);
    st.objs_deferred = def;
    st.try_busy = stat_get(&s->try_busy);
    st.deferred_frees = stat_get(&s->deferred_frees);
    size_t n = out->sz < sizeof(st) ? out->sz : sizeof(st);
    st.sz = out->sz;
    memcpy(out, &st, n);
    return 0;
}

/* White-box hooks (alloc_testing.h). */
void alloc_testing_slab_lock(bpfmm_slab_t *s)
{
    for (unsigned i = 0; i < NSHARD; i++)
        shard_lock(s, &s->sh[i], false);
}

void alloc_testing_slab_unlock(bpfmm_slab_t *s)
{
    for (unsigned i = NSHARD; i-- > 0;)
        shard_unlock(&s->sh[i]);
}

void alloc_testing_slab_lock_home(bpfmm_slab_t *s)
{
    shard_lock(s, &s->sh[home_shard()], false);
}

void alloc_testing_slab_unlock_home(bpfmm_slab_t *s)
{
    shard_unlock(&s->sh[home_shard()]);
}
