/*
 * The executable form of a verified program (struct rt_vm_prog) and the decoded instruction
 * format the interpreter dispatches on. The verifier decides, per instruction, which handler
 * runs (rt_interp_decode.c): accesses it proved safe get unchecked handlers, the others get
 * handlers that check the region recorded in the instruction's aux entry. Owns the layout only;
 * the run loop is rt_interp.c.
 */
#ifndef BPFMM_RT_INTERP_H
#define BPFMM_RT_INTERP_H

#include "rt_helpers.h"
#include "rt_insn.h"
#include "rt_interp_ops.h"

#include <stdbool.h>
#include <stdint.h>

/* One decoded instruction: 16 bytes, same index as the original so faults name it directly.
 * The second slot of lddw holds the 64-bit value. Jump targets are relative to the next
 * instruction (off for conditional jumps, imm for ja/gotol and local calls). */
struct rt_dinsn {
    union {
        struct {
            const void *h; /* handler address (computed goto) */
            uint8_t dst, src;
            int16_t off;
            int32_t imm;
        };
        struct {
            uint64_t imm64;
            uint64_t unused;
        };
    };
};

/* Regions a run-time check can be made against. */
enum rt_region {
    RT_RG_NONE = 0,
    RT_RG_STACK,   /* a frame of the BPF stack (aux.frame frames up from the current one) */
    RT_RG_CTX,     /* [ctx, ctx + prog->ctx_size) */
    RT_RG_CTX_DYN, /* compat mode: [ctx, ctx + the ctx_size given to this run) */
    RT_RG_MAP,     /* a value of map aux.map (global data: its single value) */
};

/* Side information for instructions that need more than the decoded fields. */
struct rt_aux {
    uint8_t region;     /* enum rt_region, for checked accesses */
    uint8_t frame;      /* RT_RG_STACK: frames up from the current one */
    uint8_t callx_init; /* dynamic callx: bit i set = r(i+1) is an initialised scalar */
    uint8_t write;      /* checked access writes */
    uint32_t idx;       /* RT_RG_MAP: map index; calls: prog->calls index; local call: callee */
    uint16_t caller_depth, callee_depth; /* local calls: frame sizes in bytes */
};

/* A resolved helper. */
struct rt_call {
    uint32_t id;
    uint8_t nargs;
    bool host;
    rt_builtin_fn builtin;
    rt_host_fn host_fn;
    const char *name; /* built-ins only (host names are not kept) */
};

struct rt_vm_prog {
    char name[64];
    struct rt_dinsn *code;
    struct rt_aux *aux;
    uint32_t nr_insns;
    struct rt_map *const *maps;
    uint32_t nr_maps;
    struct rt_call *calls; /* helpers named by call instructions */
    uint32_t nr_calls;
    struct rt_call *dyn; /* scalar-only helpers reachable through callx, sorted by id */
    uint32_t nr_dyn;
    uint32_t stack_size; /* total BPF stack of the deepest call chain */
    uint32_t main_depth; /* frame size of the main program */
    bool zero_stack;     /* some read may see bytes no store initialised: zero the stack */
    uint64_t budget;     /* instructions per run */
    bool compat;         /* BPFMM_RT_LOAD_COMPAT: r2 = ctx size, ctx writable and sized per run */
    bool has_ctx;        /* r1 points to the ctx (described, or compat memory) */
    uint32_t ctx_size;   /* described ctx size */
    uint8_t *ctx_reads;  /* bitmap over ctx bytes the program may read */
    void *host;
    void (*trace)(void *host, const char *prog, const char *msg);
};

/* Handler addresses of the run loop, indexed by enum rt_op. */
const void *const *rt_interp_handlers(void);
/* The run loop (rt_interp.c): reg holds r0..r10 at entry. */
int rt_interp_exec(const struct rt_vm_prog *p, struct rt_run *rs, uint64_t *reg, uint64_t *r0,
                   uint64_t *executed);

/* Audit builds (BPFMM_DEBUG, and the fuzz target's BPFMM_INTERP_AUDIT) check the accesses the
 * verifier proved too, against every region the run owns: the live frames, the ctx and every
 * value of the program's maps. A miss is a verifier bug, so it aborts - which turns the
 * sanitizer suite and the fuzzer into soundness oracles even where ASan cannot see (map values
 * inside the allocator's arena). */
#if defined(BPFMM_DEBUG) && !defined(BPFMM_INTERP_AUDIT)
#define BPFMM_INTERP_AUDIT 1
#endif
/* True in audit builds. */
bool rt_interp_audited(void);
/* Aborts with the program and instruction unless [a, a + size) lies in a region of the run
 * (and, for a write, not in a read-only map). */
void rt_interp_audit(const struct rt_vm_prog *p, const struct rt_run *rs, uint32_t idx, uintptr_t a,
                     size_t size, bool write);

/* Slow paths (rt_interp_run.c). */
void rt_interp_fault(struct rt_run *rs, enum bpfmm_rt_fault_kind kind, uint32_t insn,
                     const char *msg);
void rt_interp_budget_fault(const struct rt_vm_prog *p, struct rt_run *rs, uint32_t insn);
void rt_interp_mem_fault(const struct rt_vm_prog *p, struct rt_run *rs, uint32_t idx,
                         uintptr_t addr, size_t size, bool atomic_misaligned);
const struct rt_call *rt_interp_find_dyn(const struct rt_vm_prog *p, uint64_t id);
void rt_interp_callx_fault(struct rt_run *rs, uint32_t idx, uint64_t id, const char *why);

#endif
