/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* never: no huge pages of any order, at fault or by collapse. */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 thp_never(struct bpfmm_thp_ctx *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
