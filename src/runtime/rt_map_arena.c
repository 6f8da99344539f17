/*
 * Map memory: every object that has maps gets one backed bpfmm allocator (the "arena"), sized
 * from its map definitions before any map is created, so that map memory comes from the
 * never-blocking allocator of include/bpfmm/alloc.h and is bounded per object. Also dispatches
 * planning/creation to the map types and holds the word-wise copy helpers. Map semantics live
 * in rt_map_array.c and rt_map_hash.c.
 */
#include "rt_map_impl.h"

#include "rt_btf.h"
#include "rt_obj.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>

unsigned rt_order_for_bytes(uint64_t bytes)
{
    uint64_t pages = (bytes + BPFMM_PAGE_SIZE - 1) >> BPFMM_PAGE_SHIFT;
    unsigned order = 0;
    while ((1ull << order) < pages)
        order++;
    return order;
}

bpfmm_alloc_t *rt_arena_create(uint64_t nr_pages, unsigned max_order, char *log, size_t log_size)
{
    if (max_order < 1)
        max_order = 1;
    struct bpfmm_alloc_opts o = {
        .sz = sizeof(o),
        .nr_frames = nr_pages,
        .max_order = max_order,
        .backed = true,
        /* Map memory is taken at creation (blocking) or by slab try paths; per-thread page
         * caches would only strand pages, so the arena has none and its sizing is exact. */
        .pcp_slots = BPFMM_ALLOC_NO_PCP,
    };
    bpfmm_alloc_t *a = bpfmm_alloc_create(&o);
    if (!a) {
        int err = errno;
        rt_log(log, log_size, "cannot create the map arena (%llu pages, max order %u): %s",
               (unsigned long long)nr_pages, max_order,
               bpfmm_alloc_last_error()[0] ? bpfmm_alloc_last_error() : strerror(err));
        errno = err ? err : ENOMEM;
    }
    return a;
}

void *rt_arena_block(bpfmm_alloc_t *a, uint64_t bytes, int64_t *pfn, unsigned *order)
{
    *order = rt_order_for_bytes(bytes);
    *pfn = bpfmm_alloc_pages(a, *order, BPFMM_GFP_ZERO);
    if (*pfn < 0) {
        errno = (int)-*pfn;
        return NULL;
    }
    void *p = bpfmm_alloc_pfn_to_addr(a, (uint64_t)*pfn);
    if (!p) {
        bpfmm_alloc_free_pages(a, (uint64_t)*pfn, *order);
        errno = EFAULT;
        return NULL;
    }
    return p;
}

int rt_map_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size)
{
    memset(need, 0, sizeof(*need));
    if (m->value_size == 0 || m->max_entries == 0) {
        rt_log(log, log_size, "map '%s': value size and max_entries must be > 0", m->name);
        return -EINVAL;
    }
    switch (m->type) {
    case BPF_MAP_TYPE_ARRAY:
        return rt_map_array_plan(m, need, log, log_size);
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
        return rt_map_hash_plan(m, need, log, log_size);
    default: {
        const char *tn = rt_btf_map_type_name(m->type);
        rt_log(log, log_size, "map '%s': map type %s (%u) is not supported", m->name,
               tn ? tn : "unknown", m->type);
        return -EOPNOTSUPP;
    }
    }
}

int rt_map_create(struct rt_map *m, bpfmm_alloc_t *a, const void *init, size_t init_size, char *log,
                  size_t log_size)
{
    int err;
    if (m->type == BPF_MAP_TYPE_ARRAY)
        err = rt_map_array_create(m, a, init, init_size);
    else
        err = rt_map_hash_create(m, a);
    if (err)
        rt_log(log, log_size, "map '%s': cannot allocate its memory from the arena: %s", m->name,
               strerror(-err));
    return err;
}

void rt_map_copy_in(void *dst, const void *src, size_t n)
{
    uint64_t *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i < 8 ? n - i : 8);
        __atomic_store_n(&d[i / 8], w, __ATOMIC_RELEASE);
    }
}

void rt_map_copy_out(void *dst, const void *src, size_t n)
{
    const uint64_t *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = __atomic_load_n(&s[i / 8], __ATOMIC_ACQUIRE);
        memcpy(d + i, &w, n - i < 8 ? n - i : 8);
    }
}
