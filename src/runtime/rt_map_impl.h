/*
 * Internal interface between the object code and the map implementations (rt_map_array.c,
 * rt_map_hash.c, rt_map_arena.c): how much arena memory a map needs, how it is created in an
 * object's arena, and the word-wise copy helpers every implementation uses so that values are
 * never copied with torn 8-byte words (and concurrent copies are visible to TSan as atomics).
 * Copies are release stores / acquire loads (plain moves on x86-64), which is what the hash
 * map's per-element sequence count relies on instead of fences (TSan does not model fences).
 * The VM sees only rt_map.h.
 */
#ifndef BPFMM_RT_MAP_IMPL_H
#define BPFMM_RT_MAP_IMPL_H

#include "rt_map.h"

#include <bpfmm/alloc.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAP_MAX_KEY_SIZE   512u
#define RT_MAP_MAX_VALUE_SIZE (1u << 20)
#define RT_ARENA_MAX_PAGES    (1ull << 18) /* 1 GiB per object */

/* Arena pages a map needs: blocks counted at their power-of-two size, slab memory with its
 * overhead. max_order is the order of the largest single block. */
struct rt_map_need {
    uint64_t pages;
    unsigned max_order;
};

/* Checks type, sizes and flags (message names the map); fills *need. */
int rt_map_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size);
/* Creates the map's memory in arena a. init (global data): initial value bytes, may be NULL. */
int rt_map_create(struct rt_map *m, bpfmm_alloc_t *a, const void *init, size_t init_size, char *log,
                  size_t log_size);

/* A backed arena for nr_pages with blocks up to max_order (rt_map_arena.c). */
bpfmm_alloc_t *rt_arena_create(uint64_t nr_pages, unsigned max_order, char *log, size_t log_size);
/* A zeroed block of at least bytes, from the blocking allocator (creation time only). */
void *rt_arena_block(bpfmm_alloc_t *a, uint64_t bytes, int64_t *pfn, unsigned *order);
unsigned rt_order_for_bytes(uint64_t bytes);

int rt_map_array_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size);
int rt_map_array_create(struct rt_map *m, bpfmm_alloc_t *a, const void *init, size_t init_size);
int rt_map_hash_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size);
int rt_map_hash_create(struct rt_map *m, bpfmm_alloc_t *a);
/* Host lookup of a hash map: a consistent copy of the value even if the element is deleted and
 * recycled concurrently (ops->lookup returns a pointer, which programs use in place). */
int rt_map_hash_lookup_copy(struct rt_map *m, const void *key, void *value);
/* Tests only: takes (lock) or releases the bucket lock of key, as an interrupted writer would
 * hold it, to show that other callers get -EBUSY instead of waiting. */
bool rt_map_hash_test_lock(struct rt_map *m, const void *key, bool lock);

/* dst is 8-byte aligned with room for n rounded up to 8 (the padding is zeroed). */
void rt_map_copy_in(void *dst, const void *src, size_t n);
/* src is 8-byte aligned. */
void rt_map_copy_out(void *dst, const void *src, size_t n);

static inline uint64_t rt_round8(uint64_t n)
{
    return (n + 7) & ~7ull;
}

#endif
