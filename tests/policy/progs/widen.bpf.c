/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Test policy that tries to widen: it allows every order, candidate or not, plus ctx->address's
 * bits (so the answer is not a constant the host could special-case). */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 thp_widen(struct bpfmm_thp_ctx *ctx)
{
    return ~0ull ^ (ctx->address & 1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
