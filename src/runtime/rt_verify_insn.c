/*
 * Transfer functions of the verifier, one instruction at a time: ALU (scalars and the pointer
 * arithmetic that is allowed: pointer +/- scalar, and the difference of two pointers into the
 * same region), lddw, loads/stores/atomics (via rt_verify_mem.c), jumps with branch refinement
 * (including the NULL check of a map lookup result), exit, and calls (rt_verify_call.c).
 * Uninitialised registers may be copied or spilled but never used. Owns no control-flow walk.
 */
#include "rt_verify.h"
#include "rt_map.h"

#include <string.h>

static const char *alu_name(unsigned op)
{
    static const char *const names[] = {"add", "sub", "mul", "div", "or",  "and",  "lsh",
                                        "rsh", "neg", "mod", "xor", "mov", "arsh", "end"};
    return names[(op >> 4) & 15];
}

int vcheck_read(struct verifier *v, uint32_t i, const struct vstate *s, unsigned r)
{
    if (s->f[s->nframes - 1].r[r].type == VT_UNINIT)
        return verr(v, i, "r%u is read before it is initialised", r);
    return 0;
}

static int need_scalar(struct verifier *v, uint32_t i, const struct vreg *r, unsigned regno,
                       const char *what)
{
    if (r->type == VT_SCALAR)
        return 0;
    if (r->type == VT_MIXED)
        return verr(v, i, "r%u holds different kinds of values on different paths: %s", regno,
                    what);
    return verr(v, i, "r%u is %s: %s", regno, vtype_name(r), what);
}

/* ptr +/- scalar: offsets move by the scalar's signed range. */
static void ptr_add(struct vreg *ptr, const struct vreg *sc, bool sub)
{
    int64_t lo, hi;
    bool ovf = sub ? (__builtin_sub_overflow(ptr->smin, sc->smax, &lo) ||
                      __builtin_sub_overflow(ptr->smax, sc->smin, &hi))
                   : (__builtin_add_overflow(ptr->smin, sc->smin, &lo) ||
                      __builtin_add_overflow(ptr->smax, sc->smax, &hi));
    if (ovf || sc->smin == INT64_MIN || sc->smax == INT64_MAX) {
        lo = INT64_MIN;
        hi = INT64_MAX;
    }
    ptr->smin = lo;
    ptr->smax = hi;
}

static bool same_region(const struct vreg *a, const struct vreg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case VT_CTX:
        return true;
    case VT_STACK:
        return a->frame == b->frame;
    case VT_MAPVAL:
        return a->maps == b->maps;
    default:
        return false;
    }
}

static int alu_ptr(struct verifier *v, uint32_t i, struct vreg *d, const struct vreg *sv,
                   unsigned op, bool is64, bool x)
{
    const struct bpf_insn *in = &v->insns[i];
    unsigned dr = in->dst_reg, sr = in->src_reg;
    if (d->type == VT_MIXED || sv->type == VT_MIXED)
        return verr(v, i, "r%u holds different kinds of values on different paths: no arithmetic",
                    d->type == VT_MIXED ? dr : sr);
    bool dp = vreg_is_ptr(d), sp = vreg_is_ptr(sv);
    const struct vreg *ptr = dp ? d : sv;
    unsigned preg = dp ? dr : sr;
    if (!is64)
        return verr(v, i, "32-bit %s on pointer r%u (%s) is not allowed", alu_name(op), preg,
                    vtype_name(ptr));
    if (op != BPF_ADD && op != BPF_SUB)
        return verr(v, i,
                    "%s on pointer r%u (%s) is not allowed: only adding or subtracting a scalar",
                    alu_name(op), preg, vtype_name(ptr));
    if (op == BPF_SUB && dp && sp) {
        if (!same_region(d, sv))
            return verr(v, i, "r%u - r%u: pointers into different regions cannot be subtracted", dr,
                        sr);
        struct vreg r;
        if (vreg_off_const(d) && vreg_off_const(sv))
            vreg_scalar_const(&r, (uint64_t)d->smin - (uint64_t)sv->smin);
        else
            vreg_scalar_unknown(&r);
        *d = r;
        return 0;
    }
    if (dp && sp)
        return verr(v, i, "r%u + r%u: adding two pointers is not allowed", dr, sr);
    if (!dp && op == BPF_SUB)
        return verr(v, i, "r%u - r%u: subtracting a pointer from a scalar is not allowed", dr, sr);
    if (ptr->type == VT_MAPVAL_NULL)
        return verr(v, i,
                    "arithmetic on r%u, which may be NULL (result of bpf_map_lookup_elem()): "
                    "compare it with 0 first",
                    preg);
    if (ptr->type == VT_MAP)
        return verr(v, i, "arithmetic on r%u (map '%s' itself) is not allowed", preg,
                    vmap_name(v, ptr->maps));
    struct vreg sc, res = *ptr;
    if (x) {
        sc = dp ? *sv : *d;
    } else {
        vreg_scalar_const(&sc, (uint64_t)(int64_t)in->imm);
    }
    ptr_add(&res, &sc, op == BPF_SUB);
    *d = res;
    return 0;
}

