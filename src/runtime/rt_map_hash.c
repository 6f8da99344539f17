/*
 * BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_LRU_HASH, safe against concurrent threads and against
 * signal handlers that interrupt a thread in the middle of an operation.
 *
 * Design (Linux's htab with SLAB_TYPESAFE_BY_RCU-style memory, without RCU):
 *   - Elements come from a per-map bpfmm slab, which is type-stable: slab memory stays an
 *     element of this map for the map's lifetime, so a reader holding a stale element pointer
 *     reads element bytes, never unmapped or foreign memory. Elements are preallocated at
 *     creation (Linux's default); with BPF_F_NO_PREALLOC they are allocated on demand with
 *     bpfmm_alloc_slab_try_alloc() (never blocks). Deleted elements are recycled through a
 *     lock-free, tagged (ABA-safe) free list of the map and only return to the slab when the
 *     map is destroyed, so no other code ever writes into an element a reader may be walking.
 *   - Buckets are singly linked lists terminated by a "nulls" marker (bucket << 1 | 1).
 *     Lookups take no lock: they walk with acquire loads, compare hash and key, re-check the
 *     key of a match, and restart when the walk ends on another bucket's marker (the element
 *     they followed was recycled into another chain). Walks are bounded; a reader that cannot
 *     finish after a few restarts reports "not found" rather than spin.
 *   - Writers (update/delete/LRU eviction) take the bucket's lock with a trylock and a bounded
 *     number of retries, then give up with -EBUSY: a signal handler never waits for a lock the
 *     thread it interrupted may hold. A replacing update links the new element before
 *     unlinking the old one, so a concurrent lookup always finds one of them.
 *   - Size: an atomic element count; a full HASH returns -E2BIG, a full LRU_HASH evicts the
 *     least recently used element (exact LRU from a global use counter bumped on every lookup
 *     and update; the victim scan is O(buckets) up to 4096 buckets, sampled beyond).
 * Values are copied with word-sized atomics (rt_map_copy_in/out).
 */
#include "rt_map_impl.h"

#include "rt_obj.h"

#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HTAB_SLACK          32   /* spare elements for replacing updates when the map is full */
#define HTAB_LOCK_SPINS     128  /* trylock attempts before yielding */
#define HTAB_LOCK_YIELDS    64   /* sched_yield rounds before -EBUSY */
#define HTAB_READ_RESTARTS  8    /* lock-free walks restarted before "not found" */
#define HTAB_LRU_SCAN       4096 /* buckets examined per eviction */
#define HTAB_UPDATE_RETRIES 8    /* LRU: evict-then-insert rounds before -EBUSY */

struct htab_elem {
    _Atomic uintptr_t next; /* next element, or a nulls marker */
    _Atomic uint32_t hash;
    uint32_t idx;               /* slot in elems[]; free-list links are idx + 1 */
    _Atomic uint32_t free_next; /* free list: idx + 1 of the next free element, 0 = end */
    _Atomic uint32_t seq;       /* odd while the element is being (re)initialised */
    _Atomic uint64_t tick;      /* LRU: last use */
    uint64_t data[];            /* key (rounded to 8), then value (rounded to 8) */
};

struct htab_bucket {
    _Atomic uintptr_t head;
    _Atomic uint32_t lock;
    uint32_t pad;
};

struct htab {
    bpfmm_alloc_t *a;
    bpfmm_slab_t *slab;
    struct htab_bucket *buckets;
    int64_t buckets_pfn;
    unsigned buckets_order;
    _Atomic(struct htab_elem *) *elems;
    int64_t elems_pfn;
    unsigned elems_order;
    uint32_t n_buckets, mask;
    uint32_t cap; /* elements that may ever exist: max_entries + slack */
    uint32_t key_words, value_off, elem_size;
    bool lru;
    _Atomic uint32_t n_alloc;   /* elements obtained from the slab */
    _Atomic uint64_t free_head; /* tag << 32 | (idx + 1) */
    _Atomic uint32_t count;     /* elements linked in buckets */
    _Atomic uint64_t clock;     /* LRU use counter */
    _Atomic uint32_t lru_cursor;
};

