/* bpf-to-bpf calls: two programs sharing .text sub-programs, nested static calls and a call to
 * a global function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 depth_seen;

static __noinline __u64 leaf(__u64 x)
{
    depth_seen = 3;
    return x * 3;
}

static __noinline __u64 middle(__u64 x)
{
    return leaf(x + 1) + 1;
}

__noinline __u64 global_fn(__u64 x)
{
    return x + 100;
}

SEC("bpfmm/first")
__u64 first(void *ctx)
{
    /* middle(5) = leaf(6) + 1 = 19; global_fn(1) = 101 */
    return middle(5) + global_fn(1);
}

SEC("bpfmm/second")
__u64 second(void *ctx)
{
    /* leaf(2) = 6; global_fn(6) = 106 */
    return global_fn(leaf(2));
}

char LICENSE[] SEC("license") = "GPL";
