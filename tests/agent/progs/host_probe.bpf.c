/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A test policy for live_agent_fake_host: allows the PMD order only when the agent's host
 * helpers say so - MemAvailable at least min_avail bytes, and the PMD order enabled in sysfs -
 * and reports what it saw with bpf_printk (the agent's trace callback).
 */
#include <bpfmm/thp_policy.h>

const volatile __u64 min_avail = 0;

SEC("bpfmm/thp_get_orders")
__u64 host_probe(struct bpfmm_thp_ctx *ctx)
{
    __u64 avail = bpfmm_mem_available();
    __u64 sysfs = bpfmm_sysfs_thp_orders();

    bpf_printk("avail %llu sysfs %llx", avail, sysfs);
    if (avail < min_avail)
        return 0;
    if (!(sysfs & BPFMM_ORDER(ctx->pmd_order)))
        return 0;
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
