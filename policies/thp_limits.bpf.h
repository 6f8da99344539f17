/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * khugepaged-style collapse limits shared by the shipped policies (default, khugepaged,
 * collapse-only). Mainline MADV_COLLAPSE ignores max_ptes_none/swap/shared, so a userspace
 * agent must enforce them itself: this is where bpfmm's shipped policies do.
 * Each including policy declares its own `const volatile` knobs with its own defaults and
 * passes them in; this header owns only the arithmetic, matching the kernel's definitions:
 *   none     = pages neither present nor swapped, plus zero-page mappings (none_or_zero)
 *   collapse is refused when none > max_ptes_none, swapped > max_ptes_swap,
 *   shared > max_ptes_shared, or any page is a guard marker.
 */
#ifndef BPFMM_THP_LIMITS_BPF_H
#define BPFMM_THP_LIMITS_BPF_H

#include <bpfmm/thp_policy.h>

struct thp_limits {
    __u32 max_ptes_none;
    __u32 max_ptes_swap;
    __u32 max_ptes_shared;
};

/* Orders allowed for collapsing ctx's range under the limits: the PMD order is removed when a
 * limit is exceeded; without range counts (range_pages == 0) there is nothing to judge and
 * the candidate orders pass unchanged. */
static __always_inline __u64 thp_limits_apply(const struct bpfmm_thp_ctx *ctx,
                                              const struct thp_limits *lim)
{
    __u64 orders = ctx->orders;
    __u32 pages = ctx->range_pages;

    if (!pages)
        return orders;
    if (ctx->nr_guard)
        return 0;

    __u32 present = ctx->nr_present;
    __u32 swapped = ctx->nr_swapped;
    __u32 mapped = present + swapped;
    __u32 none = (mapped < pages ? pages - mapped : 0) + ctx->nr_zero;

    if (none > lim->max_ptes_none || swapped > lim->max_ptes_swap ||
        ctx->nr_shared > lim->max_ptes_shared)
        return orders & ~BPFMM_ORDER(ctx->pmd_order);
    return orders;
}

static __always_inline int thp_is_collapse(const struct bpfmm_thp_ctx *ctx)
{
    return ctx->type == BPFMM_THP_KHUGEPAGED || ctx->type == BPFMM_THP_FORCED_COLLAPSE ||
           ctx->type == BPFMM_THP_QUERY;
}

#endif
