/*
 * Structural verification, before any abstract interpretation: program size, opcode validity
 * for the whole ISA up to cpu v4, register numbers and r10 being read-only, reserved fields,
 * lddw pairs, jump and call targets, function boundaries (the main program at 0, sub-programs at
 * call targets), fall-through, recursion and call depth, unreachable instructions, and loops
 * from which no exit is reachable. Also marks basic-block leaders and loop heads for the walk.
 * Owns no value tracking (rt_verify_insn.c and friends).
 */
#include "rt_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int bad_opcode(struct verifier *v, uint32_t i)
{
    return verr(v, i, "invalid opcode 0x%02x", v->insns[i].code);
}

static int reserved(struct verifier *v, uint32_t i, const char *field)
{
    return verr(v, i, "reserved field %s must be zero (opcode 0x%02x)", field, v->insns[i].code);
}

/* Instructions that write their dst register may not name r10. */
static int check_dst_write(struct verifier *v, uint32_t i)
{
    if (v->insns[i].dst_reg == RT_REG_FP)
        return verr(v, i, "r10 is read-only (it is the frame pointer)");
    return 0;
}

static int check_alu(struct verifier *v, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    bool is64 = rt_class(in->code) == BPF_ALU64;
    unsigned op = rt_op(in->code);
    bool x = rt_srcbit(in->code) == BPF_X;

    if (op == BPF_END) {
        if (is64 && rt_srcbit(in->code) != RT_BPF_BSWAP)
            return bad_opcode(v, i);
        if (in->src_reg)
            return reserved(v, i, "src");
        if (in->off)
            return reserved(v, i, "offset");
        if (in->imm != 16 && in->imm != 32 && in->imm != 64)
            return verr(v, i, "byte swap width must be 16, 32 or 64, not %d", in->imm);
        return check_dst_write(v, i);
    }
    if (op > BPF_END)
        return bad_opcode(v, i);
    if (op == BPF_NEG) {
        if (x)
            return bad_opcode(v, i);
        if (in->src_reg)
            return reserved(v, i, "src");
        if (in->imm)
            return reserved(v, i, "imm");
        if (in->off)
            return reserved(v, i, "offset");
        return check_dst_write(v, i);
    }
    if (!x && in->src_reg)
        return reserved(v, i, "src");
    if (x && in->imm)
        return reserved(v, i, "imm");
    if (in->off) {
        bool ok = false;
        if ((op == BPF_DIV || op == BPF_MOD) && in->off == RT_OFF_SDIV)
            ok = true;
        if (op == BPF_MOV && x &&
            (in->off == RT_OFF_MOVSX8 || in->off == RT_OFF_MOVSX16 ||
             (is64 && in->off == RT_OFF_MOVSX32)))
            ok = true;
        if (!ok)
            return verr(v, i, "invalid offset %d for ALU opcode 0x%02x", in->off, in->code);
    }
    return check_dst_write(v, i);
}

static bool atomic_op_valid(int32_t imm)
{
    switch (imm) {
    case RT_ATOMIC_ADD:
    case RT_ATOMIC_OR:
    case RT_ATOMIC_AND:
    case RT_ATOMIC_XOR:
    case RT_ATOMIC_ADD | RT_ATOMIC_FETCH:
    case RT_ATOMIC_OR | RT_ATOMIC_FETCH:
    case RT_ATOMIC_AND | RT_ATOMIC_FETCH:
    case RT_ATOMIC_XOR | RT_ATOMIC_FETCH:
    case RT_ATOMIC_XCHG:
    case RT_ATOMIC_CMPXCHG:
        return true;
    default:
        return false;
    }
}

