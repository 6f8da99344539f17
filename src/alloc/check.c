/*
 * Whole-allocator maintenance: the consistency check (partition of the frames into blocks,
 * list/counter agreement, merging, debug owner tags), statistics, drain, and the names of the
 * failure reasons. Everything here is blocking and must not run in a signal handler. It owns
 * no allocation path.
 */
#include "alloc_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ck {
    struct bpfmm_alloc *a;
    char *msg;
    size_t size;
    int err;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ck *c, const char *fmt, ...)
{
    if (c->err)
        return c->err;
    if (c->msg && c->size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, c->size, fmt, ap);
        va_end(ap);
    }
    c->err = -EUCLEAN;
    return c->err;
}

static const char *kname(enum frame_kind k)
{
    static const char *n[] = {"tail", "free", "allocated", "pcp", "being-freed", "deferred"};
    return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "invalid";
}

/* Buddy lists: every entry a FREE head of the list's order, aligned, in range, links
 * consistent, counts matching. Returns the pages on the lists. */
static uint64_t check_free_lists(struct ck *c)
{
    struct bpfmm_alloc *a = c->a;
    uint64_t pages = 0;
    for (unsigned o = 0; o <= a->max_order; o++) {
        uint64_t n = 0, limit = ((uint64_t)a->nr_frames >> o) + 1;
        uint32_t prev = NONE;
        for (uint32_t p = a->area[o].head; p != NONE; p = a->frames[p].next) {
            if (p >= a->nr_frames)
                return fail(c, "order-%u free list: pfn %u out of range", o, p), 0;
            uint32_t s = fstate(&a->frames[p]);
            if (s != fs_make(FK_FREE, o))
                return fail(c, "order-%u free list: pfn %u is %s order %u", o, p, kname(fs_kind(s)),
                            fs_order(s)),
                       0;
            if (p & ((1u << o) - 1))
                return fail(c, "order-%u free list: pfn %u is not aligned", o, p), 0;
            if (a->frames[p].prev != prev)
                return fail(c, "order-%u free list: pfn %u has a bad prev link", o, p), 0;
            if (++n > limit)
                return fail(c, "order-%u free list has a cycle", o), 0;
            prev = p;
        }
        if (n != stat_get(&a->area[o].nr))
            return fail(c, "order-%u free list holds %llu blocks but its count says %llu", o,
                        (unsigned long long)n, (unsigned long long)stat_get(&a->area[o].nr)),
                   0;
        pages += n << o;
    }
    return pages;
}

static uint64_t check_pcp(struct ck *c)
{
    struct bpfmm_alloc *a = c->a;
    uint64_t pages = 0;
    for (unsigned i = 0; i < a->nr_slots; i++) {
        struct pcp_slot *s = &a->slots[i];
        uint64_t slot_pages = 0;
        for (int o = 0; o <= a->pcp_max_order; o++) {
            uint64_t n = 0, limit = ((uint64_t)a->nr_frames >> o) + 1;
            for (uint32_t p = s->head[o]; p != NONE; p = a->frames[p].next) {
                if (p >= a->nr_frames)
                    return fail(c, "pcp slot %u order %d: pfn %u out of range", i, o, p), 0;
                uint32_t st = fstate(&a->frames[p]);
                if (st != fs_make(FK_PCP, (unsigned)o))
                    return fail(c, "pcp slot %u order %d: pfn %u is %s order %u", i, o, p,
                                kname(fs_kind(st)), fs_order(st)),
                           0;
                if (++n > limit)
                    return fail(c, "pcp slot %u order %d list has a cycle", i, o), 0;
            }
            if (n != atomic_load_explicit(&s->nr[o], memory_order_relaxed))
                return fail(c, "pcp slot %u order %d holds %llu blocks, count says %u", i, o,
                            (unsigned long long)n,
                            atomic_load_explicit(&s->nr[o], memory_order_relaxed)),
                       0;
            slot_pages += n << o;
        }
        if (slot_pages != atomic_load_explicit(&s->count, memory_order_relaxed))
            return fail(c, "pcp slot %u holds %llu pages, count says %u", i,
                        (unsigned long long)slot_pages,
                        atomic_load_explicit(&s->count, memory_order_relaxed)),
                   0;
        pages += slot_pages;
    }
    return pages;
}

struct scan {
    uint64_t pages[6]; /* by frame_kind */
};

