/*
 * Disassembler: one instruction (two for lddw) as text in the syntax of llvm-objdump and the
 * kernel's verifier log ("r0 = *(u32 *)(r1 + 16)", "if w1 s> 5 goto +3"), with jump targets as
 * instruction indexes, helper names and map names. Works on unverified input (invalid
 * encodings print as .insn). Owns no validation.
 */
#include "rt_helpers.h"
#include "rt_insn.h"
#include "rt_map.h"
#include "rt_vm.h"

#include <stdarg.h>
#include <stdio.h>

static void out(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void out(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
    if (*len >= size)
        *len = size ? size - 1 : 0;
}

static const char *size_name(unsigned size, bool sx)
{
    switch (size) {
    case BPF_B:
        return sx ? "s8" : "u8";
    case BPF_H:
        return sx ? "s16" : "u16";
    case BPF_W:
        return sx ? "s32" : "u32";
    default:
        return "u64";
    }
}

static void memref(char *buf, size_t size, size_t *len, unsigned reg, int16_t off)
{
    if (off < 0)
        out(buf, size, len, "(r%u - %d)", reg, -(int)off);
    else
        out(buf, size, len, "(r%u + %d)", reg, off);
}

static const char *alu_sym(unsigned op, int16_t off)
{
    switch (op) {
    case BPF_ADD:
        return "+=";
    case BPF_SUB:
        return "-=";
    case BPF_MUL:
        return "*=";
    case BPF_DIV:
        return off == RT_OFF_SDIV ? "s/=" : "/=";
    case BPF_OR:
        return "|=";
    case BPF_AND:
        return "&=";
    case BPF_LSH:
        return "<<=";
    case BPF_RSH:
        return ">>=";
    case BPF_MOD:
        return off == RT_OFF_SDIV ? "s%=" : "%=";
    case BPF_XOR:
        return "^=";
    case BPF_ARSH:
        return "s>>=";
    default:
        return NULL;
    }
}

static const char *jmp_sym(unsigned op)
{
    switch (op) {
    case BPF_JEQ:
        return "==";
    case BPF_JGT:
        return ">";
    case BPF_JGE:
        return ">=";
    case BPF_JSET:
        return "&";
    case BPF_JNE:
        return "!=";
    case BPF_JSGT:
        return "s>";
    case BPF_JSGE:
        return "s>=";
    case BPF_JLT:
        return "<";
    case BPF_JLE:
        return "<=";
    case BPF_JSLT:
        return "s<";
    case BPF_JSLE:
        return "s<=";
    default:
        return NULL;
    }
}

static void invalid(const struct bpf_insn *in, char *buf, size_t size, size_t *len)
{
    out(buf, size, len, ".insn 0x%02x dst=%u src=%u off=%d imm=%d (invalid)", in->code, in->dst_reg,
        in->src_reg, in->off, in->imm);
}

static void alu(const struct bpf_insn *in, char *buf, size_t size, size_t *len)
{
    bool is64 = rt_class(in->code) == BPF_ALU64;
    bool x = rt_srcbit(in->code) == BPF_X;
    char r = is64 ? 'r' : 'w';
    unsigned op = rt_op(in->code);
    if (op == BPF_END) {
        const char *kind = is64 ? "bswap" : rt_srcbit(in->code) == BPF_TO_BE ? "be" : "le";
        out(buf, size, len, "r%u = %s%d r%u", in->dst_reg, kind, in->imm, in->dst_reg);
        return;
    }
    if (op == BPF_NEG) {
        out(buf, size, len, "%c%u = -%c%u", r, in->dst_reg, r, in->dst_reg);
        return;
    }
    if (op == BPF_MOV) {
        if (!x)
            out(buf, size, len, "%c%u = %d", r, in->dst_reg, in->imm);
        else if (in->off)
            out(buf, size, len, "%c%u = (s%d)%c%u", r, in->dst_reg, in->off, r, in->src_reg);
        else
            out(buf, size, len, "%c%u = %c%u", r, in->dst_reg, r, in->src_reg);
        return;
    }
    const char *sym = alu_sym(op, in->off);
    if (!sym) {
        invalid(in, buf, size, len);
        return;
    }
    if (x)
        out(buf, size, len, "%c%u %s %c%u", r, in->dst_reg, sym, r, in->src_reg);
    else
        out(buf, size, len, "%c%u %s %d", r, in->dst_reg, sym, in->imm);
}

static void atomic(const struct bpf_insn *in, char *buf, size_t size, size_t *len)
{
    bool w64 = rt_size(in->code) == BPF_DW;
    const char *ty = w64 ? "u64" : "u32";
    char r = w64 ? 'r' : 'w';
    const char *ops[] = {"+=", "|=", "&=", "^="};
    const char *names[] = {"add", "or", "and", "xor"};
    int k = -1;
    switch (in->imm & ~RT_ATOMIC_FETCH) {
    case RT_ATOMIC_ADD:
        k = 0;
        break;
    case RT_ATOMIC_OR:
        k = 1;
        break;
    case RT_ATOMIC_AND:
        k = 2;
        break;
    case RT_ATOMIC_XOR:
        k = 3;
        break;
    }
    if (in->imm == RT_ATOMIC_XCHG) {
        out(buf, size, len, "%c%u = xchg_%d(r%u %c %d, %c%u)", r, in->src_reg, w64 ? 64 : 32,
            in->dst_reg, in->off < 0 ? '-' : '+', in->off < 0 ? -in->off : in->off, r, in->src_reg);
    } else if (in->imm == RT_ATOMIC_CMPXCHG) {
        out(buf, size, len, "%c0 = cmpxchg_%d(r%u %c %d, %c0, %c%u)", r, w64 ? 64 : 32, in->dst_reg,
            in->off < 0 ? '-' : '+', in->off < 0 ? -in->off : in->off, r, r, in->src_reg);
    } else if (k >= 0 && (in->imm & RT_ATOMIC_FETCH)) {
        out(buf, size, len, "%c%u = atomic_fetch_%s((%s *)", r, in->src_reg, names[k], ty);
        memref(buf, size, len, in->dst_reg, in->off);
        out(buf, size, len, ", %c%u)", r, in->src_reg);
    } else if (k >= 0) {
        out(buf, size, len, "lock *(%s *)", ty);
        memref(buf, size, len, in->dst_reg, in->off);
        out(buf, size, len, " %s %c%u", ops[k], r, in->src_reg);
    } else {
        invalid(in, buf, size, len);
    }
}

static void call(const struct bpf_insn *in, uint32_t idx, char *buf, size_t size, size_t *len)
{
    if (rt_srcbit(in->code) == BPF_X) {
        out(buf, size, len, "callx r%u", in->dst_reg);
        return;
    }
    if (in->src_reg == RT_CALL_LOCAL) {
        out(buf, size, len, "call pc%+d <insn %lld>", in->imm, (long long)idx + 1 + in->imm);
        return;
    }
    if (in->src_reg == RT_CALL_KFUNC) {
        out(buf, size, len, "call kfunc#%d", in->imm);
        return;
    }
    const struct rt_helper_proto *h = rt_helper_builtin((uint32_t)in->imm);
    const char *name = h ? h->name : rt_helper_linux_name((uint32_t)in->imm);
    if (name)
        out(buf, size, len, "call %s#%d", name, in->imm);
    else
        out(buf, size, len, "call #%u", (uint32_t)in->imm);
}

int rt_vm_disasm_insn(const struct bpf_insn *insns, uint32_t idx, uint32_t nr_insns,
                      struct rt_map *const *maps, uint32_t nr_maps, char *buf, size_t size)
{
    size_t len = 0;
    if (!buf || !size)
        return 1;
    buf[0] = '\0';
    if (!insns || idx >= nr_insns)
        return 0;
    const struct bpf_insn *in = &insns[idx];
    unsigned cls = rt_class(in->code);
    switch (cls) {
    case BPF_LD: {
        if (!rt_is_lddw(in) || idx + 1 >= nr_insns) {
            invalid(in, buf, size, &len);
            return 1;
        }
        uint32_t m = (uint32_t)in->imm;
        const char *mname = m < nr_maps && maps && maps[m] ? maps[m]->name : NULL;
        switch (in->src_reg) {
        case RT_LDDW_IMM:
            out(buf, size, &len, "r%u = 0x%llx ll", in->dst_reg,
                (unsigned long long)((uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32)));
            break;
        case RT_LDDW_MAP_FD:
        case RT_LDDW_MAP_IDX:
            if (mname)
                out(buf, size, &len, "r%u = map[%s] ll", in->dst_reg, mname);
            else
                out(buf, size, &len, "r%u = map[#%u] ll", in->dst_reg, m);
            break;
        case RT_LDDW_MAP_VAL:
        case RT_LDDW_MAP_IDX_VAL:
            if (mname)
                out(buf, size, &len, "r%u = map_value[%s] + %u ll", in->dst_reg, mname,
                    (uint32_t)in[1].imm);
            else
                out(buf, size, &len, "r%u = map_value[#%u] + %u ll", in->dst_reg, m,
                    (uint32_t)in[1].imm);
            break;
        default:
            out(buf, size, &len, "r%u = <lddw src %u> %d ll", in->dst_reg, in->src_reg, in->imm);
        }
        return 2;
    }
    case BPF_LDX:
        out(buf, size, &len, "r%u = *(%s *)", in->dst_reg,
            size_name(rt_size(in->code), rt_mode(in->code) == RT_BPF_MEMSX));
        memref(buf, size, &len, in->src_reg, in->off);
        return 1;
    case BPF_ST:
        out(buf, size, &len, "*(%s *)", size_name(rt_size(in->code), false));
        memref(buf, size, &len, in->dst_reg, in->off);
        out(buf, size, &len, " = %d", in->imm);
        return 1;
    case BPF_STX:
        if (rt_mode(in->code) == BPF_ATOMIC) {
            atomic(in, buf, size, &len);
            return 1;
        }
        out(buf, size, &len, "*(%s *)", size_name(rt_size(in->code), false));
        memref(buf, size, &len, in->dst_reg, in->off);
        out(buf, size, &len, " = r%u", in->src_reg);
        return 1;
    case BPF_ALU:
    case BPF_ALU64:
        alu(in, buf, size, &len);
        return 1;
    default:
        break;
    }
    unsigned op = rt_op(in->code);
    bool is32 = cls == BPF_JMP32;
    switch (op) {
    case BPF_JA: {
        int64_t rel = is32 ? in->imm : in->off;
        out(buf, size, &len, "%s %+lld <insn %lld>", is32 ? "gotol" : "goto", (long long)rel,
            (long long)idx + 1 + rel);
        return 1;
    }
    case BPF_CALL:
        call(in, idx, buf, size, &len);
        return 1;
    case BPF_EXIT:
        out(buf, size, &len, "exit");
        return 1;
    default:
        break;
    }
    const char *sym = jmp_sym(op);
    if (!sym) {
        invalid(in, buf, size, &len);
        return 1;
    }
    char r = is32 ? 'w' : 'r';
    if (rt_srcbit(in->code) == BPF_X)
        out(buf, size, &len, "if %c%u %s %c%u goto %+d <insn %lld>", r, in->dst_reg, sym, r,
            in->src_reg, in->off, (long long)idx + 1 + in->off);
    else
        out(buf, size, &len, "if %c%u %s %d goto %+d <insn %lld>", r, in->dst_reg, sym, in->imm,
            in->off, (long long)idx + 1 + in->off);
    return 1;
}