static int check_mem(struct verifier *v, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    unsigned cls = rt_class(in->code), mode = rt_mode(in->code), size = rt_size(in->code);
    switch (cls) {
    case BPF_LDX:
        if (mode != BPF_MEM && !(mode == RT_BPF_MEMSX && size != BPF_DW))
            return bad_opcode(v, i);
        if (in->imm)
            return reserved(v, i, "imm");
        return check_dst_write(v, i);
    case BPF_ST:
        if (mode != BPF_MEM)
            return bad_opcode(v, i);
        if (in->src_reg)
            return reserved(v, i, "src");
        return 0;
    default: /* BPF_STX */
        if (mode == BPF_MEM) {
            if (in->imm)
                return reserved(v, i, "imm");
            return 0;
        }
        if (mode != BPF_ATOMIC || (size != BPF_W && size != BPF_DW))
            return bad_opcode(v, i);
        if (!atomic_op_valid(in->imm))
            return verr(v, i, "invalid atomic operation 0x%02x", (unsigned)in->imm);
        if ((in->imm & RT_ATOMIC_FETCH) && in->src_reg == RT_REG_FP)
            return verr(v, i, "r10 is read-only (atomic fetch would write it)");
        return 0;
    }
}

static int check_lddw(struct verifier *v, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    if (in->code != (BPF_LD | BPF_IMM | BPF_DW)) {
        if (rt_mode(in->code) == BPF_ABS || rt_mode(in->code) == BPF_IND)
            return verr(v, i,
                        "legacy packet access (LD_ABS/LD_IND, opcode 0x%02x) is not supported",
                        in->code);
        return bad_opcode(v, i);
    }
    if (i + 1 >= v->n)
        return verr(v, i, "lddw is missing its second half (it is the last instruction)");
    const struct bpf_insn *hi = &in[1];
    if (hi->code || hi->dst_reg || hi->src_reg || hi->off)
        return verr(v, i, "second half of lddw (insn %u) must have opcode, registers and offset 0",
                    i + 1);
    if (in->off)
        return reserved(v, i, "offset");
    switch (in->src_reg) {
    case RT_LDDW_IMM:
        break;
    case RT_LDDW_MAP_FD:
    case RT_LDDW_MAP_IDX:
    case RT_LDDW_MAP_VAL:
    case RT_LDDW_MAP_IDX_VAL:
        if ((uint32_t)in->imm >= v->src->nr_maps)
            return verr(v, i, "lddw refers to map %u but the program has %u map%s",
                        (uint32_t)in->imm, v->src->nr_maps, v->src->nr_maps == 1 ? "" : "s");
        if ((uint32_t)in->imm >= V_MAX_MAPS)
            return verr(v, i, "lddw refers to map %u; a program may use at most %d maps",
                        (uint32_t)in->imm, V_MAX_MAPS);
        if ((in->src_reg == RT_LDDW_MAP_FD || in->src_reg == RT_LDDW_MAP_IDX) && hi->imm)
            return verr(v, i, "second half of a map lddw must have imm 0");
        break;
    case RT_LDDW_BTF_ID:
        return verr(v, i, "lddw of a kernel variable (src 3) is not supported");
    case RT_LDDW_FUNC:
        return verr(v, i, "lddw of a function address (src 4) is not supported");
    default:
        return verr(v, i, "invalid lddw source type %u", in->src_reg);
    }
    return check_dst_write(v, i);
}

