/*
 * The blocking half of the zone lock (alloc_lock.h): a short spin, then sleeping on a futex.
 * Only the blocking API gets here; the try/nolock paths use zlock_trylock() alone. Waking is a
 * futex syscall, which is async-signal-safe, so a try-path holder may unlock from a handler.
 */
#include "alloc_lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN_TRIES 200

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

void zlock_lock_slow(struct zlock *l, uintptr_t token)
{
    for (int i = 0; i < SPIN_TRIES; i++) {
        cpu_relax();
        if (zlock_trylock(l, token))
            return;
    }
    /* Drepper's mutex: mark the word contended (2) and sleep while it stays so. */
    uint32_t c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    while (c != 0) {
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    }
    atomic_store_explicit(&l->owner, token, memory_order_relaxed);
}

void zlock_wake(struct zlock *l)
{
    syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
