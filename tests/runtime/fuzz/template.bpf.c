/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The fuzzer's map template: one object with every kind of map and global data, whose program
 * the fuzzer replaces with raw instructions (selector 0x03, fuzz_runtime.c), so the verifier's
 * map, lookup-result and global-data rules meet arbitrary code. Map indexes, as lddw src 5/6
 * see them: 0 arr (ARRAY, 24-byte values), 1 tbl (HASH, 8-byte keys), 2 lru (LRU_HASH), then
 * the global data sections in section order: 3 .data, 4 .rodata, 5 .bss (clang 14's layout).
 */
#include <bpfmm/thp_policy.h>

struct wide {
    __u64 a, b, c;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct wide);
} arr SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8);
    __type(key, __u64);
    __type(value, __u64);
} tbl SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} lru SEC(".maps");

__u64 data_word = 5;
__u64 bss_words[4];
const volatile __u64 knob = 7;

SEC("bpfmm/thp_get_orders")
__u64 fuzz_template(struct bpfmm_thp_ctx *ctx)
{
    __u32 k32 = ctx->pid & 3;
    __u64 k64 = ctx->tgid;
    struct wide *w = bpf_map_lookup_elem(&arr, &k32);
    __u64 *t = bpf_map_lookup_elem(&tbl, &k64);
    __u32 *l = bpf_map_lookup_elem(&lru, &k32);
    bss_words[k32] += data_word;
    return (w ? w->b : 0) + (t ? *t : 0) + (l ? *l : 0) + knob;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
