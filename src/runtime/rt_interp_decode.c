/*
 * Turns a verified program into the interpreter's form: one handler per instruction, chosen with
 * what the verifier learned. Accesses it proved get unchecked handlers; the others get _C
 * handlers with their region in aux. Division and modulo by constant 0 or -1, and constant shift
 * counts, are resolved here so the hot handlers need no test. Backward jumps get _B handlers,
 * which check the instruction budget. Helpers are resolved to function pointers. Unvisited
 * (provably dead) instructions become traps. Owns no verification.
 */
#include "rt_map.h"
#include "rt_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vdecode(struct verifier *v, struct rt_vm_prog *p);

#define PICK(NAME)                                                                                 \
    (is64 ? (x ? RT_OP_##NAME##64_X : RT_OP_##NAME##64_K)                                          \
          : (x ? RT_OP_##NAME##32_X : RT_OP_##NAME##32_K))

static enum rt_op alu_op(const struct bpf_insn *in, struct rt_dinsn *d)
{
    bool is64 = rt_class(in->code) == BPF_ALU64;
    bool x = rt_srcbit(in->code) == BPF_X;
    int32_t imm = in->imm;
    switch (rt_op(in->code)) {
    case BPF_ADD:
        return PICK(ADD);
    case BPF_SUB:
        return PICK(SUB);
    case BPF_MUL:
        return PICK(MUL);
    case BPF_OR:
        return PICK(OR);
    case BPF_AND:
        return PICK(AND);
    case BPF_XOR:
        return PICK(XOR);
    case BPF_DIV:
        if (!x && imm == 0) { /* defined result: 0 */
            d->imm = 0;
            return is64 ? RT_OP_MOV64_K : RT_OP_MOV32_K;
        }
        if (in->off == RT_OFF_SDIV) {
            if (!x && imm == -1)
                return is64 ? RT_OP_NEG64 : RT_OP_NEG32;
            return PICK(SDIV);
        }
        return PICK(DIV);
    case BPF_MOD:
        if (!x && imm == 0) /* defined result: dst unchanged (32-bit: zero-extended) */
            return is64 ? RT_OP_NOP : RT_OP_ZEXT32;
        if (in->off == RT_OFF_SDIV) {
            if (!x && imm == -1) {
                d->imm = 0;
                return is64 ? RT_OP_MOV64_K : RT_OP_MOV32_K;
            }
            return PICK(SMOD);
        }
        return PICK(MOD);
    case BPF_LSH:
        d->imm = imm & (is64 ? 63 : 31);
        return PICK(LSH);
    case BPF_RSH:
        d->imm = imm & (is64 ? 63 : 31);
        return PICK(RSH);
    case BPF_ARSH:
        d->imm = imm & (is64 ? 63 : 31);
        return PICK(ARSH);
    case BPF_NEG:
        return is64 ? RT_OP_NEG64 : RT_OP_NEG32;
    case BPF_MOV:
        if (!x || in->off == 0)
            return PICK(MOV);
        if (in->off == RT_OFF_MOVSX8)
            return is64 ? RT_OP_MOVSX64_8 : RT_OP_MOVSX32_8;
        if (in->off == RT_OFF_MOVSX16)
            return is64 ? RT_OP_MOVSX64_16 : RT_OP_MOVSX32_16;
        return RT_OP_MOVSX64_32;
    default: /* BPF_END */
        if (is64 || rt_srcbit(in->code) == BPF_TO_BE)
            return imm == 16 ? RT_OP_BSWAP16 : imm == 32 ? RT_OP_BSWAP32 : RT_OP_BSWAP64;
        return imm == 16 ? RT_OP_LE16 : imm == 32 ? RT_OP_LE32 : RT_OP_NOP;
    }
}

static enum rt_op mem_op(const struct bpf_insn *in, bool checked)
{
    unsigned cls = rt_class(in->code), size = rt_size(in->code);
    unsigned k = size == BPF_B ? 0 : size == BPF_H ? 1 : size == BPF_W ? 2 : 3;
    static const enum rt_op ldx[2][4] = {{RT_OP_LDXB, RT_OP_LDXH, RT_OP_LDXW, RT_OP_LDXDW},
                                         {RT_OP_LDXB_C, RT_OP_LDXH_C, RT_OP_LDXW_C, RT_OP_LDXDW_C}};
    static const enum rt_op ldxsx[2][3] = {{RT_OP_LDXSB, RT_OP_LDXSH, RT_OP_LDXSW},
                                           {RT_OP_LDXSB_C, RT_OP_LDXSH_C, RT_OP_LDXSW_C}};
    static const enum rt_op st[2][4] = {{RT_OP_STB, RT_OP_STH, RT_OP_STW, RT_OP_STDW},
                                        {RT_OP_STB_C, RT_OP_STH_C, RT_OP_STW_C, RT_OP_STDW_C}};
    static const enum rt_op stx[2][4] = {{RT_OP_STXB, RT_OP_STXH, RT_OP_STXW, RT_OP_STXDW},
                                         {RT_OP_STXB_C, RT_OP_STXH_C, RT_OP_STXW_C, RT_OP_STXDW_C}};
    if (cls == BPF_LDX)
        return rt_mode(in->code) == RT_BPF_MEMSX ? ldxsx[checked][k] : ldx[checked][k];
    if (cls == BPF_ST)
        return st[checked][k];
    if (rt_mode(in->code) == BPF_MEM)
        return stx[checked][k];
    bool w64 = size == BPF_DW;
    switch (in->imm) {
    case RT_ATOMIC_ADD:
        return w64 ? RT_OP_AADD64 : RT_OP_AADD32;
    case RT_ATOMIC_OR:
        return w64 ? RT_OP_AOR64 : RT_OP_AOR32;
    case RT_ATOMIC_AND:
        return w64 ? RT_OP_AAND64 : RT_OP_AAND32;
    case RT_ATOMIC_XOR:
        return w64 ? RT_OP_AXOR64 : RT_OP_AXOR32;
    case RT_ATOMIC_ADD | RT_ATOMIC_FETCH:
        return w64 ? RT_OP_AFADD64 : RT_OP_AFADD32;
    case RT_ATOMIC_OR | RT_ATOMIC_FETCH:
        return w64 ? RT_OP_AFOR64 : RT_OP_AFOR32;
    case RT_ATOMIC_AND | RT_ATOMIC_FETCH:
        return w64 ? RT_OP_AFAND64 : RT_OP_AFAND32;
    case RT_ATOMIC_XOR | RT_ATOMIC_FETCH:
        return w64 ? RT_OP_AFXOR64 : RT_OP_AFXOR32;
    case RT_ATOMIC_XCHG:
        return w64 ? RT_OP_AXCHG64 : RT_OP_AXCHG32;
    default:
        return w64 ? RT_OP_ACMPXCHG64 : RT_OP_ACMPXCHG32;
    }
}

#define JGROUP(C)                                                                                  \
    case BPF_##C:                                                                                  \
        base = RT_OP_##C##_K;                                                                      \
        break;

/* The 8 variants of a conditional jump are consecutive in rt_interp_ops.h:
 * _K _X 32_K 32_X _K_B _X_B 32_K_B 32_X_B. */
static enum rt_op jmp_op(const struct bpf_insn *in, bool back)
{
    enum rt_op base = RT_OP_JEQ_K;
    switch (rt_op(in->code)) {
        JGROUP(JEQ)
        JGROUP(JNE)
        JGROUP(JGT)
        JGROUP(JGE)
        JGROUP(JLT)
        JGROUP(JLE)
        JGROUP(JSGT)
        JGROUP(JSGE)
        JGROUP(JSLT)
        JGROUP(JSLE)
        JGROUP(JSET)
    default:
        break;
    }
    unsigned k = (rt_srcbit(in->code) == BPF_X ? 1 : 0) +
                 (rt_class(in->code) == BPF_JMP32 ? 2 : 0) + (back ? 4 : 0);
    return (enum rt_op)(base + k);
}

static int call_index(struct verifier *v, struct rt_vm_prog *p, uint32_t id, uint32_t *index)
{
    for (uint32_t k = 0; k < p->nr_calls; k++)
        if (p->calls[k].id == id) {
            *index = k;
            return 0;
        }
    struct vhelper h;
    if (!vhelper_find(v, id, &h))
        return verr(v, 0, "internal error: helper %u vanished", id);
    struct rt_call *c = realloc(p->calls, (p->nr_calls + 1) * sizeof(*c));
    if (!c)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    p->calls = c;
    c = &p->calls[p->nr_calls];
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->name = h.proto ? h.proto->name : NULL; /* host names need not outlive the load */
    if (h.host) {
        c->host = true;
        c->host_fn = h.host->fn;
        c->nargs = (uint8_t)h.host->nr_args;
    } else {
        c->builtin = h.proto->fn;
        c->nargs = h.proto->nargs;
    }
    *index = p->nr_calls++;
    return 0;
}

static int cmp_call(const void *a, const void *b)
{
    uint32_t x = ((const struct rt_call *)a)->id, y = ((const struct rt_call *)b)->id;
    return (x > y) - (x < y);
}

/* Helpers a dynamic callx may reach: the host's and the scalar-only built-ins. */
static int build_dyn(struct verifier *v, struct rt_vm_prog *p)
{
    static const uint32_t ids[] = {BPF_FUNC_ktime_get_ns,         BPF_FUNC_get_prandom_u32,
                                   BPF_FUNC_get_smp_processor_id, BPF_FUNC_get_current_pid_tgid,
                                   BPF_FUNC_ktime_get_boot_ns,    BPF_FUNC_ktime_get_coarse_ns};
    const struct rt_vm_opts *o = v->opts;
    size_t cap = o->nr_host_helpers + sizeof(ids) / sizeof(ids[0]);
    p->dyn = calloc(cap ? cap : 1, sizeof(*p->dyn));
    if (!p->dyn)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    for (unsigned k = 0; k < o->nr_host_helpers; k++) {
        const struct bpfmm_rt_helper *h = &o->host_helpers[k];
        bool dup = false;
        for (uint32_t j = 0; j < p->nr_dyn; j++)
            dup |= p->dyn[j].id == h->id;
        if (!h->fn || dup || h->nr_args > 5)
            continue;
        struct rt_call *c = &p->dyn[p->nr_dyn++];
        c->id = h->id;
        c->host = true;
        c->host_fn = h->fn;
        c->nargs = (uint8_t)h->nr_args;
    }
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        bool dup = false;
        for (uint32_t j = 0; j < p->nr_dyn; j++)
            dup |= p->dyn[j].id == ids[k];
        const struct rt_helper_proto *h = rt_helper_builtin(ids[k]);
        if (dup || !h || !rt_helper_scalar_only(h))
            continue;
        struct rt_call *c = &p->dyn[p->nr_dyn++];
        c->id = h->id;
        c->builtin = h->fn;
        c->nargs = h->nargs;
        c->name = h->name;
    }
    qsort(p->dyn, p->nr_dyn, sizeof(*p->dyn), cmp_call);
    return 0;
}

static uint64_t lddw_value(struct verifier *v, const struct bpf_insn *in)
{
    uint32_t idx = (uint32_t)in->imm;
    switch (in->src_reg) {
    case RT_LDDW_IMM:
        return (uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32);
    case RT_LDDW_MAP_FD:
    case RT_LDDW_MAP_IDX:
        return (uintptr_t)v->src->maps[idx];
    default: {
        struct rt_map *m = v->src->maps[idx];
        uint8_t *base = m->global_data;
        if (!base) {
            uint32_t zero = 0;
            base = m->ops->lookup(m, &zero);
        }
        return (uintptr_t)base + (uint32_t)in[1].imm;
    }
    }
}

int vdecode(struct verifier *v, struct rt_vm_prog *p)
{
    const void *const *H = rt_interp_handlers();
    bool need_dyn = false;
    int err;
    p->code = aligned_alloc(64, ((size_t)v->n * sizeof(struct rt_dinsn) + 63) & ~(size_t)63);
    p->aux = calloc(v->n, sizeof(*p->aux));
    if (!p->code || !p->aux)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    memset(p->code, 0, (size_t)v->n * sizeof(struct rt_dinsn));

    for (uint32_t i = 0; i < v->n; i++) {
        const struct bpf_insn *in = &v->insns[i];
        struct rt_dinsn *d = &p->code[i];
        struct rt_aux *ax = &p->aux[i];
        const struct vinfo *info = &v->info[i];
        if (v->flags[i] & VF_LDDW2)
            continue;
        d->dst = in->dst_reg;
        d->src = in->src_reg;
        d->off = in->off;
        d->imm = in->imm;
        enum rt_op op = RT_OP_TRAP;
        if (!info->visited) {
            d->h = H[op];
            continue;
        }
        unsigned cls = rt_class(in->code);
        switch (cls) {
        case BPF_ALU:
        case BPF_ALU64:
            op = alu_op(in, d);
            break;
        case BPF_LD:
            op = RT_OP_LDDW;
            p->code[i + 1].imm64 = lddw_value(v, in);
            break;
        case BPF_LDX:
        case BPF_ST:
        case BPF_STX: {
            bool atomic = cls == BPF_STX && rt_mode(in->code) == BPF_ATOMIC;
            op = mem_op(in, info->checked && !atomic);
            if (info->checked) {
                ax->region = info->region;
                ax->frame = info->frame;
                ax->idx = info->map;
                ax->write = info->write;
            }
            break;
        }
        default: {
            unsigned jop = rt_op(in->code);
            if (jop == BPF_EXIT) {
                op = RT_OP_EXIT;
            } else if (jop == BPF_JA) {
                int64_t rel = cls == BPF_JMP32 ? in->imm : in->off;
                d->imm = (int32_t)rel;
                op = rel < 0 ? RT_OP_JA_B : RT_OP_JA;
            } else if (jop == BPF_CALL) {
                bool callx = rt_srcbit(in->code) == BPF_X;
                if (!callx && in->src_reg == RT_CALL_LOCAL) {
                    uint32_t g = v->func_of[(int64_t)i + 1 + in->imm];
                    op = RT_OP_CALL_LOCAL;
                    ax->idx = g;
                    ax->caller_depth = (uint16_t)v->funcs[v->func_of[i]].depth;
                    ax->callee_depth = (uint16_t)v->funcs[g].depth;
                } else if (callx && (info->callx_dyn || info->helper < 0)) {
                    op = RT_OP_CALLX;
                    ax->callx_init = info->callx_init;
                    need_dyn = true;
                } else {
                    uint32_t idx = 0;
                    if ((err = call_index(v, p, (uint32_t)info->helper, &idx)))
                        return err;
                    d->imm = (int32_t)idx;
                    op = p->calls[idx].host ? RT_OP_CALL_HOST : RT_OP_CALL_BUILTIN;
                }
            } else {
                op = jmp_op(in, in->off < 0);
            }
            break;
        }
        }
        d->h = H[op];
    }
    if (need_dyn && (err = build_dyn(v, p)))
        return err;
    return 0;
}
