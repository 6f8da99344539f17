/* Global data in .data, .bss and .rodata, const volatile knobs of several BTF types, and
 * string literals passed to bpf_trace_printk. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <stdbool.h>

enum mode { MODE_OFF = 0, MODE_ON = 1, MODE_AUTO = 7 };

const volatile __u32 knob_u32 = 7;
const volatile __s8 knob_s8 = -3;
const volatile bool knob_bool = false;
const volatile char knob_name[8] = "abc";
const volatile enum mode knob_mode = MODE_ON;
const volatile __u64 knob_u64 = 0;

__u64 counter = 100; /* .data */
__u64 calls;         /* .bss */
__u32 last_seen[4];  /* .bss */

SEC("bpfmm/test")
__u64 globals(void *ctx)
{
    counter += knob_u32;
    calls++;
    last_seen[calls & 3] = knob_name[0];
    bpf_printk("knob %u mode %d", knob_u32, knob_mode);
    bpf_printk("name %s", knob_name);
    /* A literal passed directly lands in .rodata.str1.1 (a section-symbol relocation). */
    bpf_trace_printk("direct %d", sizeof("direct %d"), 5);
    return knob_u32 + (knob_bool ? 1000 : 0) + knob_s8 + knob_mode * 100000 + knob_u64;
}

char LICENSE[] SEC("license") = "GPL";
