/* Reads 8 bytes just past struct bpfmm_thp_ctx (offset 208): must be rejected at load. */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 ctx_oob(struct bpfmm_thp_ctx *ctx)
{
    return *(volatile __u64 *)((char *)ctx + 208);
}

char LICENSE[] SEC("license") = "GPL";
