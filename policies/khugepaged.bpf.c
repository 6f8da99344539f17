/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * khugepaged: exactly the kernel's default khugepaged limits (max_ptes_none 511,
 * max_ptes_swap 64, max_ptes_shared 256), applied to every collapse, forced ones included.
 * Page faults and swap-in keep the kernel's own choice.
 */
#include "thp_limits.bpf.h"

const volatile __u32 max_ptes_none = 511;
const volatile __u32 max_ptes_swap = 64;
const volatile __u32 max_ptes_shared = 256;

SEC("bpfmm/thp_get_orders")
__u64 thp_khugepaged(struct bpfmm_thp_ctx *ctx)
{
    struct thp_limits lim = {
        .max_ptes_none = max_ptes_none,
        .max_ptes_swap = max_ptes_swap,
        .max_ptes_shared = max_ptes_shared,
    };

    if (thp_is_collapse(ctx))
        return thp_limits_apply(ctx, &lim);
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
