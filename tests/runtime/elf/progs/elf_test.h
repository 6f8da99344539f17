/* Shared between the BPF test programs in this directory and the host-side tests: the layout
 * of the writable ctx the map programs use, and the operation codes. */
#ifndef BPFMM_ELF_TEST_H
#define BPFMM_ELF_TEST_H

#include <linux/types.h>

enum elf_test_op {
    OP_LOOKUP = 1, /* value = *lookup(key), result = 0 or -ENOENT */
    OP_UPDATE = 2, /* result = update(key, value, flags) */
    OP_DELETE = 3, /* result = delete(key) */
};

enum elf_test_map {
    MAP_ARRAY = 0,
    MAP_HASH = 1,
    MAP_LRU = 2,
};

struct elf_test_ctx {
    __u32 op;
    __u32 map;
    __u32 key;
    __u32 flags;
    __u64 value;
    __s64 result;
};

struct name_key {
    char name[16];
};

struct pair {
    __u64 a;
    __u32 b;
    __u32 c;
};

#endif