static int do_alu(struct verifier *v, struct vstate *s, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    struct vframe *F = vcur(s);
    bool is64 = rt_class(in->code) == BPF_ALU64;
    unsigned op = rt_op(in->code);
    bool x = rt_srcbit(in->code) == BPF_X;
    struct vreg *d = &F->r[in->dst_reg];
    int err;

    if (op == BPF_END) {
        if ((err = vcheck_read(v, i, s, in->dst_reg)) ||
            (err = need_scalar(v, i, d, in->dst_reg, "byte swap of a non-scalar")))
            return err;
        vs_end(d, rt_srcbit(in->code) == BPF_TO_BE, is64, in->imm);
        return 0;
    }
    if (op == BPF_MOV) {
        if (!x) {
            vreg_scalar_const(d, is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
            return 0;
        }
        if ((err = vcheck_read(v, i, s, in->src_reg)))
            return err;
        const struct vreg sv = F->r[in->src_reg];
        if (is64 && !in->off) {
            *d = sv; /* copies keep pointer kinds and lookup ids */
            return 0;
        }
        if (sv.type != VT_SCALAR)
            return need_scalar(v, i, &sv, in->src_reg,
                               in->off ? "sign extension of a pointer is not allowed"
                                       : "a 32-bit move would truncate a pointer");
        vreg_scalar_const(d, 0);
        vs_alu(d, &sv, BPF_MOV, in->off, is64);
        return 0;
    }
    if ((err = vcheck_read(v, i, s, in->dst_reg)))
        return err;
    struct vreg sv;
    if (op == BPF_NEG) {
        sv = *d;
    } else if (x) {
        if ((err = vcheck_read(v, i, s, in->src_reg)))
            return err;
        sv = F->r[in->src_reg];
    } else {
        vreg_scalar_const(&sv, is64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
    }
    if (d->type != VT_SCALAR || sv.type != VT_SCALAR)
        return alu_ptr(v, i, d, &sv, op, is64, x);
    vs_alu(d, &sv, op, in->off, is64);
    return 0;
}

static int do_lddw(struct verifier *v, struct vstate *s, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    struct vreg *d = &vcur(s)->r[in->dst_reg];
    uint32_t idx = (uint32_t)in->imm;
    switch (in->src_reg) {
    case RT_LDDW_IMM:
        vreg_scalar_const(d, (uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32));
        return 0;
    case RT_LDDW_MAP_FD:
    case RT_LDDW_MAP_IDX:
        vreg_ptr(d, VT_MAP, 0);
        d->maps = 1ull << idx;
        return 0;
    default: { /* map value (global data) + offset */
        const struct rt_map *m = v->src->maps[idx];
        uint32_t off = (uint32_t)in[1].imm;
        if (!m->global_data && m->type != BPFMM_RT_MAP_ARRAY)
            return verr(v, i,
                        "lddw of a value of map '%s' needs global data (.data, .bss, .rodata) or "
                        "an array map",
                        m->name);
        if (!m->global_data && (!m->ops || !m->ops->lookup))
            return verr(v, i, "map '%s' cannot be looked up", m->name);
        if (off >= m->value_size)
            return verr(v, i, "lddw offset %u is outside the value of map '%s' (%u bytes)", off,
                        m->name, m->value_size);
        vreg_ptr(d, VT_MAPVAL, off);
        d->maps = 1ull << idx;
        return 0;
    }
    }
}

static int do_mem(struct verifier *v, struct vstate *s, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    struct vframe *F = vcur(s);
    unsigned cls = rt_class(in->code), size = rt_size_bytes(rt_size(in->code));
    int err;
    if (cls == BPF_LDX) {
        struct vreg out;
        if ((err = vcheck_read(v, i, s, in->src_reg)))
            return err;
        err = vmem_access(v, s, i, in->src_reg, in->off, size, 'r', NULL, 0,
                          rt_mode(in->code) == RT_BPF_MEMSX, &out);
        if (!err)
            vcur(s)->r[in->dst_reg] = out;
        return err;
    }
    if ((err = vcheck_read(v, i, s, in->dst_reg)))
        return err;
    if (cls == BPF_ST) {
        /* the immediate only matters for an 8-byte spill, where it is sign-extended */
        return vmem_access(v, s, i, in->dst_reg, in->off, size, 'w', NULL, in->imm, false, NULL);
    }
    if ((err = vcheck_read(v, i, s, in->src_reg)))
        return err;
    struct vreg val = F->r[in->src_reg];
    if (rt_mode(in->code) == BPF_MEM)
        return vmem_access(v, s, i, in->dst_reg, in->off, size, 'w', &val, 0, false, NULL);
    /* atomic */
    if ((err = need_scalar(v, i, &val, in->src_reg, "atomic operands must be scalars")))
        return err;
    if (in->imm == RT_ATOMIC_CMPXCHG) {
        if ((err = vcheck_read(v, i, s, 0)) ||
            (err = need_scalar(v, i, &F->r[0], 0, "cmpxchg compares r0, which must be a scalar")))
            return err;
    }
    if ((err = vmem_access(v, s, i, in->dst_reg, in->off, size, 'a', &val, 0, false, NULL)))
        return err;
    F = vcur(s);
    struct vreg old;
    vreg_scalar_unknown(&old);
    if (size == 4)
        vs_set_urange(&old, 0, 0xffffffffull);
    if (in->imm == RT_ATOMIC_CMPXCHG)
        F->r[0] = old;
    else if (in->imm & RT_ATOMIC_FETCH)
        F->r[in->src_reg] = old;
    return 0;
}

/* Applies the NULL-check outcome to every copy of a lookup result. */
static void null_refine(struct vstate *s, struct vreg *r, bool is_null)
{
    uint32_t id = r->id;
    uint64_t maps = r->maps;
    struct vreg nv;
    if (is_null) {
        vreg_scalar_const(&nv, 0);
    } else {
        vreg_ptr(&nv, VT_MAPVAL, 0);
        nv.maps = maps;
    }
    if (id) {
        for (uint32_t k = 0; k < s->nframes; k++) {
            struct vframe *f = &s->f[k];
            for (unsigned q = 0; q < RT_NR_REGS; q++)
                if (f->r[q].type == VT_MAPVAL_NULL && f->r[q].id == id)
                    f->r[q] = nv;
            for (unsigned q = 0; q < VSLOTS; q++)
                if ((f->spilled & (1ull << q)) && f->slot[q].type == VT_MAPVAL_NULL &&
                    f->slot[q].id == id)
                    f->slot[q] = nv;
        }
    }
    *r = nv;
}

static int do_cond(struct verifier *v, struct vstate *s, uint32_t i, struct vstep *out)
{
    const struct bpf_insn *in = &v->insns[i];
    bool is32 = rt_class(in->code) == BPF_JMP32;
    bool x = rt_srcbit(in->code) == BPF_X;
    unsigned op = rt_op(in->code);
    int err;
    if ((err = vcheck_read(v, i, s, in->dst_reg)))
        return err;
    if (x && (err = vcheck_read(v, i, s, in->src_reg)))
        return err;
    struct vstate *t = out->target_state;
    vstate_copy(t, s);
    out->target = (uint32_t)((int64_t)i + 1 + in->off);
    out->next_insn = i + 1;
    struct vreg *a_f = &vcur(s)->r[in->dst_reg], *a_t = &vcur(t)->r[in->dst_reg];
    struct vreg kf, kt;
    if (!x) {
        vreg_scalar_const(&kf, is32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
        kt = kf;
    }
    struct vreg *b_f = x ? &vcur(s)->r[in->src_reg] : &kf;
    struct vreg *b_t = x ? &vcur(t)->r[in->src_reg] : &kt;
    if (x && in->src_reg == in->dst_reg) { /* compare a register with itself */
        kf = *a_f;
        kt = *a_t;
        b_f = &kf;
        b_t = &kt;
    }

    if (a_f->type == VT_SCALAR && b_f->type == VT_SCALAR) {
        out->has_target = vs_refine(a_t, b_t, op, is32, true);
        out->fall = vs_refine(a_f, b_f, op, is32, false);
        return 0;
    }
    if (a_f->type == VT_MIXED || b_f->type == VT_MIXED)
        return verr(v, i,
                    "r%u holds different kinds of values on different paths: it cannot be "
                    "compared",
                    a_f->type == VT_MIXED ? in->dst_reg : in->src_reg);
    if (is32) { /* the low half of an address: w1 == 0, or a carry between two pointers */
        bool dp = a_f->type != VT_SCALAR;
        return verr(v, i,
                    "32-bit comparison of r%u (%s) is not allowed: it would reveal part of an "
                    "address; compare the 64-bit register",
                    dp ? in->dst_reg : in->src_reg, vtype_name(dp ? a_f : b_f));
    }
    out->has_target = out->fall = true;
    /* The NULL check of a lookup result, in either operand order. */
    struct vreg *pf = NULL, *pt = NULL;
    const struct vreg *other = NULL;
    if (a_f->type == VT_MAPVAL_NULL) {
        pf = a_f, pt = a_t, other = b_f;
    } else if (b_f->type == VT_MAPVAL_NULL) {
        pf = b_f, pt = b_t, other = a_f;
    }
    bool zero = other && other->type == VT_SCALAR && other->umin == 0 && other->umax == 0;
    if (pf && zero && !is32 && (op == BPF_JEQ || op == BPF_JNE)) {
        null_refine(t, pt, op == BPF_JEQ);
        null_refine(s, pf, op != BPF_JEQ);
        return 0;
    }
    if (pf && zero)
        return 0; /* other comparisons with NULL: allowed, nothing learned */
    bool ap = a_f->type != VT_SCALAR, bp = b_f->type != VT_SCALAR;
    if (ap && bp && same_region(a_f, b_f))
        return 0;
    const struct vreg *ptr = ap ? a_f : b_f, *oth = ap ? b_f : a_f;
    if (!(ap && bp) && ptr->type != VT_MAP && oth->umin == 0 && oth->umax == 0)
        return 0; /* a pointer compared with NULL */
    if (!x)
        return verr(v, i, "comparing r%u (%s) with %d is not allowed: it would reveal an address",
                    in->dst_reg, vtype_name(a_f), in->imm);
    return verr(v, i, "comparing r%u (%s) with r%u (%s) is not allowed: it would reveal an address",
                in->dst_reg, vtype_name(a_f), in->src_reg, vtype_name(b_f));
}

static int do_exit(struct verifier *v, struct vstate *s, uint32_t i)
{
    int err = vcheck_read(v, i, s, 0);
    if (err)
        return err;
    const struct vreg *r0 = &vcur(s)->r[0];
    if (s->nframes == 1) {
        if (r0->type != VT_SCALAR)
            return verr(v, i, "r0 is %s at exit: a program must return a scalar", vtype_name(r0));
        return 0;
    }
    if (r0->type == VT_STACK && r0->frame == s->nframes - 1)
        return verr(v, i, "r0 points to this function's stack, which ends with the return");
    return 0;
}

int vinsn_step(struct verifier *v, struct vwalk *w, struct vstate *s, uint32_t i, struct vstep *out)
{
    const struct bpf_insn *in = &v->insns[i];
    unsigned cls = rt_class(in->code), op = rt_op(in->code);
    out->fall = true;
    out->next_insn = i + 1;
    out->has_target = false;
    out->is_exit = false;
    switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
        return do_alu(v, s, i);
    case BPF_LD:
        out->next_insn = i + 2;
        return do_lddw(v, s, i);
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX:
        return do_mem(v, s, i);
    default:
        break;
    }
    switch (op) {
    case BPF_JA:
        out->fall = false;
        out->has_target = true;
        out->target = (uint32_t)((int64_t)i + 1 + (cls == BPF_JMP32 ? in->imm : in->off));
        vstate_copy(out->target_state, s);
        return 0;
    case BPF_EXIT:
        out->fall = false;
        out->is_exit = true;
        return do_exit(v, s, i);
    case BPF_CALL: {
        if (rt_srcbit(in->code) == BPF_X) {
            int err = vcheck_read(v, i, s, in->dst_reg);
            if (err)
                return err;
            const struct vreg *r = &vcur(s)->r[in->dst_reg];
            if (r->type != VT_SCALAR && r->type != VT_MIXED)
                return verr(v, i, "callx r%u: r%u is %s, not a helper number", in->dst_reg,
                            in->dst_reg, vtype_name(r));
            if (r->type == VT_SCALAR && vs_is_const(r) && r->umin <= UINT32_MAX)
                return vcall_helper(v, s, i, (uint32_t)r->umin, true);
            return vcall_dynamic(v, s, i);
        }
        if (in->src_reg == RT_CALL_LOCAL) {
            bool returns = true;
            int err = vcall_local(v, w, s, i, &returns);
            out->fall = returns;
            return err;
        }
        return vcall_helper(v, s, i, (uint32_t)in->imm, false);
    }
    default:
        return do_cond(v, s, i, out);
    }
}
