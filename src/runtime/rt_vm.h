/*
 * Internal interface of the verifier + interpreter ("VM"): the loader hands it a relocated
 * program (struct rt_prog_src) and gets back an executable, verified program. The VM knows
 * nothing of ELF, BTF or how maps are implemented (rt_map.h). Owned by rt_verify*.c,
 * rt_interp*.c, rt_helpers*.c, rt_disasm.c; the rules, messages and limits are described in
 * docs/runtime-vm.md.
 *
 * Relocated instruction conventions (what the loader produces):
 *   - lddw src=BPF_PSEUDO_MAP_IDX (5), imm = map index: r = the map (only helpers may use it);
 *   - lddw src=BPF_PSEUDO_MAP_IDX_VALUE (6), imm = map index, second imm = offset: r = address
 *     of that map's value (global data) + offset;
 *   - lddw src=BPF_PSEUDO_MAP_FD (1) / MAP_VALUE (2) are accepted with imm read as the index;
 *   - call src=BPF_PSEUDO_CALL (1): imm = target - (pc + 1), targets within nr_insns;
 *   - the main program starts at instruction 0; sub-programs follow it.
 */
#ifndef BPFMM_RT_VM_H
#define BPFMM_RT_VM_H

#include <bpfmm/runtime.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>

struct rt_map;
struct rt_vm_prog;

struct rt_sym {
    uint32_t insn; /* first instruction of a function */
    const char *name;
};

struct rt_prog_src {
    const char *name;
    const struct bpf_insn *insns;
    uint32_t nr_insns;
    struct rt_map *const *maps;
    uint32_t nr_maps;
    const struct rt_sym *syms; /* optional, sorted by insn */
    uint32_t nr_syms;
};

struct rt_vm_opts {
    const struct bpfmm_rt_ctx_desc *ctx; /* NULL: r1 is a scalar (unless BPFMM_RT_LOAD_COMPAT) */
    /* Instructions per run; 0: 1,000,000. Counted exactly, checked on backward jumps and local
     * calls; exhaustion is a BPFMM_RT_FAULT_BUDGET fault naming the backward jump. */
    uint64_t insn_budget;
    const struct bpfmm_rt_helper *host_helpers;
    unsigned nr_host_helpers;
    void *host;
    void (*trace)(void *host, const char *prog, const char *msg);
    /* BPFMM_RT_LOAD_COMPAT: r1 points to writable memory whose size is given per run (r2 holds
     * it); every access through r1 is checked at run time. */
    unsigned flags;
    char *log; /* the first verifier error: "insn N: reason" */
    size_t log_size;
};

/* Verifies and prepares for execution. NULL with errno (EINVAL: rejected, message in log;
 * E2BIG: more than 1,000,000 instructions, or too complex to verify; ENOMEM). src->maps and
 * the maps must outlive the returned program; the instructions, syms, opts, ctx description
 * and helper table need not (what is needed is copied). Maps' prog_readonly and global_data
 * must be final (they are read here). */
struct rt_vm_prog *rt_vm_prepare(const struct rt_prog_src *src, const struct rt_vm_opts *opts);
void rt_vm_free(struct rt_vm_prog *p);

/* Thread-safe, async-signal-safe (no allocation, no locks). Returns 0 with *r0 set, or
 * -EFAULT with *fault filled (if not NULL), or -EINVAL when ctx is smaller than the described
 * ctx (or NULL with a size). In BPFMM_RT_LOAD_COMPAT mode r2 = ctx_size. insns_executed (may be
 * NULL) receives the exact number of instructions run, also on a fault. */
int rt_vm_run(const struct rt_vm_prog *p, void *ctx, size_t ctx_size,
              const struct bpfmm_rt_run_env *env, uint64_t *r0, uint64_t *insns_executed,
              struct bpfmm_rt_fault *fault);

/* True if the verified program may read ctx[off, off + size). */
bool rt_vm_reads_ctx(const struct rt_vm_prog *p, uint32_t off, uint32_t size);

/* One instruction (two for lddw) as text; returns the number of instructions consumed. */
int rt_vm_disasm_insn(const struct bpf_insn *insns, uint32_t idx, uint32_t nr_insns,
                      struct rt_map *const *maps, uint32_t nr_maps, char *buf, size_t size);

#endif
