/* A map type bpfmm does not implement: the loader must refuse it by name. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("bpfmm/test")
__u64 prog(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
