/*
 * Register liveness for the verifier: which registers an instruction's function may still read
 * before writing them, per instruction (a backward dataflow over each function's control-flow
 * graph, after the structural checks). The walk uses it only to decide when two states reaching
 * a merge point are worth keeping apart (rt_verify_walk.c): a register of different kinds on
 * two paths matters only if it is read afterwards. Helper and local calls count as reading
 * r1-r5 (conservatively) and writing r0-r5. Owns no value tracking and no rule.
 */
#include "rt_verify.h"

#include <errno.h>
#include <stdlib.h>

#define R(n)     ((uint16_t)(1u << (n)))
#define ARGS     ((uint16_t)(R(1) | R(2) | R(3) | R(4) | R(5)))
#define CLOBBERS ((uint16_t)(R(0) | ARGS))

/* Registers instruction i reads (*use) and writes (*def). */
static void use_def(const struct bpf_insn *in, uint16_t *use, uint16_t *def)
{
    unsigned cls = rt_class(in->code), op = rt_op(in->code);
    bool x = rt_srcbit(in->code) == BPF_X;
    *use = *def = 0;
    switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
        if (op != BPF_MOV)
            *use |= R(in->dst_reg);
        if (x && op != BPF_NEG && op != BPF_END)
            *use |= R(in->src_reg);
        *def = R(in->dst_reg);
        return;
    case BPF_LD:
        *def = R(in->dst_reg);
        return;
    case BPF_LDX:
        *use = R(in->src_reg);
        *def = R(in->dst_reg);
        return;
    case BPF_ST:
        *use = R(in->dst_reg);
        return;
    case BPF_STX:
        *use = R(in->dst_reg) | R(in->src_reg);
        if (rt_mode(in->code) == BPF_ATOMIC && in->imm == RT_ATOMIC_CMPXCHG) {
            *use |= R(0);
            *def = R(0);
        } else if (rt_mode(in->code) == BPF_ATOMIC && (in->imm & RT_ATOMIC_FETCH)) {
            *def = R(in->src_reg);
        }
        return;
    default:
        break;
    }
    switch (op) {
    case BPF_JA:
        return;
    case BPF_EXIT:
        *use = R(0);
        return;
    case BPF_CALL:
        *use = ARGS | (x ? R(in->dst_reg) : 0);
        *def = CLOBBERS;
        return;
    default: /* conditional jumps */
        *use = R(in->dst_reg) | (x ? R(in->src_reg) : 0);
        return;
    }
}

int vlive_compute(struct verifier *v)
{
    uint16_t *use = malloc((size_t)v->n * sizeof(*use));
    uint16_t *def = malloc((size_t)v->n * sizeof(*def));
    v->live = calloc(v->n, sizeof(*v->live));
    if (!use || !def || !v->live) {
        free(use);
        free(def);
        return verr_code(v, -ENOMEM, 0, "out of memory");
    }
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & VF_LDDW2))
            use_def(&v->insns[i], &use[i], &def[i]);
    /* Backward passes until nothing changes; jumps stay inside their function and nothing
     * falls through a function's end (rt_verify_cfg.c), so successors are local. */
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = v->n; i-- > 0;) {
            const struct bpf_insn *in = &v->insns[i];
            if (v->flags[i] & VF_LDDW2)
                continue;
            unsigned cls = rt_class(in->code), op = rt_op(in->code);
            bool jmp = rt_is_jmp(cls);
            uint16_t out = 0;
            if (!(jmp && (op == BPF_JA || op == BPF_EXIT))) {
                uint32_t next = i + (rt_is_lddw(in) ? 2 : 1);
                if (next < v->n)
                    out |= v->live[next];
            }
            if (jmp && op != BPF_CALL && op != BPF_EXIT) {
                int64_t t = (int64_t)i + 1 + (op == BPF_JA && cls == BPF_JMP32 ? in->imm : in->off);
                out |= v->live[t];
            }
            uint16_t in_live = (uint16_t)(use[i] | (out & ~def[i]));
            if (in_live != v->live[i]) {
                v->live[i] = in_live;
                changed = true;
            }
        }
    }
    free(use);
    free(def);
    return 0;
}
