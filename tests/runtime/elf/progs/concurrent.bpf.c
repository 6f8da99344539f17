/* A large HASH and a small LRU_HASH for the concurrency test, and a program that performs one
 * operation on either (struct elf_test_ctx: map 1 = hash, 2 = lru). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "elf_test.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4096);
} hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} lru SEC(".maps");

#define MAP_OP(NAME, MAP)                                                                          \
    static __always_inline void NAME(struct elf_test_ctx *ctx)                                     \
    {                                                                                              \
        __u32 key = ctx->key;                                                                      \
        __u64 value = ctx->value;                                                                  \
        if (ctx->op == OP_LOOKUP)                                                                  \
            ctx->result = bpf_map_lookup_elem(&MAP, &key) ? 0 : -2;                                \
        else if (ctx->op == OP_UPDATE)                                                             \
            ctx->result = bpf_map_update_elem(&MAP, &key, &value, ctx->flags);                     \
        else                                                                                       \
            ctx->result = bpf_map_delete_elem(&MAP, &key);                                         \
    }

MAP_OP(op_hash, hash)
MAP_OP(op_lru, lru)

SEC("bpfmm/test")
__u64 map_ops(struct elf_test_ctx *ctx)
{
    if (ctx->map == MAP_LRU)
        op_lru(ctx);
    else
        op_hash(ctx);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
