/*
 * BPF_MAP_TYPE_ARRAY, also used for global data (.data/.bss/.rodata: one entry whose value is
 * the section). Values are preallocated in one zeroed arena block, each rounded up to 8 bytes
 * as in Linux, and never move: lookup is an index computation (lock-free, signal-safe), update
 * copies word by word with atomic 8-byte stores (a reader may see a mix of old and new words,
 * never a torn word - Linux gives the same guarantee), delete is -EINVAL. Owns nothing else.
 */
#include "rt_map_impl.h"

#include "rt_obj.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

struct array_impl {
    bpfmm_alloc_t *a;
    int64_t pfn;
    unsigned order;
    unsigned char *base;
    uint64_t elem_size; /* value_size rounded up to 8 */
};

static void *array_lookup(struct rt_map *m, const void *key)
{
    struct array_impl *ai = m->impl;
    uint32_t idx;
    memcpy(&idx, key, sizeof(idx));
    if (idx >= m->max_entries)
        return NULL;
    return ai->base + (uint64_t)idx * ai->elem_size;
}

static int array_update(struct rt_map *m, const void *key, const void *value, uint64_t flags)
{
    if (flags > BPF_EXIST)
        return -EINVAL;
    uint32_t idx;
    memcpy(&idx, key, sizeof(idx));
    if (idx >= m->max_entries)
        return -E2BIG;
    if (flags == BPF_NOEXIST)
        return -EEXIST; /* every index exists */
    struct array_impl *ai = m->impl;
    rt_map_copy_in(ai->base + (uint64_t)idx * ai->elem_size, value, m->value_size);
    return 0;
}

static int array_delete(struct rt_map *m, const void *key)
{
    return -EINVAL; /* array elements cannot be deleted (Linux) */
}

static int array_next_key(struct rt_map *m, const void *key, void *next_key)
{
    uint32_t idx = 0, next;
    if (key)
        memcpy(&idx, key, sizeof(idx));
    if (!key || idx >= m->max_entries)
        next = 0;
    else if (idx == m->max_entries - 1)
        return -ENOENT;
    else
        next = idx + 1;
    memcpy(next_key, &next, sizeof(next));
    return 0;
}

static bool array_contains(const struct rt_map *m, uintptr_t addr, size_t len)
{
    const struct array_impl *ai = m->impl;
    uintptr_t base = (uintptr_t)ai->base;
    uint64_t total = ai->elem_size * m->max_entries;
    if (addr < base || addr - base >= total || len > m->value_size)
        return false;
    return (addr - base) % ai->elem_size + len <= m->value_size;
}

static void array_destroy(struct rt_map *m)
{
    struct array_impl *ai = m->impl;
    if (!ai)
        return;
    bpfmm_alloc_free_pages(ai->a, (uint64_t)ai->pfn, ai->order);
    free(ai);
    m->impl = NULL;
    m->global_data = NULL;
}

static const struct rt_map_ops array_ops = {
    .lookup = array_lookup,
    .update = array_update,
    .delete = array_delete,
    .next_key = array_next_key,
    .contains = array_contains,
    .destroy = array_destroy,
};

int rt_map_array_plan(const struct rt_map *m, struct rt_map_need *need, char *log, size_t log_size)
{
    if (m->key_size != 4) {
        rt_log(log, log_size, "map '%s': an ARRAY map's key is a 4-byte index, not %u bytes",
               m->name, m->key_size);
        return -EINVAL;
    }
    uint32_t allowed = BPF_F_RDONLY_PROG | BPF_F_MMAPABLE | BPF_F_NUMA_NODE;
    if (m->map_flags & ~allowed) {
        rt_log(log, log_size, "map '%s': map_flags 0x%x not supported for ARRAY (allowed: 0x%x)",
               m->name, m->map_flags & ~allowed, allowed);
        return -EINVAL;
    }
    uint64_t bytes = rt_round8(m->value_size) * m->max_entries;
    if (m->value_size > RT_MAP_MAX_VALUE_SIZE * 64 ||
        bytes > (RT_ARENA_MAX_PAGES << BPFMM_PAGE_SHIFT) / 2) {
        rt_log(log, log_size,
               "map '%s': %u entries of %u bytes (%llu bytes) exceed the per-object limit of "
               "512 MiB for one array",
               m->name, m->max_entries, m->value_size, (unsigned long long)bytes);
        return -E2BIG;
    }
    need->max_order = rt_order_for_bytes(bytes);
    need->pages = 1ull << need->max_order;
    return 0;
}

int rt_map_array_create(struct rt_map *m, bpfmm_alloc_t *a, const void *init, size_t init_size)
{
    struct array_impl *ai = calloc(1, sizeof(*ai));
    if (!ai)
        return -ENOMEM;
    ai->a = a;
    ai->elem_size = rt_round8(m->value_size);
    uint64_t bytes = ai->elem_size * m->max_entries;
    ai->base = rt_arena_block(a, bytes, &ai->pfn, &ai->order);
    if (!ai->base) {
        int err = errno;
        free(ai);
        return -(err ? err : ENOMEM);
    }
    /* The allocator zeroes on request; make the contract explicit for .bss and padding. */
    memset(ai->base, 0, bytes);
    if (init && init_size)
        memcpy(ai->base, init, init_size < m->value_size ? init_size : m->value_size);
    m->impl = ai;
    m->ops = &array_ops;
    if (m->global)
        m->global_data = ai->base;
    return 0;
}