/* Validates a jump or call instruction; *target receives the jump/call target (or -1). */
static int check_jmp(struct verifier *v, uint32_t i, int64_t *target)
{
    const struct bpf_insn *in = &v->insns[i];
    bool is32 = rt_class(in->code) == BPF_JMP32;
    unsigned op = rt_op(in->code);
    bool x = rt_srcbit(in->code) == BPF_X;
    *target = -1;
    switch (op) {
    case BPF_JA:
        if (x)
            return bad_opcode(v, i);
        if (in->dst_reg)
            return reserved(v, i, "dst");
        if (in->src_reg)
            return reserved(v, i, "src");
        if (is32) { /* gotol: offset in imm */
            if (in->off)
                return reserved(v, i, "offset");
            *target = (int64_t)i + 1 + in->imm;
        } else {
            if (in->imm)
                return reserved(v, i, "imm");
            *target = (int64_t)i + 1 + in->off;
        }
        return 0;
    case BPF_CALL:
        if (is32)
            return bad_opcode(v, i);
        if (in->off)
            return reserved(v, i, "offset");
        if (x) { /* callx: the register holding the helper id is in dst */
            if (in->src_reg)
                return reserved(v, i, "src");
            if (in->imm)
                return reserved(v, i, "imm");
            return 0;
        }
        if (in->dst_reg)
            return reserved(v, i, "dst");
        if (in->src_reg == RT_CALL_LOCAL) {
            *target = (int64_t)i + 1 + in->imm;
            return 0;
        }
        if (in->src_reg == RT_CALL_KFUNC)
            return verr(v, i, "kfunc calls (call with src 2) are not supported");
        if (in->src_reg != RT_CALL_HELPER)
            return verr(v, i, "invalid call source type %u", in->src_reg);
        return 0;
    case BPF_EXIT:
        if (is32 || x)
            return bad_opcode(v, i);
        if (in->dst_reg || in->src_reg)
            return reserved(v, i, "registers");
        if (in->off || in->imm)
            return reserved(v, i, "offset/imm");
        return 0;
    case 0xe0:
        return verr(v, i, "may_goto (opcode 0x%02x) is not supported", in->code);
    case 0xf0:
        return bad_opcode(v, i);
    default: /* conditional jumps */
        if (!x && in->src_reg)
            return reserved(v, i, "src");
        if (x && in->imm)
            return reserved(v, i, "imm");
        *target = (int64_t)i + 1 + in->off;
        return 0;
    }
}

static bool is_cond_jump(const struct bpf_insn *in)
{
    unsigned op = rt_op(in->code);
    return rt_is_jmp(rt_class(in->code)) && op != BPF_JA && op != BPF_CALL && op != BPF_EXIT;
}

static bool is_local_call(const struct bpf_insn *in)
{
    return in->code == (BPF_JMP | BPF_CALL) && in->src_reg == RT_CALL_LOCAL;
}

static bool is_uncond(const struct bpf_insn *in)
{
    unsigned cls = rt_class(in->code), op = rt_op(in->code);
    return rt_is_jmp(cls) && (op == BPF_JA || op == BPF_EXIT);
}

static bool is_exit(const struct bpf_insn *in)
{
    return in->code == (BPF_JMP | BPF_EXIT);
}

static bool has_jump_target(const struct bpf_insn *in)
{
    unsigned cls = rt_class(in->code), op = rt_op(in->code);
    return rt_is_jmp(cls) && op != BPF_CALL && op != BPF_EXIT;
}

/* Jump target of instruction i (-1 if none; local calls excluded). Only meaningful after the
 * targets were validated: before that, test has_jump_target() (a target may be negative). */
static int64_t jump_target(const struct verifier *v, uint32_t i)
{
    const struct bpf_insn *in = &v->insns[i];
    unsigned cls = rt_class(in->code), op = rt_op(in->code);
    if (!has_jump_target(in))
        return -1;
    if (op == BPF_JA && cls == BPF_JMP32)
        return (int64_t)i + 1 + in->imm;
    return (int64_t)i + 1 + in->off;
}

static uint32_t insn_len(const struct verifier *v, uint32_t i)
{
    return rt_is_lddw(&v->insns[i]) ? 2 : 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static const char *func_name(struct verifier *v, uint32_t start)
{
    for (uint32_t k = 0; k < v->src->nr_syms; k++)
        if (v->src->syms[k].insn == start && v->src->syms[k].name)
            return v->src->syms[k].name;
    return NULL;
}

static int find_functions(struct verifier *v)
{
    uint32_t cap = 1, n = 1;
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & VF_LDDW2) && is_local_call(&v->insns[i]))
            cap++;
    uint32_t *starts = malloc(cap * sizeof(*starts));
    if (!starts)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    starts[0] = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & VF_LDDW2) && is_local_call(&v->insns[i]))
            starts[n++] = (uint32_t)((int64_t)i + 1 + v->insns[i].imm);
    qsort(starts, n, sizeof(*starts), cmp_u32);
    uint32_t u = 0;
    for (uint32_t k = 0; k < n; k++)
        if (u == 0 || starts[k] != starts[u - 1])
            starts[u++] = starts[k];
    v->funcs = calloc(u, sizeof(*v->funcs));
    if (!v->funcs) {
        free(starts);
        return verr_code(v, -ENOMEM, 0, "out of memory");
    }
    v->nfuncs = u;
    for (uint32_t k = 0; k < u; k++) {
        struct vfunc *f = &v->funcs[k];
        f->start = starts[k];
        f->end = k + 1 < u ? starts[k + 1] : v->n;
        f->name = func_name(v, f->start);
        v->flags[f->start] |= VF_FUNCSTART | VF_LEADER;
        for (uint32_t i = f->start; i < f->end; i++)
            v->func_of[i] = k;
    }
    free(starts);
    return 0;
}