static inline bool is_nulls(uintptr_t p)
{
    return p & 1;
}

static inline uintptr_t nulls_of(uint32_t bucket)
{
    return ((uintptr_t)bucket << 1) | 1;
}

static inline struct htab_elem *elem_of(uintptr_t p)
{
    return (struct htab_elem *)p;
}

/* A 64-bit multiply-xorshift hash over the zero-padded key words. */
static uint32_t hash_key(const uint64_t *k, uint32_t words)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ words;
    for (uint32_t i = 0; i < words; i++) {
        h ^= k[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

static void pad_key(const struct rt_map *m, const struct htab *h, const void *key, uint64_t *out)
{
    out[h->key_words - 1] = 0;
    memcpy(out, key, m->key_size);
}

static bool key_equal(const struct htab *h, const struct htab_elem *e, const uint64_t *k)
{
    for (uint32_t i = 0; i < h->key_words; i++)
        if (__atomic_load_n(&e->data[i], __ATOMIC_ACQUIRE) != k[i])
            return false;
    return true;
}

static inline void *elem_value(const struct htab *h, struct htab_elem *e)
{
    return (unsigned char *)e + h->value_off;
}

/* --- free list (lock-free, tagged against ABA) ------------------------------------------ */

static void free_push(struct htab *h, struct htab_elem *e)
{
    uint64_t old = atomic_load_explicit(&h->free_head, memory_order_relaxed);
    uint64_t nw;
    do {
        atomic_store_explicit(&e->free_next, (uint32_t)old, memory_order_relaxed);
        nw = ((old >> 32) + 1) << 32 | (e->idx + 1);
    } while (!atomic_compare_exchange_weak_explicit(&h->free_head, &old, nw, memory_order_release,
                                                    memory_order_relaxed));
}

static struct htab_elem *free_pop(struct htab *h)
{
    uint64_t old = atomic_load_explicit(&h->free_head, memory_order_acquire);
    for (;;) {
        uint32_t top = (uint32_t)old;
        if (top == 0)
            return NULL;
        struct htab_elem *e = atomic_load_explicit(&h->elems[top - 1], memory_order_acquire);
        uint32_t next = atomic_load_explicit(&e->free_next, memory_order_relaxed);
        uint64_t nw = ((old >> 32) + 1) << 32 | next;
        if (atomic_compare_exchange_weak_explicit(&h->free_head, &old, nw, memory_order_acquire,
                                                  memory_order_acquire))
            return e;
    }
}

/* An element from the free list, or (no prealloc) a new one from the slab's try path.
 * NULL with *err -ENOMEM (no element left) or -EBUSY (every slab shard was busy). */
static struct htab_elem *elem_get(struct htab *h, int *err)
{
    struct htab_elem *e = free_pop(h);
    if (e)
        return e;
    *err = -ENOMEM;
    if (atomic_load_explicit(&h->n_alloc, memory_order_relaxed) >= h->cap)
        return NULL;
    int saved = errno;
    e = bpfmm_alloc_slab_try_alloc(h->slab);
    if (!e) {
        if (errno == EAGAIN)
            *err = -EBUSY;
        errno = saved; /* we may be in a signal handler */
        return NULL;
    }
    errno = saved;
    uint32_t idx = atomic_fetch_add_explicit(&h->n_alloc, 1, memory_order_relaxed);
    if (idx >= h->cap) {
        atomic_fetch_sub_explicit(&h->n_alloc, 1, memory_order_relaxed);
        bpfmm_alloc_slab_free_nolock(h->slab, e);
        return NULL;
    }
    memset(e, 0, h->elem_size);
    atomic_store_explicit(&e->next, nulls_of(0), memory_order_relaxed);
    e->idx = idx;
    atomic_store_explicit(&h->elems[idx], e, memory_order_release);
    return e;
}

/* --- bucket locks -------------------------------------------------------------------------- */

static bool bucket_trylock(struct htab_bucket *b)
{
    for (unsigned y = 0; y <= HTAB_LOCK_YIELDS; y++) {
        for (unsigned i = 0; i < HTAB_LOCK_SPINS; i++) {
            uint32_t z = 0;
            if (atomic_load_explicit(&b->lock, memory_order_relaxed) == 0 &&
                atomic_compare_exchange_weak_explicit(&b->lock, &z, 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause(); /* a spin-wait hint; other architectures just spin */
#endif
        }
        if (y < HTAB_LOCK_YIELDS)
            sched_yield(); /* async-signal-safe; the holder may be another, descheduled thread */
    }
    return false;
}

static void bucket_unlock(struct htab_bucket *b)
{
    atomic_store_explicit(&b->lock, 0, memory_order_release);
}

/* --- lock-free lookup ---------------------------------------------------------------------- */

static struct htab_elem *find_lockfree(struct htab *h, uint32_t hash, const uint64_t *k)
{
    uint32_t bi = hash & h->mask;
    struct htab_bucket *b = &h->buckets[bi];
    for (int restart = 0; restart < HTAB_READ_RESTARTS; restart++) {
        uintptr_t p = atomic_load_explicit(&b->head, memory_order_acquire);
        uint64_t steps = 0;
        while (!is_nulls(p) && steps++ <= h->cap) {
            struct htab_elem *e = elem_of(p);
            if (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
                key_equal(h, e, k)) {
                /* Re-check: the element may have been recycled while we compared. */
                if (atomic_load_explicit(&e->hash, memory_order_acquire) == hash &&
                    key_equal(h, e, k))
                    return e;
            }
            p = atomic_load_explicit(&e->next, memory_order_acquire);
        }
        if (p == nulls_of(bi))
            return NULL; /* walked our own chain to its end */
        /* Ended on another bucket's marker or ran too long: we followed a recycled element. */
    }
    return NULL;
}

static inline void lru_touch(struct htab *h, struct htab_elem *e)
{
    if (h->lru)
        atomic_store_explicit(&e->tick,
                              atomic_fetch_add_explicit(&h->clock, 1, memory_order_relaxed) + 1,
                              memory_order_relaxed);
}

static void *htab_lookup(struct rt_map *m, const void *key)
{
    struct htab *h = m->impl;
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    struct htab_elem *e = find_lockfree(h, hash_key(k, h->key_words), k);
    if (!e)
        return NULL;
    lru_touch(h, e);
    return elem_value(h, e);
}

/* Copies key or value bytes of e consistently: retries while a writer re-initialises the
 * element, and fails if the element no longer holds the expected key (it was recycled). */
static bool copy_stable(const struct htab *h, struct htab_elem *e, uint32_t hash, const uint64_t *k,
                        void *dst, const void *src, size_t n)
{
    for (int tries = 0; tries < HTAB_READ_RESTARTS; tries++) {
        uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (s1 & 1)
            continue;
        bool same = !k || (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
                           key_equal(h, e, k));
        rt_map_copy_out(dst, src, n); /* acquire loads: the seq re-read cannot move up */
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) == s1)
            return same;
    }
    return false;
}

int rt_map_hash_lookup_copy(struct rt_map *m, const void *key, void *value)
{
    struct htab *h = m->impl;
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    uint32_t hash = hash_key(k, h->key_words);
    for (int tries = 0; tries < HTAB_READ_RESTARTS; tries++) {
        struct htab_elem *e = find_lockfree(h, hash, k);
        if (!e)
            return -ENOENT;
        if (copy_stable(h, e, hash, k, value, elem_value(h, e), m->value_size))
            return 0;
        /* Recycled under us: look it up again. */
    }
    return -ENOENT;
}

/* --- writers (bucket lock held) ------------------------------------------------------------ */

/* Finds the element and the link that points to it. */
static struct htab_elem *find_locked(struct htab *h, struct htab_bucket *b, uint32_t hash,
                                     const uint64_t *k, _Atomic uintptr_t **link)
{
    _Atomic uintptr_t *l = &b->head;
    uintptr_t p = atomic_load_explicit(l, memory_order_relaxed);
    while (!is_nulls(p)) {
        struct htab_elem *e = elem_of(p);
        if (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash && key_equal(h, e, k)) {
            if (link)
                *link = l;
            return e;
        }
        l = &e->next;
        p = atomic_load_explicit(l, memory_order_relaxed);
    }
    return NULL;
}

/* Unlinks e (whose link is *link) and recycles it. Bucket lock held. */
static void unlink_elem(struct htab *h, _Atomic uintptr_t *link, struct htab_elem *e)
{
    atomic_store_explicit(link, atomic_load_explicit(&e->next, memory_order_relaxed),
                          memory_order_release);
    atomic_fetch_sub_explicit(&h->count, 1, memory_order_relaxed);
}

/* LRU: removes the least recently used element among the scanned buckets. */
static int lru_evict(struct htab *h)
{
    uint32_t scan = h->n_buckets < HTAB_LRU_SCAN ? h->n_buckets : HTAB_LRU_SCAN;
    uint32_t start =
        scan == h->n_buckets
            ? 0
            : atomic_fetch_add_explicit(&h->lru_cursor, scan, memory_order_relaxed) & h->mask;
    for (int attempt = 0; attempt < 4; attempt++) {
        struct htab_elem *victim = NULL;
        uint64_t best = UINT64_MAX;
        uint32_t vb = 0;
        for (uint32_t i = 0; i < scan; i++) {
            uint32_t bi = (start + i) & h->mask;
            uintptr_t p = atomic_load_explicit(&h->buckets[bi].head, memory_order_acquire);
            uint64_t steps = 0;
            while (!is_nulls(p) && steps++ <= h->cap) {
                struct htab_elem *e = elem_of(p);
                uint64_t t = atomic_load_explicit(&e->tick, memory_order_relaxed);
                if (t < best) {
                    best = t;
                    victim = e;
                    vb = bi;
                }
                p = atomic_load_explicit(&e->next, memory_order_acquire);
            }
        }
        if (!victim)
            return -ENOENT; /* the scanned buckets are empty: the caller retries */
        struct htab_bucket *b = &h->buckets[vb];
        if (!bucket_trylock(b))
            return -EBUSY;
        /* Still linked in that bucket and not used since we chose it? */
        _Atomic uintptr_t *l = &b->head;
        uintptr_t p = atomic_load_explicit(l, memory_order_relaxed);
        while (!is_nulls(p) && elem_of(p) != victim) {
            l = &elem_of(p)->next;
            p = atomic_load_explicit(l, memory_order_relaxed);
        }
        if (!is_nulls(p) && atomic_load_explicit(&victim->tick, memory_order_relaxed) == best) {
            unlink_elem(h, l, victim);
            bucket_unlock(b);
            free_push(h, victim);
            return 0;
        }
        bucket_unlock(b);
    }
    return -EAGAIN;
}

static int htab_update(struct rt_map *m, const void *key, const void *value, uint64_t flags)
{
    struct htab *h = m->impl;
    if (flags > BPF_EXIST)
        return -EINVAL;
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    uint32_t hash = hash_key(k, h->key_words);
    struct htab_bucket *b = &h->buckets[hash & h->mask];

    for (int round = 0; round < HTAB_UPDATE_RETRIES; round++) {
        if (!bucket_trylock(b))
            return -EBUSY;
        _Atomic uintptr_t *link = NULL;
        struct htab_elem *old = find_locked(h, b, hash, k, &link);
        if (old && flags == BPF_NOEXIST) {
            bucket_unlock(b);
            return -EEXIST;
        }
        if (!old && flags == BPF_EXIST) {
            bucket_unlock(b);
            return -ENOENT;
        }
        if (!old) {
            uint32_t c = atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
            if (c >= m->max_entries) {
                atomic_fetch_sub_explicit(&h->count, 1, memory_order_relaxed);
                bucket_unlock(b);
                if (!h->lru)
                    return -E2BIG;
                int err = lru_evict(h);
                if (err == -EBUSY)
                    return err;
                continue; /* evicted (or raced): try the insert again */
            }
        }
        int gerr = 0;
        struct htab_elem *e = elem_get(h, &gerr);
        if (!e) {
            if (!old)
                atomic_fetch_sub_explicit(&h->count, 1, memory_order_relaxed);
            bucket_unlock(b);
            return gerr;
        }
        /* Seqcount: host copies of a recycled element notice the rewrite and retry. */
        uint32_t seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
        /* Release stores below: a reader that sees any new byte also sees the odd seq. */
        atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
        atomic_store_explicit(&e->hash, hash, memory_order_release);
        for (uint32_t i = 0; i < h->key_words; i++)
            __atomic_store_n(&e->data[i], k[i], __ATOMIC_RELEASE);
        rt_map_copy_in(elem_value(h, e), value, m->value_size);
        atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
        lru_touch(h, e);
        /* Publish at the head, then drop the old element: a reader finds one of them. */
        atomic_store_explicit(&e->next, atomic_load_explicit(&b->head, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&b->head, (uintptr_t)e, memory_order_release);
        if (old) {
            if (link == &b->head)
                link = &e->next; /* old was the head: it now follows e */
            atomic_store_explicit(link, atomic_load_explicit(&old->next, memory_order_relaxed),
                                  memory_order_release);
        }
        bucket_unlock(b);
        if (old)
            free_push(h, old);
        return 0;
    }
    return -EBUSY;
}

static int htab_delete(struct rt_map *m, const void *key)
{
    struct htab *h = m->impl;
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    uint32_t hash = hash_key(k, h->key_words);
    struct htab_bucket *b = &h->buckets[hash & h->mask];
    if (!bucket_trylock(b))
        return -EBUSY;
    _Atomic uintptr_t *link = NULL;
    struct htab_elem *e = find_locked(h, b, hash, k, &link);
    if (!e) {
        bucket_unlock(b);
        return -ENOENT;
    }
    unlink_elem(h, link, e);
    bucket_unlock(b);
    free_push(h, e);
    return 0;
}

/* First element of bucket >= bi (lock-free), copying its key out. */
static int first_from(struct rt_map *m, struct htab *h, uint32_t bi, void *next_key)
{
    int again = 0;
    for (; bi < h->n_buckets; bi++) {
        uintptr_t p = atomic_load_explicit(&h->buckets[bi].head, memory_order_acquire);
        if (!is_nulls(p)) {
            struct htab_elem *e = elem_of(p);
            if (copy_stable(h, e, 0, NULL, next_key, e->data, m->key_size))
                return 0;
            if (++again < HTAB_READ_RESTARTS)
                bi--; /* rewritten while we copied: look at this bucket again */
        }
    }
    return -ENOENT;
}

static int htab_next_key(struct rt_map *m, const void *key, void *next_key)
{
    struct htab *h = m->impl;
    if (!key)
        return first_from(m, h, 0, next_key);
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    uint32_t hash = hash_key(k, h->key_words);
    struct htab_elem *e = find_lockfree(h, hash, k);
    if (!e)
        return first_from(m, h, 0, next_key); /* Linux: an absent key restarts the walk */
    uintptr_t p = atomic_load_explicit(&e->next, memory_order_acquire);
    if (!is_nulls(p) &&
        copy_stable(h, elem_of(p), 0, NULL, next_key, elem_of(p)->data, m->key_size))
        return 0;
    return first_from(m, h, (hash & h->mask) + 1, next_key);
}

bool rt_map_hash_test_lock(struct rt_map *m, const void *key, bool lock)
{
    struct htab *h = m->impl;
    uint64_t k[RT_MAP_MAX_KEY_SIZE / 8];
    pad_key(m, h, key, k);
    struct htab_bucket *b = &h->buckets[hash_key(k, h->key_words) & h->mask];
    if (!lock) {
        bucket_unlock(b);
        return true;
    }
    return bucket_trylock(b);
}

static bool htab_contains(const struct rt_map *m, uintptr_t addr, size_t len)
{
    const struct htab *h = m->impl;
    void *base;
    if (len > m->value_size || !bpfmm_alloc_slab_contains(h->slab, (void *)addr, len, &base))
        return false;
    uintptr_t v = (uintptr_t)base + h->value_off;
    return addr >= v && addr - v + len <= m->value_size;
}

static void htab_destroy(struct rt_map *m)
{
    struct htab *h = m->impl;
    if (!h)
        return;
    if (h->slab)
        bpfmm_alloc_slab_destroy(h->slab); /* returns every element's page */
    if (h->elems)
        bpfmm_alloc_free_pages(h->a, (uint64_t)h->elems_pfn, h->elems_order);
    if (h->buckets)
        bpfmm_alloc_free_pages(h->a, (uint64_t)h->buckets_pfn, h->buckets_order);
    free(h);
    m->impl = NULL;
}

static const struct rt_map_ops htab_ops = {
    .lookup = htab_lookup,
    .update = htab_update,
    .delete = htab_delete,
    .next_key = htab_next_key,
    .contains = htab_contains,
    .destroy = htab_destroy,
};

static uint32_t n_buckets_for(uint32_t max_entries)
{
    uint32_t n = 1;
    while (n < max_entries && n < (1u << 24))
        n <<= 1;
    return n;
}

static uint64_t elem_bytes(const struct rt_map *m)
{
    return sizeof(struct htab_elem) + rt_round8(m->key_size) + rt_round8(m->value_size);
}

int rt_map_hash_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size)
{
    const char *tn = m->type == BPF_MAP_TYPE_LRU_HASH ? "LRU_HASH" : "HASH";
    if (m->key_size > RT_MAP_MAX_KEY_SIZE || m->value_size > RT_MAP_MAX_VALUE_SIZE) {
        rt_log(log, log_size,
               "map '%s': key size %u / value size %u exceed the %s limits (%u / %u bytes)",
               m->name, m->key_size, m->value_size, tn, RT_MAP_MAX_KEY_SIZE, RT_MAP_MAX_VALUE_SIZE);
        return -E2BIG;
    }
    uint32_t allowed = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_ZERO_SEED |
                       BPF_F_RDONLY_PROG;
    if (m->type == BPF_MAP_TYPE_LRU_HASH)
        allowed &= ~BPF_F_NO_PREALLOC; /* Linux refuses it for LRU too */
    else
        allowed &= ~BPF_F_NO_COMMON_LRU;
    if (m->map_flags & ~allowed) {
        rt_log(log, log_size, "map '%s': map_flags 0x%x not supported for %s (allowed: 0x%x)",
               m->name, m->map_flags & ~allowed, tn, allowed);
        return -EINVAL;
    }
    uint64_t cap = (uint64_t)m->max_entries + HTAB_SLACK;
    uint64_t eb = elem_bytes(m);
    uint64_t bucket_bytes = (uint64_t)n_buckets_for(m->max_entries) * sizeof(struct htab_bucket);
    uint64_t table_bytes = cap * sizeof(void *);
    /* Slab blocks as bpfmm's slab lays them out: the smallest order holding 8 objects (each
     * slot + 3 bytes of metadata after a small header), plus one partly used block per slab
     * shard (8, docs/alloc.md). */
    uint64_t slot = rt_round8(eb);
    unsigned so = 0;
    while (so < BPFMM_ALLOC_ORDER_MAX && ((BPFMM_PAGE_SIZE << so) - 64) / (slot + 3) < 8)
        so++;
    uint64_t per_block = ((BPFMM_PAGE_SIZE << so) - 64) / (slot + 3);
    if (per_block > 65534)
        per_block = 65534;
    uint64_t slab_pages = ((cap + per_block - 1) / per_block + 8) << so;
    uint64_t total_bytes = bucket_bytes + table_bytes + slab_pages * BPFMM_PAGE_SIZE;
    if (total_bytes > (RT_ARENA_MAX_PAGES << BPFMM_PAGE_SHIFT) / 2) {
        rt_log(log, log_size,
               "map '%s': %u entries of %u+%u bytes need %llu MiB, above the 512 MiB limit for "
               "one map",
               m->name, m->max_entries, m->key_size, m->value_size,
               (unsigned long long)(total_bytes >> 20));
        return -E2BIG;
    }
    unsigned ob = rt_order_for_bytes(bucket_bytes), ot = rt_order_for_bytes(table_bytes);
    need->pages = (1ull << ob) + (1ull << ot) + slab_pages;
    need->max_order = ob > ot ? ob : ot;
    if (so > need->max_order)
        need->max_order = so;
    return 0;
}

int rt_map_hash_create(struct rt_map *m, bpfmm_alloc_t *a)
{
    struct htab *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->a = a;
    h->lru = m->type == BPF_MAP_TYPE_LRU_HASH;
    h->n_buckets = n_buckets_for(m->max_entries);
    h->mask = h->n_buckets - 1;
    h->cap = m->max_entries + HTAB_SLACK;
    h->key_words = (uint32_t)(rt_round8(m->key_size) / 8);
    h->value_off = (uint32_t)(sizeof(struct htab_elem) + rt_round8(m->key_size));
    h->elem_size = (uint32_t)elem_bytes(m);
    m->impl = h;
    m->ops = &htab_ops;
    int err = -ENOMEM;

    h->buckets = rt_arena_block(a, (uint64_t)h->n_buckets * sizeof(*h->buckets), &h->buckets_pfn,
                                &h->buckets_order);
    if (!h->buckets)
        goto fail;
    for (uint32_t i = 0; i < h->n_buckets; i++) {
        atomic_init(&h->buckets[i].head, nulls_of(i));
        atomic_init(&h->buckets[i].lock, 0);
    }
    h->elems =
        rt_arena_block(a, (uint64_t)h->cap * sizeof(*h->elems), &h->elems_pfn, &h->elems_order);
    if (!h->elems)
        goto fail;
    char sname[80];
    snprintf(sname, sizeof(sname), "bpf-map:%s", m->name);
    h->slab = bpfmm_alloc_slab_create(a, sname, h->elem_size, 8);
    if (!h->slab)
        goto fail; /* bpfmm_alloc_last_error() has the reason; the caller reports errno */
    if (!(m->map_flags & BPF_F_NO_PREALLOC)) {
        for (uint32_t i = 0; i < h->cap; i++) {
            struct htab_elem *e = bpfmm_alloc_slab_alloc(h->slab, 0);
            if (!e)
                goto fail;
            memset(e, 0, h->elem_size);
            atomic_init(&e->next, nulls_of(0));
            e->idx = i;
            atomic_init(&h->elems[i], e);
            atomic_store_explicit(&h->n_alloc, i + 1, memory_order_relaxed);
            free_push(h, e);
        }
    }
    return 0;
fail:
    err = errno ? -errno : -ENOMEM;
    htab_destroy(m);
    m->ops = NULL;
    return err;
}
