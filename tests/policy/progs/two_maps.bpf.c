/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Test policy: a per-type table chosen by ctx->type, falling back to the candidate orders.
 * clang -O2 merges the two lookups into one call on "fault_map or bg_map" and the two returns
 * into one load through "the value or &ctx->orders": after the merge the pointer is into a map
 * value on one path and into the ctx on the other (runtime_policy_two_maps).
 */
#include <bpfmm/thp_policy.h>

struct rule {
    __u64 orders;
    __u64 hits;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct rule);
} fault_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct rule);
} bg_map SEC(".maps");

SEC("bpfmm/thp_get_orders")
__u64 thp_two_maps(struct bpfmm_thp_ctx *ctx)
{
    __u32 key = ctx->tgid & 63;
    struct rule *r;

    if (ctx->type == BPFMM_THP_PAGEFAULT)
        r = bpf_map_lookup_elem(&fault_map, &key);
    else
        r = bpf_map_lookup_elem(&bg_map, &key);
    if (!r)
        return ctx->orders;
    __sync_fetch_and_add(&r->hits, 1);
    return r->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
