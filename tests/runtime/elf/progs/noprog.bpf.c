/* Code only in .text: sub-programs but no program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__noinline __u64 helper_only(__u64 x)
{
    return x + 1;
}

char LICENSE[] SEC("license") = "GPL";
