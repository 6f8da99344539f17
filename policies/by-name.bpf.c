/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * by-name: allowed orders per process name. The HASH map `orders_by_comm` maps a comm (as
 * the kernel truncates it: 15 characters + NUL) to an order mask, and is editable at run time
 * (`bpfmm map update ...`). Processes not in the map get `unmatched_orders` (default: no
 * opinion, i.e. every candidate order).
 */
#include <bpfmm/thp_policy.h>

struct comm_key {
    char comm[BPFMM_COMM_LEN];
} __attribute__((aligned(8)));

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct comm_key);
    __type(value, __u64);
} orders_by_comm SEC(".maps");

const volatile __u64 unmatched_orders = ~0ull;

SEC("bpfmm/thp_get_orders")
__u64 thp_by_name(struct bpfmm_thp_ctx *ctx)
{
    struct comm_key key;

    /* comm sits at an 8-aligned offset (64): two 8-byte loads instead of 16 byte loads. */
    __builtin_memcpy(key.comm, __builtin_assume_aligned(ctx->comm, 8), sizeof(key.comm));
    __u64 *orders = bpf_map_lookup_elem(&orders_by_comm, &key);
    if (orders)
        return ctx->orders & *orders;
    return ctx->orders & unmatched_orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
