/*
 * Implementation of the white-box hooks in alloc_testing.h. Owns nothing; only exposes the
 * zone lock and a thread's cache size to tests and benchmarks.
 */
#include "alloc_internal.h"
#include "alloc_testing.h"

void alloc_testing_zone_lock(bpfmm_alloc_t *a)
{
    zone_lock(a);
}

void alloc_testing_zone_unlock(bpfmm_alloc_t *a)
{
    zone_unlock(a, false);
}

unsigned alloc_testing_my_pcp_pages(bpfmm_alloc_t *a)
{
    struct pcp_slot *s = pcp_lookup(a);
    return s ? atomic_load_explicit(&s->count, memory_order_relaxed) : 0;
}

size_t alloc_testing_frame_size(void)
{
    return sizeof(struct frame);
}

void alloc_testing_zone_lock_raw(bpfmm_alloc_t *a)
{
    zlock_lock(&a->lock, alloc_thread_token());
}

void alloc_testing_zone_unlock_raw(bpfmm_alloc_t *a)
{
    zlock_unlock(&a->lock);
}
