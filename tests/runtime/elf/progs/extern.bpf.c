/* A relocation against a symbol the object does not define. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u64 not_defined_anywhere;

SEC("bpfmm/test")
__u64 prog(void *ctx)
{
    return not_defined_anywhere;
}

char LICENSE[] SEC("license") = "GPL";
