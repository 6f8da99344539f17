/* Writes past the end of a map value: at a constant offset (the verifier must refuse it) and
 * at an offset taken from the ctx (refused at load or faulted at run time, never a write). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} vals SEC(".maps");

SEC("bpfmm/const")
__u64 write_const(void *ctx)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&vals, &k);
    if (!v)
        return 0;
    /* value_size is 8: bytes 8..15 belong to the next element */
    ((volatile __u64 *)v)[1] = 0xdead;
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