/* Function names for messages: the symbol, else "main" / "func@N". */
static void fname(const struct verifier *v, uint32_t k, char *buf, size_t size)
{
    if (v->funcs[k].name)
        snprintf(buf, size, "%s", v->funcs[k].name);
    else if (v->funcs[k].start == 0)
        snprintf(buf, size, "main");
    else
        snprintf(buf, size, "func@%u", v->funcs[k].start);
}

/* "main -> f -> g" for the DFS stack [from, depth] followed by g. */
static void chain_text(struct verifier *v, const uint32_t *stack, uint32_t from, uint32_t depth,
                       uint32_t g, char *chain, size_t size)
{
    size_t len = 0;
    char nm[64];
    chain[0] = '\0';
    for (uint32_t k = from; k <= depth && len + 70 < size; k++) {
        fname(v, stack[k], nm, sizeof(nm));
        len += (size_t)snprintf(chain + len, size - len, "%s -> ", nm);
    }
    fname(v, g, nm, sizeof(nm));
    snprintf(chain + len, size - len, "%s", nm);
}

/* DFS over the call graph: recursion (color 1 = on the DFS stack) and call depth. height[f] is
 * the number of frames of f's deepest call chain (f included), memoised so shared callees are
 * explored once; the DFS never goes deeper than RT_MAX_FRAMES. */
static int call_dfs(struct verifier *v, uint32_t f, uint8_t *color, uint32_t *height,
                    uint32_t *stack, uint32_t depth)
{
    stack[depth] = f;
    color[f] = 1;
    height[f] = 1;
    for (uint32_t i = v->funcs[f].start; i < v->funcs[f].end; i++) {
        if ((v->flags[i] & VF_LDDW2) || !is_local_call(&v->insns[i]))
            continue;
        uint32_t g = v->func_of[(int64_t)i + 1 + v->insns[i].imm];
        char chain[256];
        if (color[g] == 1) {
            uint32_t k = 0;
            while (stack[k] != g)
                k++;
            chain_text(v, stack, k, depth, g, chain, sizeof(chain));
            return verr(v, i, "recursive call (%s); bpf-to-bpf recursion is not allowed", chain);
        }
        if (color[g] == 0 && depth + 2 <= RT_MAX_FRAMES) {
            int err = call_dfs(v, g, color, height, stack, depth + 1);
            if (err)
                return err;
        }
        if (color[g] == 0) { /* not explored: the chain up to g is already too deep */
            chain_text(v, stack, 0, depth, g, chain, sizeof(chain));
            return verr(v, i, "call chain %s is deeper than %d frames", chain, RT_MAX_FRAMES);
        }
        uint32_t frames = depth + 1 + height[g];
        if (frames > RT_MAX_FRAMES) {
            chain_text(v, stack, 0, depth, g, chain, sizeof(chain));
            return verr(v, i, "call chain %s -> ... is %u frames deep; the limit is %d", chain,
                        frames, RT_MAX_FRAMES);
        }
        if (height[g] + 1 > height[f])
            height[f] = height[g] + 1;
    }
    color[f] = 2;
    return 0;
}

