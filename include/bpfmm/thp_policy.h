/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpfmm THP policy ABI: what a policy program includes, and what hosts (the live agent, the
 * model, `bpfmm policy run`) fill in. Seeds 000/004: the kernel asks a BPF program which THP
 * orders it allows for a VMA; this header is bpfmm's stable version of that hook.
 *
 * A policy is one function in SEC("bpfmm/thp_get_orders"):
 *
 *     #include <bpfmm/thp_policy.h>
 *     SEC("bpfmm/thp_get_orders")
 *     __u64 my_policy(struct bpfmm_thp_ctx *ctx) { return ctx->orders; }
 *     char LICENSE[] SEC("license") = "GPL";
 *
 * built with `clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/$(gcc -print-multiarch) -c`.
 * It returns the bitmask of orders it allows (bit n = order n, so 1 << 9 is 2 MiB on x86-64).
 * The host ANDs the result with ctx->orders: a policy can narrow, never widen. If the policy
 * faults at run time the host uses ctx->orders unchanged ("no opinion") and counts the fault.
 *
 * Stability rules (the answer to seed 004's worry):
 *   - ctx->size is the number of bytes the host provides; fields are only ever appended;
 *   - a program that reads past the size the host provides is rejected at load;
 *   - flags is reserved and 0; enum values and flag bits are never renumbered;
 *   - helper numbers below BPFMM_HELPER_BASE are Linux's; bpfmm's own start there.
 * Conventions are libbpf's: SEC(), BTF-defined maps in ".maps" (ARRAY, HASH, LRU_HASH), globals
 * in .data/.bss/.rodata, `const volatile` knobs in .rodata set by the loader before
 * verification (bpfmm ... --rodata name=value), and a "license" section.
 */
#ifndef BPFMM_THP_POLICY_H
#define BPFMM_THP_POLICY_H

#include <linux/types.h>

#define BPFMM_THP_ABI_VERSION 1
#define BPFMM_THP_SECTION     "bpfmm/thp_get_orders"

/* Why the host is asking (seed 000's enum tva_type, plus swap-in and query). */
enum bpfmm_thp_type {
    BPFMM_THP_PAGEFAULT = 0,       /* a page fault in the VMA */
    BPFMM_THP_KHUGEPAGED = 1,      /* background collapse of the range */
    BPFMM_THP_FORCED_COLLAPSE = 2, /* a user asked to collapse (MADV_COLLAPSE) */
    BPFMM_THP_SWAPIN = 3,          /* swap-in of the range */
    BPFMM_THP_QUERY = 4,           /* reporting only (smaps THPeligible, status) */
    BPFMM_THP_NR_TYPES
};

/* Stable VMA flag bits of bpfmm's own (not the kernel's VM_* values). */
#define BPFMM_VMA_READ       (1ull << 0)
#define BPFMM_VMA_WRITE      (1ull << 1)
#define BPFMM_VMA_EXEC       (1ull << 2)
#define BPFMM_VMA_SHARED     (1ull << 3)
#define BPFMM_VMA_ANON       (1ull << 4)  /* anonymous memory (private, no file) */
#define BPFMM_VMA_FILE       (1ull << 5)  /* backed by a regular file */
#define BPFMM_VMA_SHMEM      (1ull << 6)  /* shmem, tmpfs or memfd */
#define BPFMM_VMA_STACK      (1ull << 7)  /* [stack] */
#define BPFMM_VMA_HEAP       (1ull << 8)  /* [heap] */
#define BPFMM_VMA_HUGEPAGE   (1ull << 9)  /* advised MADV_HUGEPAGE */
#define BPFMM_VMA_NOHUGEPAGE (1ull << 10) /* advised MADV_NOHUGEPAGE */
#define BPFMM_VMA_GUARD      (1ull << 11) /* has guard regions (MADV_GUARD_INSTALL) */

#define BPFMM_ORDER(n)       (1ull << (n))
#define BPFMM_COMM_LEN       16
#define BPFMM_NAME_LEN       64

/* The context a policy reads; read-only to the program. Offsets are part of the ABI. */
struct bpfmm_thp_ctx {
    __u32 size;                /*   0: bytes of this struct the host provides */
    __u32 abi_version;         /*   4: BPFMM_THP_ABI_VERSION of the host */
    __u32 type;                /*   8: enum bpfmm_thp_type */
    __u32 flags;               /*  12: reserved, 0 */
    __u64 orders;              /*  16: candidate orders; the result is ANDed with this */
    __u64 address;             /*  24: faulting address, or the start of the range in question */
    __u64 vma_start;           /*  32 */
    __u64 vma_end;             /*  40: exclusive */
    __u64 vma_flags;           /*  48: BPFMM_VMA_* */
    __u32 pid;                 /*  56: thread id, or tgid when no thread is involved */
    __u32 tgid;                /*  60: process id */
    char comm[BPFMM_COMM_LEN]; /*  64: process name, NUL-padded */
    char name[BPFMM_NAME_LEN]; /*  80: [heap], [stack], file base name, [anon:name] or "" */
    /* The PMD-sized range in question (all zero when the host has no range, e.g. at fault). */
    __u64 range_start;    /* 144: PMD-aligned start */
    __u32 range_pages;    /* 152: pages in the range (512 on x86-64); 0 = counts unknown */
    __u32 nr_present;     /* 156: present pages (including zero-page and huge-mapped) */
    __u32 nr_swapped;     /* 160: pages swapped out */
    __u32 nr_huge;        /* 164: pages mapped by a huge (PMD) mapping */
    __u32 nr_zero;        /* 168: pages mapped to the shared zero page */
    __u32 nr_guard;       /* 172: guard-region pages */
    __u32 nr_shared;      /* 176: present pages also mapped by another process */
    __u32 pmd_order;      /* 180: order of a PMD-sized page (9 on x86-64) */
    __u64 vma_resident;   /* 184: resident bytes in the VMA */
    __u64 vma_referenced; /* 192: bytes referenced since the host last reset access bits */
    __u64 now_ns;         /* 200: CLOCK_MONOTONIC time of the call, in ns */
};
#define BPFMM_THP_CTX_SIZE_V1 208

/* bpfmm's own helpers, numbered from BPFMM_HELPER_BASE (Linux's helpers keep their numbers:
 * map_lookup_elem 1, map_update_elem 2, map_delete_elem 3, ktime_get_ns 5, trace_printk 6,
 * get_prandom_u32 7, get_smp_processor_id 8, get_current_pid_tgid 14, get_current_comm 16). */
#define BPFMM_HELPER_BASE             0x10000
#define BPFMM_HELPER_MEM_AVAILABLE    (BPFMM_HELPER_BASE + 0) /* __u64 (void) */
#define BPFMM_HELPER_SYSFS_THP_ORDERS (BPFMM_HELPER_BASE + 1) /* __u64 (void) */

#ifdef __bpf__
#include <linux/bpf.h> /* BPF_MAP_TYPE_*, BPF_ANY, ... */
#include <bpf/bpf_helpers.h>

/* System MemAvailable in bytes as the host last read it; 0 when the host cannot tell. */
static __u64 (*const bpfmm_mem_available)(void) = (void *)BPFMM_HELPER_MEM_AVAILABLE;
/* Orders the host's THP settings allow for anonymous memory at all (Linux: the
 * hugepages-<size>kB/enabled files that are not "never"); 0 when the host cannot tell. */
static __u64 (*const bpfmm_sysfs_thp_orders)(void) = (void *)BPFMM_HELPER_SYSFS_THP_ORDERS;
#endif

#endif
