/*
 * Per-thread page caches, the userspace stand-in for the kernel's per-CPU pages (pcp): a fixed
 * array of slots per allocator, each claimed lock-free by a thread on its first blocking call
 * and released (drained back to the zone) when the thread exits. A slot is guarded by a local
 * trylock holding its holder's thread token (local_trylock_t in seed 003): a signal handler
 * that interrupted its own thread inside the cache sees its own token and backs off.
 * Also owns the registry of live allocators, which lets a thread-exit destructor tell a live
 * allocator from a destroyed one. It does not own the buddy lists (buddy.c).
 */
#include "alloc_internal.h"

#include <pthread.h>
#include <sched.h>

#define TLS_ENTS 16
#define TLS_IE   __attribute__((tls_model("initial-exec")))

/* A thread's view of the allocators it has used. Written only by the blocking path of the
 * owning thread; read by its signal handlers (hence the signal fences and the field order). */
/* Fields are relaxed atomics: the only other reader is this thread's signal handler, for which
 * C11 promises only lock-free atomics; on the usual targets they compile to plain moves. */
struct tls_ent {
    _Atomic(const struct bpfmm_alloc *) a;
    _Atomic uint64_t id;
    _Atomic(struct pcp_slot *) slot; /* NULL: no slot was free */
    uint64_t gen;                    /* a->slot_gen when claiming failed (blocking path only) */
};
static __thread struct tls_ent tls_ent[TLS_ENTS] TLS_IE;
static __thread _Atomic unsigned tls_nr TLS_IE;

#define LD(x)    atomic_load_explicit(&(x), memory_order_relaxed)
#define ST(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
static __thread char tls_token TLS_IE; /* its address is the thread's token */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bpfmm_alloc *reg_head;
static uint64_t reg_next_id = 1;
static pthread_key_t tls_key;
static pthread_once_t tls_key_once = PTHREAD_ONCE_INIT;

uintptr_t alloc_thread_token(void)
{
    return (uintptr_t)&tls_token;
}

int alloc_registry_add(struct bpfmm_alloc *a)
{
    pthread_mutex_lock(&reg_lock);
    a->id = reg_next_id++;
    a->reg_next = reg_head;
    reg_head = a;
    pthread_mutex_unlock(&reg_lock);
    return 0;
}