static int check_reachability(struct verifier *v)
{
    uint32_t *work = malloc((size_t)v->n * sizeof(*work));
    if (!work)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    uint32_t top = 0;
    work[top++] = 0;
    v->flags[0] |= VF_REACHED;
    while (top) {
        uint32_t i = work[--top];
        const struct bpf_insn *in = &v->insns[i];
        int64_t succ[2];
        int ns = 0;
        if (!is_uncond(in))
            succ[ns++] = i + insn_len(v, i);
        int64_t t = jump_target(v, i);
        if (t >= 0)
            succ[ns++] = t;
        if (is_local_call(in))
            succ[ns++] = (int64_t)i + 1 + in->imm;
        for (int k = 0; k < ns; k++) {
            uint32_t s = (uint32_t)succ[k];
            if (!(v->flags[s] & VF_REACHED)) {
                v->flags[s] |= VF_REACHED;
                work[top++] = s;
            }
        }
    }
    free(work);
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & (VF_REACHED | VF_LDDW2)))
            return verr(v, i, "unreachable instruction");
    return 0;
}

/* Marks instructions from which an exit of their function is reachable (reverse search over
 * intra-function edges; a local call continues at the next instruction), then rejects reachable
 * loops that cannot reach one: they would certainly run until the budget stops them. */
static int check_endless_loops(struct verifier *v)
{
    uint32_t *npred = calloc((size_t)v->n + 1, sizeof(*npred));
    uint32_t *work = malloc((size_t)v->n * sizeof(*work));
    uint32_t *pred = NULL;
    int err = 0;
    if (!npred || !work)
        goto nomem;
    /* Predecessor lists in CSR form: npred[t + 1] counts, then prefix sums. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < v->n; i++) {
            if ((v->flags[i] & VF_LDDW2) || !(v->flags[i] & VF_REACHED))
                continue;
            int64_t succ[2];
            int ns = 0;
            if (!is_uncond(&v->insns[i]))
                succ[ns++] = i + insn_len(v, i);
            int64_t t = jump_target(v, i);
            if (t >= 0)
                succ[ns++] = t;
            for (int k = 0; k < ns; k++) {
                if (pass == 0)
                    npred[succ[k] + 1]++;
                else
                    pred[work[succ[k]]++] = i;
            }
        }
        if (pass == 0) {
            for (uint32_t i = 0; i < v->n; i++)
                npred[i + 1] += npred[i];
            pred = malloc((size_t)npred[v->n] * sizeof(*pred) + 1);
            if (!pred)
                goto nomem;
            memcpy(work, npred, (size_t)v->n * sizeof(*work)); /* fill cursors */
        }
    }
    uint32_t top = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & VF_LDDW2) && (v->flags[i] & VF_REACHED) && is_exit(&v->insns[i])) {
            v->flags[i] |= VF_EXITS;
            work[top++] = i;
        }
    while (top) {
        uint32_t s = work[--top];
        for (uint32_t k = npred[s]; k < npred[s + 1]; k++) {
            uint32_t p = pred[k];
            if (!(v->flags[p] & VF_EXITS)) {
                v->flags[p] |= VF_EXITS;
                work[top++] = p;
            }
        }
    }
    for (uint32_t i = 0; i < v->n && !err; i++) {
        int64_t t = jump_target(v, i);
        if ((v->flags[i] & VF_LDDW2) || !(v->flags[i] & VF_REACHED) || t < 0 || t > i)
            continue;
        if (!(v->flags[i] & VF_EXITS))
            err = verr(v, (uint32_t)t,
                       "infinite loop: no path from the loop at insns %u..%u reaches an exit",
                       (uint32_t)t, i);
    }
    for (uint32_t i = 0; i < v->n && !err; i++)
        if ((v->flags[i] & VF_REACHED) && !(v->flags[i] & (VF_EXITS | VF_LDDW2)))
            err = verr(v, i, "no path from this instruction reaches an exit");
    free(npred);
    free(work);
    free(pred);
    return err;
nomem:
    free(npred);
    free(work);
    free(pred);
    return verr_code(v, -ENOMEM, 0, "out of memory");
}

