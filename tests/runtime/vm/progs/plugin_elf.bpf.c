/* For runtime_plugin_elf: two programs using the conformance memory (r1), a map, .data and a
 * .rodata knob, so the plugin's --elf mode is exercised with maps and globals. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} hits SEC(".maps");

__u64 bias = 7;                 /* .data */
const volatile __u64 scale = 3; /* .rodata */

SEC("conformance/sum")
__u64 sum(void *mem)
{
    __u32 k = 0;
    __u64 *h = bpf_map_lookup_elem(&hits, &k);
    if (!h)
        return 0;
    *h += 1;
    return *(__u8 *)mem * scale + bias + *h;
}

SEC("conformance/first")
__u64 first(void *mem)
{
    return *(__u32 *)mem;
}

char LICENSE[] SEC("license") = "GPL";
