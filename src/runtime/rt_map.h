/*
 * Internal map interface shared by the loader (which creates maps), the verifier (which needs
 * their shapes) and the interpreter (which calls them). One struct rt_map per BTF-defined map
 * and per global-data section (.data, .bss, .rodata: single-entry arrays).
 * Map implementations live in rt_map_*.c; this header owns only the interface.
 */
#ifndef BPFMM_RT_MAP_H
#define BPFMM_RT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_map;

struct rt_map_ops {
    /* Pointer to the value, or NULL. Async-signal-safe, lock-free. The pointer stays inside
     * this map's value memory for the map's lifetime (type-stable memory). */
    void *(*lookup)(struct rt_map *m, const void *key);
    /* flags: BPF_ANY / BPF_NOEXIST / BPF_EXIST. Async-signal-safe: returns -EBUSY rather than
     * wait for a lock held by an interrupted thread, -ENOMEM / -E2BIG when full. */
    int (*update)(struct rt_map *m, const void *key, const void *value, uint64_t flags);
    int (*delete)(struct rt_map *m, const void *key);
    int (*next_key)(struct rt_map *m, const void *key, void *next_key);
    /* True if [addr, addr + len) lies inside one value of this map. Async-signal-safe, O(1):
     * the interpreter uses it for accesses whose offset the verifier could not bound. */
    bool (*contains)(const struct rt_map *m, uintptr_t addr, size_t len);
    void (*destroy)(struct rt_map *m);
};

struct rt_map {
    char name[64];
    uint32_t type; /* enum bpfmm_rt_map_type */
    uint32_t key_size, value_size, max_entries, map_flags;
    uint32_t index;     /* in the object; what lddw src=5/6 imm refers to */
    bool global;        /* .data / .bss / .rodata */
    bool prog_readonly; /* programs may not write values (.rodata after load) */
    /* Global-data maps: the single value, so lddw src=6 can be resolved to an address. */
    void *global_data;
    const struct rt_map_ops *ops;
    void *impl;
    /* BTF type ids of key and value in the object's BTF (0 if unknown), for host formatting. */
    uint32_t btf_key_type_id, btf_value_type_id;
};

#endif
