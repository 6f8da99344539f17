/*
 * The zone lock (also used by slab caches): one 32-bit atomic word, so that trylock is a single
 * compare-and-swap and therefore async-signal-safe, while the blocking path may spin briefly
 * and then sleep on a futex (0 = free, 1 = held, 2 = held with sleepers). The holder's thread
 * token is recorded so a trylock that fails can tell whether it interrupted its own thread.
 * This header owns the lock word protocol only, not what the lock protects.
 */
#ifndef BPFMM_ALLOC_LOCK_H
#define BPFMM_ALLOC_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct zlock {
    _Atomic uint32_t word;
    _Atomic uintptr_t owner; /* holder's thread token, 0 while free (best effort) */
};

static inline bool zlock_trylock(struct zlock *l, uintptr_t token)
{
    uint32_t z = 0;
    if (atomic_load_explicit(&l->word, memory_order_relaxed) != 0)
        return false;
    if (!atomic_compare_exchange_strong_explicit(&l->word, &z, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    atomic_store_explicit(&l->owner, token, memory_order_relaxed);
    return true;
}

/* True if the lock is currently held by the thread with this token. */
static inline bool zlock_held_by(const struct zlock *l, uintptr_t token)
{
    return atomic_load_explicit((_Atomic uintptr_t *)&l->owner, memory_order_relaxed) == token;
}

void zlock_lock_slow(struct zlock *l, uintptr_t token);
void zlock_wake(struct zlock *l);

static inline void zlock_lock(struct zlock *l, uintptr_t token)
{
    if (!zlock_trylock(l, token))
        zlock_lock_slow(l, token);
}

static inline void zlock_unlock(struct zlock *l)
{
    atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
    if (atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2)
        zlock_wake(l);
}

#endif
