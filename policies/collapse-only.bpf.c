/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * collapse-only: no huge pages at page fault or swap-in; huge pages only by background
 * collapse (seed 000 patch 5, "enable THP allocation exclusively through khugepaged"), under
 * the default policy's limits. Under `bpfmm run` the no-THP-at-fault half is enforced with
 * prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED), which still allows collapse.
 */
#include "thp_limits.bpf.h"

const volatile __u32 max_ptes_none = 255;
const volatile __u32 max_ptes_swap = 0;
const volatile __u32 max_ptes_shared = 256;

SEC("bpfmm/thp_get_orders")
__u64 thp_collapse_only(struct bpfmm_thp_ctx *ctx)
{
    struct thp_limits lim = {
        .max_ptes_none = max_ptes_none,
        .max_ptes_swap = max_ptes_swap,
        .max_ptes_shared = max_ptes_shared,
    };

    if (ctx->type == BPFMM_THP_PAGEFAULT || ctx->type == BPFMM_THP_SWAPIN)
        return 0;
    if (thp_is_collapse(ctx))
        return thp_limits_apply(ctx, &lim);
    return ctx->orders;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
