/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * default: the recommended policy. Collapse a PMD range when at least half of it is resident
 * (max_ptes_none 255), none of it is swapped (max_ptes_swap 0) and at most half of it is
 * shared (max_ptes_shared 256). Page faults and swap-in keep the kernel's own choice.
 * Every knob is a `const volatile` in .rodata: `--rodata max_ptes_none=128`.
 */
#include "thp_limits.bpf.h"

const volatile __u32 max_ptes_none = 255;
const volatile __u32 max_ptes_swap = 0;
const volatile __u32 max_ptes_shared = 256;
/* 0: forced collapses (bpfmm collapse) ignore the limits, as mainline MADV_COLLAPSE does. */
const volatile __u8 limit_forced_collapse = 1;

SEC("bpfmm/thp_get_orders")
__u64 thp_default(struct bpfmm_thp_ctx *ctx)
{
    struct thp_limits lim = {
        .max_ptes_none = max_ptes_none,
        .max_ptes_swap = max_ptes_swap,
        .max_ptes_shared = max_ptes_shared,
    };

    if (ctx->type == BPFMM_THP_FORCED_COLLAPSE && !limit_forced_collapse)
        return ctx->orders;
    if (thp_is_collapse(ctx))
        return thp_limits_apply(ctx, &lim);
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