void alloc_registry_del(struct bpfmm_alloc *a)
{
    pthread_mutex_lock(&reg_lock);
    for (struct bpfmm_alloc **p = &reg_head; *p; p = &(*p)->reg_next) {
        if (*p == a) {
            *p = a->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

/* reg_lock held. */
static bool registry_alive(const struct bpfmm_alloc *a, uint64_t id)
{
    for (struct bpfmm_alloc *p = reg_head; p; p = p->reg_next)
        if (p == a && p->id == id)
            return true;
    return false;
}

bool pcp_trylock(struct pcp_slot *s)
{
    uintptr_t z = 0;
    if (atomic_load_explicit(&s->lock, memory_order_relaxed) != 0)
        return false;
    return atomic_compare_exchange_strong_explicit(&s->lock, &z, alloc_thread_token(),
                                                   memory_order_acquire, memory_order_relaxed);
}

void pcp_lock(struct pcp_slot *s)
{
    unsigned spins = 0;
    while (!pcp_trylock(s)) {
        if (++spins > 64)
            sched_yield();
    }
}

void pcp_unlock(struct pcp_slot *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

uint32_t pcp_pop(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned order)
{
    uint32_t pfn = s->head[order];
    if (pfn == NONE)
        return NONE;
    s->head[order] = a->frames[pfn].next;
    atomic_store_explicit(&s->nr[order],
                          atomic_load_explicit(&s->nr[order], memory_order_relaxed) - 1,
                          memory_order_relaxed);
    atomic_store_explicit(&s->count,
                          atomic_load_explicit(&s->count, memory_order_relaxed) - (1u << order),
                          memory_order_relaxed);
    return pfn;
}

void pcp_push(struct bpfmm_alloc *a, struct pcp_slot *s, uint32_t pfn, unsigned order)
{
    struct frame *f = &a->frames[pfn];
    f->next = s->head[order];
    fset(f, fs_make(FK_PCP, order));
    s->head[order] = pfn;
    atomic_store_explicit(&s->nr[order],
                          atomic_load_explicit(&s->nr[order], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&s->count,
                          atomic_load_explicit(&s->count, memory_order_relaxed) + (1u << order),
                          memory_order_relaxed);
}

void pcp_refill(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned order)
{
    unsigned blocks = a->pcp_batch >> order;
    if (blocks == 0)
        blocks = 1;
    for (unsigned i = 0; i < blocks; i++) {
        uint32_t pfn = buddy_take(a, order, fs_make(FK_PCP, order));
        if (pfn == NONE)
            break;
        pcp_push(a, s, pfn, order);
    }
}

void pcp_flush(struct bpfmm_alloc *a, struct pcp_slot *s, unsigned target_pages)
{
    unsigned norders = (unsigned)a->pcp_max_order + 1, o = 0, empty = 0;
    while (atomic_load_explicit(&s->count, memory_order_relaxed) > target_pages &&
           empty < norders) { /* all lists empty: a damaged count, for check() to report */
        uint32_t pfn = pcp_pop(a, s, o);
        if (pfn != NONE) {
            buddy_free(a, pfn, o);
            empty = 0;
        } else {
            o = (o + 1) % norders;
            empty++;
        }
    }
}

void pcp_lock_all(struct bpfmm_alloc *a)
{
    for (unsigned i = 0; i < a->nr_slots; i++)
        pcp_lock(&a->slots[i]);
}

void pcp_unlock_all(struct bpfmm_alloc *a)
{
    for (unsigned i = a->nr_slots; i-- > 0;)
        pcp_unlock(&a->slots[i]);
}

void pcp_drain_all(struct bpfmm_alloc *a)
{
    /* Lock order slot -> zone, one slot at a time, so threads working in their own slot are
     * held up for one flush at most. */
    for (unsigned i = 0; i < a->nr_slots; i++) {
        struct pcp_slot *s = &a->slots[i];
        if (atomic_load_explicit(&s->count, memory_order_relaxed) == 0)
            continue;
        pcp_lock(s);
        zone_lock(a);
        pcp_flush(a, s, 0);
        zone_unlock(a, false);
        pcp_unlock(s);
    }
    zone_lock(a); /* drains deferred frees */
    zone_unlock(a, false);
}

/* Thread exit: give this thread's slots back to the allocators that still exist. */
static void tls_destructor(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&reg_lock);
    for (unsigned i = 0; i < LD(tls_nr); i++) {
        struct tls_ent *e = &tls_ent[i];
        if (LD(e->a) && LD(e->slot) && registry_alive(LD(e->a), LD(e->id))) {
            struct bpfmm_alloc *a = (struct bpfmm_alloc *)LD(e->a);
            struct pcp_slot *s = LD(e->slot);
            pcp_lock(s);
            zone_lock(a);
            pcp_flush(a, s, 0);
            zone_unlock(a, false);
            atomic_store_explicit(&s->claimed, 0, memory_order_release);
            atomic_fetch_add_explicit(&a->slot_gen, 1, memory_order_relaxed);
            pcp_unlock(s);
        }
        ST(e->a, NULL);
    }
    atomic_signal_fence(memory_order_seq_cst);
    ST(tls_nr, 0);
    pthread_mutex_unlock(&reg_lock);
}

static void tls_key_create(void)
{
    pthread_key_create(&tls_key, tls_destructor);
}

struct pcp_slot *pcp_lookup(const struct bpfmm_alloc *a)
{
    unsigned n = LD(tls_nr);
    atomic_signal_fence(memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        struct tls_ent *e = &tls_ent[i];
        if (LD(e->a) == a) {
            atomic_signal_fence(memory_order_acquire);
            if (LD(e->id) == a->id)
                return LD(e->slot);
        }
    }
    return NULL;
}

static struct pcp_slot *claim_slot(struct bpfmm_alloc *a)
{
    for (unsigned i = 0; i < a->nr_slots; i++) {
        uint32_t z = 0;
        if (atomic_load_explicit(&a->slots[i].claimed, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&a->slots[i].claimed, &z, 1,
                                                    memory_order_acquire, memory_order_relaxed))
            return &a->slots[i];
    }
    return NULL;
}

static struct pcp_slot *pcp_get_slow(struct bpfmm_alloc *a)
{
    struct tls_ent *e = NULL;
    for (unsigned i = 0; i < LD(tls_nr); i++) {
        if (LD(tls_ent[i].a) == a && LD(tls_ent[i].id) == a->id) {
            e = &tls_ent[i];
            break;
        }
    }
    if (e) {
        /* Known, but no slot was free: retry only after some slot was released. */
        uint64_t gen = atomic_load_explicit(&a->slot_gen, memory_order_relaxed);
        if (e->gen == gen)
            return NULL;
        e->gen = gen;
        struct pcp_slot *s = claim_slot(a);
        ST(e->slot, s);
        return s;
    }

    pthread_once(&tls_key_once, tls_key_create);
    /* A free entry, or one whose allocator was destroyed. */
    pthread_mutex_lock(&reg_lock);
    for (unsigned i = 0; i < LD(tls_nr); i++) {
        if (!LD(tls_ent[i].a) || !registry_alive(LD(tls_ent[i].a), LD(tls_ent[i].id))) {
            e = &tls_ent[i];
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    bool append = false;
    if (!e) {
        if (LD(tls_nr) == TLS_ENTS)
            return NULL; /* this thread uses too many allocators: zone path for this one */
        e = &tls_ent[LD(tls_nr)];
        append = true;
    }
    /* A handler matches on a and id; invalidate before rewriting the rest. */
    ST(e->a, NULL);
    atomic_signal_fence(memory_order_seq_cst);
    e->gen = atomic_load_explicit(&a->slot_gen, memory_order_relaxed);
    struct pcp_slot *s = claim_slot(a);
    ST(e->slot, s);
    ST(e->id, a->id);
    atomic_signal_fence(memory_order_seq_cst);
    ST(e->a, a);
    atomic_signal_fence(memory_order_seq_cst);
    if (append)
        ST(tls_nr, LD(tls_nr) + 1);
    if (s)
        pthread_setspecific(tls_key, (void *)1);
    return s;
}

struct pcp_slot *pcp_get(struct bpfmm_alloc *a)
{
    if (a->pcp_max_order < 0)
        return NULL;
    unsigned n = LD(tls_nr);
    for (unsigned i = 0; i < n; i++) {
        struct tls_ent *e = &tls_ent[i];
        struct pcp_slot *s;
        if (LD(e->a) == a && LD(e->id) == a->id && (s = LD(e->slot)))
            return s;
    }
    return pcp_get_slow(a);
}
