/*
 * White-box hooks for bpfmm's own tests and benchmarks (tests/alloc, bench/bench_alloc.c):
 * holding an allocator's zone lock from a chosen thread, to measure or exercise what the
 * try/nolock paths do while another thread holds it. Not part of the public API; nothing in
 * the library calls these.
 */
#ifndef BPFMM_ALLOC_TESTING_H
#define BPFMM_ALLOC_TESTING_H

#include "bpfmm/alloc.h"

#include <stdbool.h>

/* Blocking: takes the zone lock as the blocking API would (and drains deferred frees). */
void alloc_testing_zone_lock(bpfmm_alloc_t *a);
/* Releases it (merging frees deferred meanwhile). */
void alloc_testing_zone_unlock(bpfmm_alloc_t *a);
/* The raw lock word only: no deferred drain on either side, so a test can leave frees deferred
 * for the next (try-path, bounded) lock holder. */
void alloc_testing_zone_lock_raw(bpfmm_alloc_t *a);
void alloc_testing_zone_unlock_raw(bpfmm_alloc_t *a);
/* Holds / releases every shard lock of a slab cache (blocking), to exercise its deferred
 * frees and its -EAGAIN; or only the calling thread's home shard (unlock from the same thread). */
void alloc_testing_slab_lock(bpfmm_slab_t *s);
void alloc_testing_slab_unlock(bpfmm_slab_t *s);
void alloc_testing_slab_lock_home(bpfmm_slab_t *s);
void alloc_testing_slab_unlock_home(bpfmm_slab_t *s);
/* Pages currently cached in the calling thread's cache for a (0 without a slot). */
unsigned alloc_testing_my_pcp_pages(bpfmm_alloc_t *a);
/* sizeof the per-frame metadata in this build. */
size_t alloc_testing_frame_size(void);

#endif