/* The frames must partition into naturally aligned blocks: a head, then only tails. */
static void scan_frames(struct ck *c, struct scan *sc)
{
    struct bpfmm_alloc *a = c->a;
    uint64_t n = a->nr_frames;
    for (uint64_t p = 0; p < n && !c->err;) {
        uint32_t s = fstate(&a->frames[p]);
        enum frame_kind k = fs_kind(s);
        unsigned o = fs_order(s);
        if (k == FK_TAIL) {
            fail(c, "pfn %llu is a tail but heads no block (lost frame)", (unsigned long long)p);
            return;
        }
        if (k > FK_DEFERRED || o > a->max_order || (p & ((1ull << o) - 1)) || p + (1ull << o) > n) {
            fail(c, "pfn %llu has an invalid state 0x%x (%s order %u)", (unsigned long long)p, s,
                 kname(k), o);
            return;
        }
        for (uint64_t t = p + 1; t < p + (1ull << o); t++) {
            uint32_t ts = fstate(&a->frames[t]);
            if (ts != FS_TAIL) {
                fail(c,
                     "pfn %llu inside the %s order-%u block at pfn %llu is %s order %u "
                     "(owned twice)",
                     (unsigned long long)t, kname(k), o, (unsigned long long)p, kname(fs_kind(ts)),
                     fs_order(ts));
                return;
            }
        }
        if (k == FK_FREE && o < a->max_order) {
            uint64_t b = p ^ (1ull << o);
            if (b + (1ull << o) <= n && fstate(&a->frames[b]) == fs_make(FK_FREE, o)) {
                fail(c, "free order-%u blocks at pfn %llu and %llu are buddies but not merged", o,
                     (unsigned long long)p, (unsigned long long)b);
                return;
            }
        }
        if (k != FK_ALLOC && atomic_load_explicit(&a->frames[p].slab, memory_order_relaxed)) {
            fail(c, "pfn %llu is %s but still tagged as a slab block", (unsigned long long)p,
                 kname(k));
            return;
        }
#ifdef BPFMM_DEBUG
        if (k != FK_FREEING) {
            uint32_t want = k == FK_ALLOC ? (uint32_t)p + 1 : 0;
            for (uint64_t t = p; t < p + (1ull << o); t++) {
                uint32_t ow = atomic_load_explicit(&a->frames[t].owner, memory_order_acquire);
                /* A free racing the scan (it needs no lock) may have moved the head on and be
                 * clearing the tags: not a conflict. */
                if (ow != want && k == FK_ALLOC && fstate(&a->frames[p]) != s)
                    break;
                if (ow != want) {
                    fail(c,
                         "owner tag of pfn %llu in the %s order-%u block at pfn %llu says "
                         "%s%llu (owned twice)",
                         (unsigned long long)t, kname(k), o, (unsigned long long)p,
                         ow ? "block at pfn " : "the allocator",
                         ow ? (unsigned long long)ow - 1 : 0);
                    return;
                }
            }
        }
#endif
        sc->pages[k] += 1ull << o;
        p += 1ull << o;
    }
}

int bpfmm_alloc_check(bpfmm_alloc_t *a, char *msg, size_t msg_size)
{
    if (!a)
        return -EINVAL;
    struct ck c = {.a = a, .msg = msg, .size = msg_size};
    if (msg && msg_size)
        msg[0] = '\0';

    /* Lock order: every slot (index order), then the zone. The raw lock keeps the deferred
     * list as it is, so it can be checked too. */
    pcp_lock_all(a);
    zlock_lock(&a->lock, alloc_thread_token());
    uint64_t def_counter0 = atomic_load_explicit(&a->deferred_pages, memory_order_relaxed);
    /* Move the shared list in front of the backlog (we hold the lock: no one else drains). */
    uint32_t taken = atomic_exchange_explicit(&a->deferred_head, NONE, memory_order_acq_rel);
    if (taken != NONE) {
        uint32_t t = taken;
        while (a->frames[t].next != NONE)
            t = a->frames[t].next;
        a->frames[t].next = a->backlog;
        a->backlog = taken;
    }
    uint64_t def_list = 0, limit = a->nr_frames;
    for (uint32_t p = a->backlog; p != NONE && !c.err; p = a->frames[p].next) {
        uint32_t s = fstate(&a->frames[p]);
        if (p >= a->nr_frames || fs_kind(s) != FK_DEFERRED)
            fail(&c, "deferred list: pfn %u is %s", p, kname(fs_kind(s)));
        def_list += 1ull << fs_order(s);
        if (!limit--)
            fail(&c, "deferred list has a cycle");
    }

    uint64_t free_list = c.err ? 0 : check_free_lists(&c);
    uint64_t pcp = c.err ? 0 : check_pcp(&c);
    struct scan sc = {{0}};
    if (!c.err)
        scan_frames(&c, &sc);
    if (!c.err && sc.pages[FK_FREE] != free_list)
        fail(&c, "%llu pages in free blocks but %llu on the free lists",
             (unsigned long long)sc.pages[FK_FREE], (unsigned long long)free_list);
    if (!c.err && free_list != stat_get(&a->free_pages))
        fail(&c, "free lists hold %llu pages but the zone counts %llu",
             (unsigned long long)free_list, (unsigned long long)stat_get(&a->free_pages));
    if (!c.err && sc.pages[FK_PCP] != pcp)
        fail(&c, "%llu pages in pcp blocks but %llu on the pcp lists",
             (unsigned long long)sc.pages[FK_PCP], (unsigned long long)pcp);
    uint64_t total = sc.pages[FK_FREE] + sc.pages[FK_PCP] + sc.pages[FK_ALLOC] +
                     sc.pages[FK_FREEING] + sc.pages[FK_DEFERRED];
    if (!c.err && total != a->nr_frames)
        fail(&c, "free %llu + pcp %llu + allocated %llu + deferred %llu != total %u",
             (unsigned long long)sc.pages[FK_FREE], (unsigned long long)sc.pages[FK_PCP],
             (unsigned long long)(sc.pages[FK_ALLOC] + sc.pages[FK_FREEING]),
             (unsigned long long)sc.pages[FK_DEFERRED], a->nr_frames);
    /* Deferred frees can be pushed while we scan (no lock needed to push); the exact
     * comparison is only meaningful when none was. */
    uint64_t def_counter1 = atomic_load_explicit(&a->deferred_pages, memory_order_relaxed);
    bool quiet = def_counter0 == def_counter1 && sc.pages[FK_FREEING] == 0 &&
                 atomic_load_explicit(&a->deferred_head, memory_order_relaxed) == NONE;
    if (!c.err && quiet && (sc.pages[FK_DEFERRED] != def_list || def_list != def_counter1))
        fail(&c, "deferred: %llu pages in deferred blocks, %llu on the list, counter %llu",
             (unsigned long long)sc.pages[FK_DEFERRED], (unsigned long long)def_list,
             (unsigned long long)def_counter1);
    if (!c.err && stat_get(&a->st.owner_conflicts))
        fail(&c, "%llu owner-tag conflicts were recorded (a frame was owned twice)",
             (unsigned long long)stat_get(&a->st.owner_conflicts));

    /* Merge the deferred frees only if they were found sound; after a failure, leave the
     * state as it was for whoever investigates rather than build on damaged metadata. */
    if (c.err)
        zlock_unlock(&a->lock);
    else
        zone_unlock(a, false);
    pcp_unlock_all(a);
    return c.err;
}

