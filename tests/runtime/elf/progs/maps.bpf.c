/* Maps of every supported type, driven from the host through a writable ctx
 * (struct elf_test_ctx): the program performs one map operation and reports the result. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "elf_test.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} array SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} lru SEC(".maps");

/* For the host's parse/format: a string key and a struct value. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct name_key);
    __type(value, struct pair);
    __uint(max_entries, 16);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} names SEC(".maps");

/* One copy of the operation per map, so that every helper call sees one map (a verifier may
 * refuse a register that holds different maps on different paths). */
#define MAP_OP(NAME, MAP)                                                                          \
    static __always_inline void NAME(struct elf_test_ctx *ctx)                                     \
    {                                                                                              \
        __u32 key = ctx->key;                                                                      \
        __u64 value = ctx->value;                                                                  \
        if (ctx->op == OP_LOOKUP) {                                                                \
            __u64 *v = bpf_map_lookup_elem(&MAP, &key);                                            \
            if (!v) {                                                                              \
                ctx->result = -2; /* -ENOENT */                                                    \
                return;                                                                            \
            }                                                                                      \
            ctx->value = *v;                                                                       \
            ctx->result = 0;                                                                       \
        } else if (ctx->op == OP_UPDATE) {                                                         \
            ctx->result = bpf_map_update_elem(&MAP, &key, &value, ctx->flags);                     \
        } else if (ctx->op == OP_DELETE) {                                                         \
            ctx->result = bpf_map_delete_elem(&MAP, &key);                                         \
        } else {                                                                                   \
            ctx->result = -22;                                                                     \
        }                                                                                          \
    }

MAP_OP(op_array, array)
MAP_OP(op_hash, hash)
MAP_OP(op_lru, lru)

SEC("bpfmm/test")
__u64 map_ops(struct elf_test_ctx *ctx)
{
    if (ctx->map == MAP_ARRAY)
        op_array(ctx);
    else if (ctx->map == MAP_HASH)
        op_hash(ctx);
    else
        op_lru(ctx);
    return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
