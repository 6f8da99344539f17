/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A policy that traces every decision (tgid and type) and allows every order: the daemon's
 * trace test checks that trace_printk output reaches the agent's log. */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 tracer(struct bpfmm_thp_ctx *ctx)
{
    bpf_printk("decision for tgid %u type %u", ctx->tgid, ctx->type);
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
