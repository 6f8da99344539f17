/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* always: every candidate order, at fault and by collapse, whatever the range holds
 * (mainline MADV_COLLAPSE behaviour: one resident page becomes a full huge page). */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 thp_always(struct bpfmm_thp_ctx *ctx)
{
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
