/*
 * The interpreter's slow paths and entry: rt_vm_run sets up a run (BPF stack on the C stack,
 * registers, frame bounds) and calls the run loop (rt_interp.c); fault messages are built here
 * with the async-signal-safe rt_buf primitives (no snprintf in a signal handler); the audit
 * of proven accesses in audit builds (rt_interp.h). Owns no instruction semantics.
 */
#include "rt_interp.h"
#include "rt_map.h"
#include "rt_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fault_set(struct rt_run *rs, enum bpfmm_rt_fault_kind kind, uint32_t insn)
{
    rs->faulted = true;
    rs->fault.kind = kind;
    rs->fault.insn = insn;
}

/* "out-of-bounds read of 4 bytes at ctx+212 (ctx is 208 bytes)" and the like. */
void rt_interp_mem_fault(const struct rt_vm_prog *p, struct rt_run *rs, uint32_t idx,
                         uintptr_t addr, size_t size, bool atomic_misaligned)
{
    const struct rt_aux *ax = &p->aux[idx];
    struct rt_buf b = rt_buf_init(rs->fault.msg, sizeof(rs->fault.msg));
    fault_set(rs, BPFMM_RT_FAULT_MEM, idx);
    if (atomic_misaligned) {
        rt_buf_str(&b, "misaligned ");
        rt_buf_u64(&b, size);
        rt_buf_str(&b, "-byte atomic access (atomics must be naturally aligned)");
        return;
    }
    rt_buf_str(&b, "out-of-bounds ");
    rt_buf_str(&b, ax->write ? "write" : "read");
    rt_buf_str(&b, " of ");
    rt_buf_u64(&b, size);
    rt_buf_str(&b, size == 1 ? " byte at " : " bytes at ");
    switch (ax->region) {
    case RT_RG_STACK: {
        unsigned f = ax->frame <= rs->depth ? rs->depth - ax->frame : 0;
        int64_t off = (int64_t)(addr - rs->frame_hi[f]);
        rt_buf_str(&b, "fp");
        if (off >= 0)
            rt_buf_putc(&b, '+');
        rt_buf_s64(&b, off);
        rt_buf_str(&b, " (the frame is ");
        rt_buf_u64(&b, rs->frame_hi[f] - rs->frame_lo[f]);
        rt_buf_str(&b, " bytes)");
        break;
    }
    case RT_RG_CTX:
    case RT_RG_CTX_DYN: {
        int64_t off = (int64_t)(addr - (uintptr_t)rs->ctx);
        rt_buf_str(&b, "ctx");
        if (off >= 0)
            rt_buf_putc(&b, '+');
        rt_buf_s64(&b, off);
        rt_buf_str(&b, " (the ctx is ");
        rt_buf_u64(&b, rs->ctx_size);
        rt_buf_str(&b, " bytes)");
        break;
    }
    case RT_RG_MAP: {
        struct rt_map *m = p->maps[ax->idx];
        rt_buf_str(&b, "an address outside the values of map '");
        rt_buf_str(&b, m->name);
        rt_buf_str(&b, "' (value size ");
        rt_buf_u64(&b, m->value_size);
        rt_buf_putc(&b, ')');
        break;
    }
    default:
        rt_buf_str(&b, "an unknown region");
    }
}

bool rt_interp_audited(void)
{
#ifdef BPFMM_INTERP_AUDIT
    return true;
#else
    return false;
#endif
}

static bool audit_ok(const struct rt_vm_prog *p, const struct rt_run *rs, uintptr_t a, size_t size,
                     bool write)
{
    uintptr_t lo = rs->frame_lo[rs->depth], hi = rs->stack_hi;
    if (a >= lo && a <= hi && size <= hi - a)
        return true;
    uintptr_t c = (uintptr_t)rs->ctx;
    if (rs->ctx && a >= c && a - c <= rs->ctx_size && size <= rs->ctx_size - (a - c))
        return true;
    for (uint32_t k = 0; k < p->nr_maps; k++) {
        const struct rt_map *m = p->maps[k];
        bool in;
        if (m->global && m->global_data) {
            uintptr_t g = (uintptr_t)m->global_data;
            in = a >= g && a - g <= m->value_size && size <= m->value_size - (a - g);
        } else {
            in = m->ops && m->ops->contains && m->ops->contains(m, a, size);
        }
        if (in)
            return !write || !m->prog_readonly;
    }
    return false;
}

