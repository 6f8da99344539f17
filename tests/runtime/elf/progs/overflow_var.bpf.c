/* A variable-offset write into a map value whose bound the program does not check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} vals SEC(".maps");

SEC("bpfmm/var")
__u64 write_var(__u64 *ctx)
{
    __u32 k = 0;
    __u64 idx = ctx[0] & 0xff;
    __u64 *v = bpf_map_lookup_elem(&vals, &k);
    if (!v)
        return 0;
    ((volatile __u64 *)v)[idx] = 0xdead;
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
