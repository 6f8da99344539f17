/* A policy that loops ctx->address times: with a huge address it exhausts the instruction
 * budget, a run-time fault the host must answer with the candidate orders. */
#include <bpfmm/thp_policy.h>

SEC("bpfmm/thp_get_orders")
__u64 fault_loop(struct bpfmm_thp_ctx *ctx)
{
    volatile __u64 acc = 0;
    for (__u64 i = 0; i < ctx->address; i++)
        acc += i;
    return acc & 0;
}

char LICENSE[] SEC("license") = "GPL";