int vcfg_check(struct verifier *v)
{
    int err;
    if (v->n == 0)
        return verr(v, 0, "the program is empty");
    if (v->n > RT_MAX_INSNS)
        return verr_code(v, -E2BIG, RT_MAX_INSNS,
                         "the program has %u instructions; the limit is %u", v->n, RT_MAX_INSNS);

    /* Opcodes, registers, reserved fields, lddw pairs. */
    for (uint32_t i = 0; i < v->n; i++) {
        const struct bpf_insn *in = &v->insns[i];
        unsigned cls = rt_class(in->code);
        if (in->dst_reg > RT_REG_FP)
            return verr(v, i, "invalid register r%u (dst)", in->dst_reg);
        if (cls != BPF_LD && !(rt_is_jmp(cls) && rt_op(in->code) == BPF_CALL) &&
            in->src_reg > RT_REG_FP)
            return verr(v, i, "invalid register r%u (src)", in->src_reg);
        int64_t t;
        switch (cls) {
        case BPF_LD:
            err = check_lddw(v, i);
            if (!err)
                v->flags[++i] |= VF_LDDW2;
            break;
        case BPF_LDX:
        case BPF_ST:
        case BPF_STX:
            err = check_mem(v, i);
            break;
        case BPF_ALU:
        case BPF_ALU64:
            err = check_alu(v, i);
            break;
        default:
            err = check_jmp(v, i, &t);
            break;
        }
        if (err)
            return err;
    }

    /* Jump and call targets. */
    for (uint32_t i = 0; i < v->n; i++) {
        const struct bpf_insn *in = &v->insns[i];
        if ((v->flags[i] & VF_LDDW2) || !rt_is_jmp(rt_class(in->code)))
            continue;
        bool call = is_local_call(in);
        if (!call && !has_jump_target(in))
            continue;
        int64_t t = call ? (int64_t)i + 1 + in->imm : jump_target(v, i);
        if (t < 0 || t >= v->n)
            return verr(v, i, "%s insn %lld is out of range (the program has %u instructions)",
                        call ? "call to" : "jump to", (long long)t, v->n);
        if (v->flags[t] & VF_LDDW2)
            return verr(v, i, "%s the middle of lddw at insn %lld",
                        call ? "call into" : "jump into", (long long)t - 1);
    }

    if ((err = find_functions(v)))
        return err;

    /* Jumps stay in their function; nothing falls through past a function's end. */
    for (uint32_t i = 0; i < v->n; i++) {
        const struct bpf_insn *in = &v->insns[i];
        if (v->flags[i] & VF_LDDW2)
            continue;
        uint32_t f = v->func_of[i];
        int64_t t = jump_target(v, i);
        if (t >= 0) {
            if (v->func_of[t] != f) {
                char a[64], b[64];
                fname(v, f, a, sizeof(a));
                fname(v, v->func_of[t], b, sizeof(b));
                return verr(v, i, "jump to insn %lld leaves function %s for %s", (long long)t, a,
                            b);
            }
            v->flags[t] |= VF_LEADER;
            if (t <= i)
                v->flags[t] |= VF_LOOPHEAD;
        }
        uint32_t nx = i + insn_len(v, i);
        if (!is_uncond(in) && nx >= v->funcs[f].end) {
            if (nx >= v->n)
                return verr(v, i,
                            "execution falls off the end of the program (the last instruction "
                            "must be exit or a jump)");
            char a[64], b[64];
            fname(v, f, a, sizeof(a));
            fname(v, v->func_of[nx], b, sizeof(b));
            return verr(v, i, "execution falls through from function %s into %s", a, b);
        }
        if ((is_cond_jump(in) || is_uncond(in)) && nx < v->n)
            v->flags[nx] |= VF_LEADER;
    }

    /* Call graph: no recursion, bounded depth. */
    uint8_t *color = calloc(v->nfuncs, 1);
    uint32_t *height = calloc(v->nfuncs, sizeof(*height));
    uint32_t *stack = calloc(v->nfuncs + 1, sizeof(*stack));
    if (!color || !height || !stack) {
        free(color);
        free(height);
        free(stack);
        return verr_code(v, -ENOMEM, 0, "out of memory");
    }
    err = call_dfs(v, 0, color, height, stack, 0);
    free(color);
    free(height);
    free(stack);
    if (err)
        return err;

    if ((err = check_reachability(v)))
        return err;
    return check_endless_loops(v);
}