void rt_interp_audit(const struct rt_vm_prog *p, const struct rt_run *rs, uint32_t idx, uintptr_t a,
                     size_t size, bool write)
{
    if (audit_ok(p, rs, a, size, write))
        return;
    fprintf(stderr,
            "bpfmm: interpreter audit: program '%s' insn %u: the verifier proved a %zu-byte %s "
            "at 0x%llx safe, but it is outside the run's stack, ctx and map values (or writes "
            "read-only memory): verifier bug\n",
            p->name, idx, size, write ? "write" : "read", (unsigned long long)a);
    abort();
}

const struct rt_call *rt_interp_find_dyn(const struct rt_vm_prog *p, uint64_t id)
{
    uint32_t lo = 0, hi = p->nr_dyn;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->dyn[mid].id == id)
            return &p->dyn[mid];
        if (p->dyn[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void rt_interp_callx_fault(struct rt_run *rs, uint32_t idx, uint64_t id, const char *why)
{
    struct rt_buf b = rt_buf_init(rs->fault.msg, sizeof(rs->fault.msg));
    fault_set(rs, BPFMM_RT_FAULT_HELPER, idx);
    rt_buf_str(&b, "callx to helper ");
    rt_buf_u64(&b, id);
    rt_buf_str(&b, why);
}

void rt_interp_fault(struct rt_run *rs, enum bpfmm_rt_fault_kind kind, uint32_t insn,
                     const char *msg)
{
    struct rt_buf b = rt_buf_init(rs->fault.msg, sizeof(rs->fault.msg));
    fault_set(rs, kind, insn);
    rt_buf_str(&b, msg);
}

void rt_interp_budget_fault(const struct rt_vm_prog *p, struct rt_run *rs, uint32_t insn)
{
    struct rt_buf b = rt_buf_init(rs->fault.msg, sizeof(rs->fault.msg));
    fault_set(rs, BPFMM_RT_FAULT_BUDGET, insn);
    rt_buf_str(&b, "instruction budget of ");
    rt_buf_u64(&b, p->budget);
    rt_buf_str(&b, " exhausted (endless or too long loop)");
}

int rt_vm_run(const struct rt_vm_prog *p, void *ctx, size_t ctx_size,
              const struct bpfmm_rt_run_env *env, uint64_t *r0, uint64_t *insns_executed,
              struct bpfmm_rt_fault *fault)
{
    if (!p || !r0)
        return -EINVAL;
    if (p->has_ctx && p->ctx_size && (!ctx || ctx_size < p->ctx_size))
        return -EINVAL; /* smaller than the ctx the program was verified against */
    if (p->has_ctx && !ctx && ctx_size)
        return -EINVAL; /* run-time checks would accept addresses near 0 */

    /* The BPF stack: 8-byte aligned words on the C stack, sized by the verifier. */
    uint64_t stack[p->stack_size / 8 + 1];
    if (p->zero_stack)
        memset(stack, 0, p->stack_size);

    struct rt_run rs;
    rs.prog = p;
    rs.ctx = ctx;
    rs.ctx_size = p->compat && !p->ctx_size ? ctx_size : p->ctx_size;
    rs.env = env;
    rs.stack_lo = (uintptr_t)stack;
    rs.stack_hi = (uintptr_t)stack + p->stack_size;
    rs.depth = 0;
    rs.frame_hi[0] = rs.stack_hi;
    rs.frame_lo[0] = rs.stack_hi - p->main_depth;
    rs.insn = 0;
    rs.faulted = false;
    rs.fault.kind = BPFMM_RT_FAULT_NONE;
    rs.fault.insn = 0;
    rs.fault.msg[0] = '\0';

    uint64_t reg[RT_NR_REGS] = {0};
    reg[1] = (uintptr_t)ctx;
    if (p->compat)
        reg[2] = ctx_size;
    reg[RT_REG_FP] = rs.stack_hi;

    uint64_t executed = 0;
    int err = rt_interp_exec(p, &rs, reg, r0, &executed);
    if (insns_executed)
        *insns_executed = executed;
    if (err && fault)
        *fault = rs.fault;
    return err;
}