int bpfmm_alloc_drain(bpfmm_alloc_t *a)
{
    if (!a)
        return -EINVAL;
    pcp_drain_all(a);
    return 0;
}

int bpfmm_alloc_get_stats(bpfmm_alloc_t *a, struct bpfmm_alloc_stats *out)
{
    if (!a || !out || out->sz < offsetof(struct bpfmm_alloc_stats, charged_pages))
        return -EINVAL;
    struct bpfmm_alloc_stats st;
    memset(&st, 0, sizeof(st));
    st.nr_frames = a->nr_frames;
    st.max_order = a->max_order;
    for (unsigned o = 0; o <= a->max_order; o++)
        st.free_blocks[o] = stat_get(&a->area[o].nr);
    st.free_pages = stat_get(&a->free_pages);
    st.deferred_pages = stat_get(&a->deferred_pages);
    st.charged_pages = stat_get(&a->charged);
    st.charge_limit_pages = stat_get(&a->charge_limit);
    st.alloc_calls = stat_get(&a->st.alloc_calls);
    st.try_alloc_calls = stat_get(&a->st.try_alloc_calls);
    st.free_calls = stat_get(&a->st.free_calls);
    st.free_nolock_calls = stat_get(&a->st.free_nolock_calls);
    for (unsigned i = 0; i < a->nr_slots; i++) {
        struct pcp_slot *s = &a->slots[i];
        st.pcp_pages += atomic_load_explicit(&s->count, memory_order_relaxed);
        st.alloc_calls += stat_get(&s->alloc_calls);
        st.try_alloc_calls += stat_get(&s->try_alloc_calls);
        st.free_calls += stat_get(&s->free_calls);
        st.free_nolock_calls += stat_get(&s->free_nolock_calls);
        st.pcp_slots_claimed += atomic_load_explicit(&s->claimed, memory_order_relaxed);
    }
    st.pcp_slots = a->nr_slots;
    uint64_t used = st.free_pages + st.pcp_pages + st.deferred_pages;
    st.allocated_pages = used < a->nr_frames ? a->nr_frames - used : 0;
    st.deferred_frees = stat_get(&a->st.deferred_frees);
    for (unsigned i = 0; i < BPFMM_ALLOC_FAIL_NR; i++)
        st.fail[i] = stat_get(&a->st.fail[i]);
    for (unsigned i = 0; i < BPFMM_ALLOC_BAD_FREE_NR; i++)
        st.bad_free[i] = stat_get(&a->st.bad_free[i]);
    st.deferred_drained = stat_get(&a->st.deferred_drained);
    st.reentered_zone = stat_get(&a->st.reentered_zone);
    st.reentered_pcp = stat_get(&a->st.reentered_pcp);
    st.owner_conflicts = stat_get(&a->st.owner_conflicts);

    size_t n = out->sz < sizeof(st) ? out->sz : sizeof(st);
    st.sz = out->sz;
    memcpy(out, &st, n);
    return 0;
}

const char *bpfmm_alloc_fail_name(enum bpfmm_alloc_fail reason)
{
    static const char *names[] = {"nomem", "charge", "pcp_busy", "zone_busy", "bad_order"};
    return (unsigned)reason < BPFMM_ALLOC_FAIL_NR ? names[reason] : "unknown";
}

const char *bpfmm_alloc_bad_free_name(enum bpfmm_alloc_bad_free kind)
{
    static const char *names[] = {"wrong_order", "double", "not_head", "range"};
    return (unsigned)kind < BPFMM_ALLOC_BAD_FREE_NR ? names[kind] : "unknown";
}
