/* Two programs in one section (libbpf: every global function of a SEC() section is a
 * program), both calling the same .text function. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u64 twice(__u64 x)
{
    return x * 2;
}

SEC("bpfmm/multi")
__u64 alpha(void *ctx)
{
    return twice(21);
}

SEC("bpfmm/multi")
__u64 beta(void *ctx)
{
    return twice(50) + 1;
}

char LICENSE[] SEC("license") = "GPL";
