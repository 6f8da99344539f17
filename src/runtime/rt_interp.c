/*
 * The interpreter: runs a program decoded by rt_interp_decode.c with computed-goto dispatch.
 * Every handler assumes what the verifier proved (operand kinds, initialised registers, static
 * bounds); the only checks left are the ones the decoder selected (_C handlers: region bounds),
 * division by zero / -1 (defined results), atomic alignment, and the instruction budget, which
 * is counted per straight-line segment and checked on backward jumps and local calls.
 * Thread-safe and async-signal-safe: no allocation, no locks, the BPF stack on the C stack.
 * Owns execution only; what runs where is decided by the verifier and decoder.
 */
#include "rt_interp.h"
#include "rt_map.h"
#include "rt_vm.h"

#include <errno.h>
#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct frame_save {
    const struct rt_dinsn *ret;
    uint64_t r6, r7, r8, r9;
};

/* Bounds check for accesses the verifier could not prove: the region comes from the verifier
 * (aux), the address from the program. */
static bool check_access(const struct rt_vm_prog *p, const struct rt_run *rs, uint32_t idx,
                         uintptr_t addr, size_t size)
{
    const struct rt_aux *ax = &p->aux[idx];
    uintptr_t lo, hi;
    switch (ax->region) {
    case RT_RG_STACK: {
        if (ax->frame > rs->depth)
            return false;
        unsigned f = rs->depth - ax->frame;
        lo = rs->frame_lo[f];
        hi = rs->frame_hi[f];
        break;
    }
    case RT_RG_CTX:
    case RT_RG_CTX_DYN:
        lo = (uintptr_t)rs->ctx;
        hi = lo + rs->ctx_size;
        break;
    case RT_RG_MAP: {
        struct rt_map *m = p->maps[ax->idx];
        if (m->global && m->global_data) {
            lo = (uintptr_t)m->global_data;
            hi = lo + m->value_size;
            break;
        }
        return m->ops && m->ops->contains && m->ops->contains(m, addr, size);
    }
    default:
        return false;
    }
    return hi - lo >= size && addr - lo <= (hi - lo) - size && addr >= lo;
}

#ifdef BPFMM_INTERP_AUDIT
#define AUDIT(a, size, write) rt_interp_audit(p, rs, IDX, (a), (size), (write))
#else
#define AUDIT(a, size, write) ((void)0)
#endif

#define LABEL_ADDR(n) [RT_OP_##n] = &&L_##n,

/* GCC: one copy of the labels (noclone) and no global CSE, which would merge the handlers'
 * dispatch jumps into one; clang has neither attribute and needs neither. */
#if defined(__clang__)
#define INTERP_ATTRS __attribute__((noinline, hot))
#else
#define INTERP_ATTRS __attribute__((noinline, noclone, hot, optimize("no-gcse")))
#endif

/* The run loop. With table_out set it only reports its handler table, which is how the decoder
 * gets label addresses (they are only valid for jumps inside this function). noclone keeps a
 * single copy of the labels. */
INTERP_ATTRS static int interp(const struct rt_vm_prog *p, struct rt_run *rs, uint64_t *reg,
                               uint64_t *r0, uint64_t *executed, const void *const **table_out)
{
    static const void *const table[RT_OP__COUNT] = {RT_OPS(LABEL_ADDR)};
    if (table_out) {
        *table_out = table;
        return 0;
    }

    const struct rt_dinsn *const code = p->code;
    const struct rt_dinsn *ip = code;
    const char *seg = (const char *)ip;
    uint64_t used = 0; /* instructions executed so far, times sizeof(struct rt_dinsn) */
    const uint64_t limit = p->budget * sizeof(struct rt_dinsn);
    struct frame_save fr[RT_MAX_FRAMES];
    uintptr_t fa = 0; /* faulting address and size */
    size_t fsz = 0;
    int ret = 0;

#define DISPATCH() goto * ip->h
#define NEXT()                                                                                     \
    do {                                                                                           \
        ip++;                                                                                      \
        DISPATCH();                                                                                \
    } while (0)
#define IDX           ((uint32_t)(ip - code))
#define DST           reg[ip->dst]
#define SRC           reg[ip->src]
#define IMM           ((uint64_t)(int64_t)ip->imm)
#define IMM32         ((uint32_t)ip->imm)
#define DST32         ((uint32_t)reg[ip->dst])
#define SRC32         ((uint32_t)reg[ip->src])
#define OFF           ((uint64_t)(int64_t)ip->off)
#define SEG_ACCOUNT() (used += (uint64_t)((const char *)(ip + 1) - seg))
#define JUMP_FWD(rel)                                                                              \
    do {                                                                                           \
        SEG_ACCOUNT();                                                                             \
        ip += 1 + (rel);                                                                           \
        seg = (const char *)ip;                                                                    \
        DISPATCH();                                                                                \
    } while (0)
#define JUMP_BACK(rel)                                                                             \
    do {                                                                                           \
        SEG_ACCOUNT();                                                                             \
        if (unlikely(used > limit))                                                                \
            goto budget_fault;                                                                     \
        ip += 1 + (rel);                                                                           \
        seg = (const char *)ip;                                                                    \
        DISPATCH();                                                                                \
    } while (0)

    DISPATCH();

    /* --- ALU: 64-bit ---------------------------------------------------------------------- */
L_NOP:
    NEXT();
L_ZEXT32:
    DST = DST32;
    NEXT();
L_ADD64_K:
    DST += IMM;
    NEXT();
L_ADD64_X:
    DST += SRC;
    NEXT();
L_SUB64_K:
    DST -= IMM;
    NEXT();
L_SUB64_X:
    DST -= SRC;
    NEXT();
L_MUL64_K:
    DST *= IMM;
    NEXT();
L_MUL64_X:
    DST *= SRC;
    NEXT();
L_DIV64_K: /* the decoder turned division by a zero immediate into mov 0 */
    DST /= IMM;
    NEXT();
L_DIV64_X:
    DST = SRC ? DST / SRC : 0;
    NEXT();
L_SDIV64_K: /* immediate is neither 0 nor -1 (decoded to mov 0 / neg) */
    DST = (uint64_t)((int64_t)DST / (int64_t)IMM);
    NEXT();
L_SDIV64_X : {
    uint64_t s = SRC;
    if (unlikely(s == 0))
        DST = 0;
    else if (unlikely(s == UINT64_MAX))
        DST = -DST;
    else
        DST = (uint64_t)((int64_t)DST / (int64_t)s);
    NEXT();
}
L_MOD64_K:
    DST %= IMM;
    NEXT();
L_MOD64_X:
    if (likely(SRC))
        DST %= SRC;
    NEXT();
L_SMOD64_K:
    DST = (uint64_t)((int64_t)DST % (int64_t)IMM);
    NEXT();
L_SMOD64_X : {
    uint64_t s = SRC;
    if (unlikely(s == 0))
        NEXT();
    DST = s == UINT64_MAX ? 0 : (uint64_t)((int64_t)DST % (int64_t)s);
    NEXT();
}
L_OR64_K:
    DST |= IMM;
    NEXT();
L_OR64_X:
    DST |= SRC;
    NEXT();
L_AND64_K:
    DST &= IMM;
    NEXT();
L_AND64_X:
    DST &= SRC;
    NEXT();
L_LSH64_K: /* immediate shift counts are masked by the decoder */
    DST <<= ip->imm;
    NEXT();
L_LSH64_X:
    DST <<= (SRC & 63);
    NEXT();
L_RSH64_K:
    DST >>= ip->imm;
    NEXT();
L_RSH64_X:
    DST >>= (SRC & 63);
    NEXT();
L_ARSH64_K:
    DST = (uint64_t)((int64_t)DST >> ip->imm);
    NEXT();
L_ARSH64_X:
    DST = (uint64_t)((int64_t)DST >> (SRC & 63));
    NEXT();
L_XOR64_K:
    DST ^= IMM;
    NEXT();
L_XOR64_X:
    DST ^= SRC;
    NEXT();
L_MOV64_K:
    DST = IMM;
    NEXT();
L_MOV64_X:
    DST = SRC;
    NEXT();
L_NEG64:
    DST = -DST;
    NEXT();
L_MOVSX64_8:
    DST = (uint64_t)(int64_t)(int8_t)SRC;
    NEXT();
L_MOVSX64_16:
    DST = (uint64_t)(int64_t)(int16_t)SRC;
    NEXT();
L_MOVSX64_32:
    DST = (uint64_t)(int64_t)(int32_t)SRC;
    NEXT();

    /* --- ALU: 32-bit (results zero-extended) ---------------------------------------------- */
L_ADD32_K:
    DST = (uint32_t)(DST32 + IMM32);
    NEXT();
L_ADD32_X:
    DST = (uint32_t)(DST32 + SRC32);
    NEXT();
L_SUB32_K:
    DST = (uint32_t)(DST32 - IMM32);
    NEXT();
L_SUB32_X:
    DST = (uint32_t)(DST32 - SRC32);
    NEXT();
L_MUL32_K:
    DST = (uint32_t)(DST32 * IMM32);
    NEXT();
L_MUL32_X:
    DST = (uint32_t)(DST32 * SRC32);
    NEXT();
L_DIV32_K:
    DST = DST32 / IMM32;
    NEXT();
L_DIV32_X : {
    uint32_t s = SRC32;
    DST = s ? DST32 / s : 0;
    NEXT();
}
L_SDIV32_K:
    DST = (uint32_t)((int32_t)DST32 / (int32_t)IMM32);
    NEXT();
L_SDIV32_X : {
    uint32_t s = SRC32;
    if (unlikely(s == 0))
        DST = 0;
    else if (unlikely(s == UINT32_MAX))
        DST = (uint32_t)-DST32;
    else
        DST = (uint32_t)((int32_t)DST32 / (int32_t)s);
    NEXT();
}
L_MOD32_K:
    DST = DST32 % IMM32;
    NEXT();
L_MOD32_X : {
    uint32_t s = SRC32;
    DST = s ? DST32 % s : DST32;
    NEXT();
}
L_SMOD32_K:
    DST = (uint32_t)((int32_t)DST32 % (int32_t)IMM32);
    NEXT();
L_SMOD32_X : {
    uint32_t s = SRC32;
    if (unlikely(s == 0))
        DST = DST32;
    else if (unlikely(s == UINT32_MAX))
        DST = 0;
    else
        DST = (uint32_t)((int32_t)DST32 % (int32_t)s);
    NEXT();
}
L_OR32_K:
    DST = DST32 | IMM32;
    NEXT();
L_OR32_X:
    DST = DST32 | SRC32;
    NEXT();
L_AND32_K:
    DST = DST32 & IMM32;
    NEXT();
L_AND32_X:
    DST = DST32 & SRC32;
    NEXT();
L_LSH32_K:
    DST = (uint32_t)(DST32 << ip->imm);
    NEXT();
L_LSH32_X:
    DST = (uint32_t)(DST32 << (SRC & 31));
    NEXT();
L_RSH32_K:
    DST = DST32 >> ip->imm;
    NEXT();
L_RSH32_X:
    DST = DST32 >> (SRC & 31);
    NEXT();
L_ARSH32_K:
    DST = (uint32_t)((int32_t)DST32 >> ip->imm);
    NEXT();
L_ARSH32_X:
    DST = (uint32_t)((int32_t)DST32 >> (SRC & 31));
    NEXT();
L_XOR32_K:
    DST = DST32 ^ IMM32;
    NEXT();
L_XOR32_X:
    DST = DST32 ^ SRC32;
    NEXT();
L_MOV32_K:
    DST = IMM32;
    NEXT();
L_MOV32_X:
    DST = SRC32;
    NEXT();
L_NEG32:
    DST = (uint32_t)-DST32;
    NEXT();
L_MOVSX32_8:
    DST = (uint32_t)(int32_t)(int8_t)SRC;
    NEXT();
L_MOVSX32_16:
    DST = (uint32_t)(int32_t)(int16_t)SRC;
    NEXT();

    /* --- byte order ----------------------------------------------------------------------- */
L_LE16:
    DST = (uint16_t)DST;
    NEXT();
L_LE32:
    DST = DST32;
    NEXT();
L_BSWAP16:
    DST = __builtin_bswap16((uint16_t)DST);
    NEXT();
L_BSWAP32:
    DST = __builtin_bswap32(DST32);
    NEXT();
L_BSWAP64:
    DST = __builtin_bswap64(DST);
    NEXT();

    /* --- loads and stores ----------------------------------------------------------------- */
L_LDDW:
    DST = ip[1].imm64;
    ip += 2;
    DISPATCH();

#define LOAD(T, CONV)                                                                              \
    {                                                                                              \
        T v;                                                                                       \
        AUDIT((uintptr_t)(SRC + OFF), sizeof(T), false);                                           \
        memcpy(&v, (const void *)(uintptr_t)(SRC + OFF), sizeof(v));                               \
        DST = CONV v;                                                                              \
        NEXT();                                                                                    \
    }
#define LOAD_C(T, CONV)                                                                            \
    {                                                                                              \
        uintptr_t a = (uintptr_t)(SRC + OFF);                                                      \
        if (unlikely(!check_access(p, rs, IDX, a, sizeof(T)))) {                                   \
            fa = a;                                                                                \
            fsz = sizeof(T);                                                                       \
            goto mem_fault;                                                                        \
        }                                                                                          \
        T v;                                                                                       \
        memcpy(&v, (const void *)a, sizeof(v));                                                    \
        DST = CONV v;                                                                              \
        NEXT();                                                                                    \
    }
L_LDXB:
    LOAD(uint8_t, (uint64_t));
L_LDXH:
    LOAD(uint16_t, (uint64_t));
L_LDXW:
    LOAD(uint32_t, (uint64_t));
L_LDXDW:
    LOAD(uint64_t, );
L_LDXSB:
    LOAD(int8_t, (uint64_t)(int64_t));
L_LDXSH:
    LOAD(int16_t, (uint64_t)(int64_t));
L_LDXSW:
    LOAD(int32_t, (uint64_t)(int64_t));
L_LDXB_C:
    LOAD_C(uint8_t, (uint64_t));
L_LDXH_C:
    LOAD_C(uint16_t, (uint64_t));
L_LDXW_C:
    LOAD_C(uint32_t, (uint64_t));
L_LDXDW_C:
    LOAD_C(uint64_t, );
L_LDXSB_C:
    LOAD_C(int8_t, (uint64_t)(int64_t));
L_LDXSH_C:
    LOAD_C(int16_t, (uint64_t)(int64_t));
L_LDXSW_C:
    LOAD_C(int32_t, (uint64_t)(int64_t));

#define STORE(T, VAL)                                                                              \
    {                                                                                              \
        T v = (T)(VAL);                                                                            \
        AUDIT((uintptr_t)(DST + OFF), sizeof(T), true);                                            \
        memcpy((void *)(uintptr_t)(DST + OFF), &v, sizeof(v));                                     \
        NEXT();                                                                                    \
    }
#define STORE_C(T, VAL)                                                                            \
    {                                                                                              \
        uintptr_t a = (uintptr_t)(DST + OFF);                                                      \
        if (unlikely(!check_access(p, rs, IDX, a, sizeof(T)))) {                                   \
            fa = a;                                                                                \
            fsz = sizeof(T);                                                                       \
            goto mem_fault;                                                                        \
        }                                                                                          \
        T v = (T)(VAL);                                                                            \
        memcpy((void *)a, &v, sizeof(v));                                                          \
        NEXT();                                                                                    \
    }
L_STB:
    STORE(uint8_t, IMM);
L_STH:
    STORE(uint16_t, IMM);
L_STW:
    STORE(uint32_t, IMM);
L_STDW:
    STORE(uint64_t, IMM);
L_STB_C:
    STORE_C(uint8_t, IMM);
L_STH_C:
    STORE_C(uint16_t, IMM);
L_STW_C:
    STORE_C(uint32_t, IMM);
L_STDW_C:
    STORE_C(uint64_t, IMM);
L_STXB:
    STORE(uint8_t, SRC);
L_STXH:
    STORE(uint16_t, SRC);
L_STXW:
    STORE(uint32_t, SRC);
L_STXDW:
    STORE(uint64_t, SRC);
L_STXB_C:
    STORE_C(uint8_t, SRC);
L_STXH_C:
    STORE_C(uint16_t, SRC);
L_STXW_C:
    STORE_C(uint32_t, SRC);
L_STXDW_C:
    STORE_C(uint64_t, SRC);

    /* --- atomics: real atomic instructions, so programs sharing a map value stay sound ------ */
#define ATOMIC_PTR(T)                                                                              \
    T *ap;                                                                                         \
    {                                                                                              \
        uintptr_t a = (uintptr_t)(DST + OFF);                                                      \
        if (unlikely((a & (sizeof(T) - 1)) != 0)) {                                                \
            fa = a;                                                                                \
            fsz = sizeof(T);                                                                       \
            goto align_fault;                                                                      \
        }                                                                                          \
        if (unlikely(p->aux[IDX].region != RT_RG_NONE) &&                                          \
            !check_access(p, rs, IDX, a, sizeof(T))) {                                             \
            fa = a;                                                                                \
            fsz = sizeof(T);                                                                       \
            goto mem_fault;                                                                        \
        }                                                                                          \
        AUDIT(a, sizeof(T), true);                                                                 \
        ap = (T *)a;                                                                               \
    }
#define ATOMIC_OP(T, FN)                                                                           \
    {                                                                                              \
        ATOMIC_PTR(T);                                                                             \
        FN(ap, (T)SRC, __ATOMIC_SEQ_CST);                                                          \
        NEXT();                                                                                    \
    }
#define ATOMIC_FETCH(T, FN)                                                                        \
    {                                                                                              \
        ATOMIC_PTR(T);                                                                             \
        SRC = (uint64_t)FN(ap, (T)SRC, __ATOMIC_SEQ_CST);                                          \
        NEXT();                                                                                    \
    }
#define ATOMIC_CMPXCHG(T)                                                                          \
    {                                                                                              \
        ATOMIC_PTR(T);                                                                             \
        T expected = (T)reg[0];                                                                    \
        __atomic_compare_exchange_n(ap, &expected, (T)SRC, false, __ATOMIC_SEQ_CST,                \
                                    __ATOMIC_SEQ_CST);                                             \
        reg[0] = (uint64_t)expected;                                                               \
        NEXT();                                                                                    \
    }
L_AADD32:
    ATOMIC_OP(uint32_t, __atomic_fetch_add);
L_AOR32:
    ATOMIC_OP(uint32_t, __atomic_fetch_or);
L_AAND32:
    ATOMIC_OP(uint32_t, __atomic_fetch_and);
L_AXOR32:
    ATOMIC_OP(uint32_t, __atomic_fetch_xor);
L_AFADD32:
    ATOMIC_FETCH(uint32_t, __atomic_fetch_add);
L_AFOR32:
    ATOMIC_FETCH(uint32_t, __atomic_fetch_or);
L_AFAND32:
    ATOMIC_FETCH(uint32_t, __atomic_fetch_and);
L_AFXOR32:
    ATOMIC_FETCH(uint32_t, __atomic_fetch_xor);
L_AXCHG32:
    ATOMIC_FETCH(uint32_t, __atomic_exchange_n);
L_ACMPXCHG32:
    ATOMIC_CMPXCHG(uint32_t);
L_AADD64:
    ATOMIC_OP(uint64_t, __atomic_fetch_add);
L_AOR64:
    ATOMIC_OP(uint64_t, __atomic_fetch_or);
L_AAND64:
    ATOMIC_OP(uint64_t, __atomic_fetch_and);
L_AXOR64:
    ATOMIC_OP(uint64_t, __atomic_fetch_xor);
L_AFADD64:
    ATOMIC_FETCH(uint64_t, __atomic_fetch_add);
L_AFOR64:
    ATOMIC_FETCH(uint64_t, __atomic_fetch_or);
L_AFAND64:
    ATOMIC_FETCH(uint64_t, __atomic_fetch_and);
L_AFXOR64:
    ATOMIC_FETCH(uint64_t, __atomic_fetch_xor);
L_AXCHG64:
    ATOMIC_FETCH(uint64_t, __atomic_exchange_n);
L_ACMPXCHG64:
    ATOMIC_CMPXCHG(uint64_t);

    /* --- jumps ---------------------------------------------------------------------------- */
L_JA:
    JUMP_FWD(ip->imm);
L_JA_B:
    JUMP_BACK(ip->imm);

#define CMP_JEQ(a, b, U, S)  ((U)(a) == (U)(b))
#define CMP_JNE(a, b, U, S)  ((U)(a) != (U)(b))
#define CMP_JGT(a, b, U, S)  ((U)(a) > (U)(b))
#define CMP_JGE(a, b, U, S)  ((U)(a) >= (U)(b))
#define CMP_JLT(a, b, U, S)  ((U)(a) < (U)(b))
#define CMP_JLE(a, b, U, S)  ((U)(a) <= (U)(b))
#define CMP_JSGT(a, b, U, S) ((S)(U)(a) > (S)(U)(b))
#define CMP_JSGE(a, b, U, S) ((S)(U)(a) >= (S)(U)(b))
#define CMP_JSLT(a, b, U, S) ((S)(U)(a) < (S)(U)(b))
#define CMP_JSLE(a, b, U, S) ((S)(U)(a) <= (S)(U)(b))
#define CMP_JSET(a, b, U, S) (((U)(a) & (U)(b)) != 0)
#define JMP_GROUP(C)                                                                               \
    L_##C##_K : if (CMP_##C(DST, IMM, uint64_t, int64_t)) JUMP_FWD(ip->off);                       \
    NEXT();                                                                                        \
    L_##C##_X : if (CMP_##C(DST, SRC, uint64_t, int64_t)) JUMP_FWD(ip->off);                       \
    NEXT();                                                                                        \
    L_##C##32_K : if (CMP_##C(DST, IMM32, uint32_t, int32_t)) JUMP_FWD(ip->off);                   \
    NEXT();                                                                                        \
    L_##C##32_X : if (CMP_##C(DST, SRC, uint32_t, int32_t)) JUMP_FWD(ip->off);                     \
    NEXT();                                                                                        \
    L_##C##_K_B : if (CMP_##C(DST, IMM, uint64_t, int64_t)) JUMP_BACK(ip->off);                    \
    NEXT();                                                                                        \
    L_##C##_X_B : if (CMP_##C(DST, SRC, uint64_t, int64_t)) JUMP_BACK(ip->off);                    \
    NEXT();                                                                                        \
    L_##C##32_K_B : if (CMP_##C(DST, IMM32, uint32_t, int32_t)) JUMP_BACK(ip->off);                \
    NEXT();                                                                                        \
    L_##C##32_X_B : if (CMP_##C(DST, SRC, uint32_t, int32_t)) JUMP_BACK(ip->off);                  \
    NEXT();

    JMP_GROUP(JEQ)
    JMP_GROUP(JNE)
    JMP_GROUP(JGT)
    JMP_GROUP(JGE)
    JMP_GROUP(JLT)
    JMP_GROUP(JLE)
    JMP_GROUP(JSGT)
    JMP_GROUP(JSGE)
    JMP_GROUP(JSLT)
    JMP_GROUP(JSLE)
    JMP_GROUP(JSET)

    /* --- calls ---------------------------------------------------------------------------- */
L_CALL_BUILTIN : {
    const struct rt_call *c = &p->calls[ip->imm];
    rs->insn = IDX;
    reg[0] = c->builtin(rs, reg[1], reg[2], reg[3], reg[4], reg[5]);
    if (unlikely(rs->faulted))
        goto helper_fault;
    NEXT();
}
L_CALL_HOST : {
    const struct rt_call *c = &p->calls[ip->imm];
    reg[0] = c->host_fn(p->host, reg[1], reg[2], reg[3], reg[4], reg[5]);
    NEXT();
}
L_CALLX : {
    uint64_t id = DST;
    const struct rt_call *c = rt_interp_find_dyn(p, id);
    if (unlikely(!c)) {
        rt_interp_callx_fault(rs, IDX, id,
                              " is not a helper that can be called through a register");
        goto helper_fault;
    }
    unsigned need = (1u << c->nargs) - 1;
    if (unlikely((p->aux[IDX].callx_init & need) != need)) {
        rt_interp_callx_fault(rs, IDX, id, ": one of its arguments is not an initialised scalar");
        goto helper_fault;
    }
    rs->insn = IDX;
    if (c->host)
        reg[0] = c->host_fn(p->host, reg[1], reg[2], reg[3], reg[4], reg[5]);
    else
        reg[0] = c->builtin(rs, reg[1], reg[2], reg[3], reg[4], reg[5]);
    if (unlikely(rs->faulted))
        goto helper_fault;
    NEXT();
}
L_CALL_LOCAL : {
    const struct rt_aux *ax = &p->aux[IDX];
    unsigned d = rs->depth;
    SEG_ACCOUNT();
    if (unlikely(used > limit))
        goto budget_fault;
    fr[d].ret = ip + 1;
    fr[d].r6 = reg[6];
    fr[d].r7 = reg[7];
    fr[d].r8 = reg[8];
    fr[d].r9 = reg[9];
    uintptr_t nfp = rs->frame_hi[d] - ax->caller_depth;
    d++;
    rs->depth = d;
    rs->frame_hi[d] = nfp;
    rs->frame_lo[d] = nfp - ax->callee_depth;
    reg[10] = nfp;
    ip += 1 + ip->imm;
    seg = (const char *)ip;
    DISPATCH();
}
L_EXIT : {
    SEG_ACCOUNT();
    unsigned d = rs->depth;
    if (d == 0) {
        *r0 = reg[0];
        goto out;
    }
    d--;
    rs->depth = d;
    ip = fr[d].ret;
    reg[6] = fr[d].r6;
    reg[7] = fr[d].r7;
    reg[8] = fr[d].r8;
    reg[9] = fr[d].r9;
    reg[10] = rs->frame_hi[d];
    seg = (const char *)ip;
    DISPATCH();
}

L_TRAP : {
    rt_interp_fault(rs, BPFMM_RT_FAULT_MEM, IDX,
                    "internal error: executed an instruction the verifier found unreachable");
    SEG_ACCOUNT();
    ret = -EFAULT;
    goto out;
}

budget_fault:
    rt_interp_budget_fault(p, rs, IDX);
    ret = -EFAULT;
    goto out;
mem_fault:
    rt_interp_mem_fault(p, rs, IDX, fa, fsz, false);
    SEG_ACCOUNT();
    ret = -EFAULT;
    goto out;
align_fault:
    rt_interp_mem_fault(p, rs, IDX, fa, fsz, true);
    SEG_ACCOUNT();
    ret = -EFAULT;
    goto out;
helper_fault:
    SEG_ACCOUNT();
    ret = -EFAULT;
out:
    *executed = used / sizeof(struct rt_dinsn);
    return ret;
}

const void *const *rt_interp_handlers(void)
{
    const void *const *t = NULL;
    interp(NULL, NULL, NULL, NULL, NULL, &t);
    return t;
}

int rt_interp_exec(const struct rt_vm_prog *p, struct rt_run *rs, uint64_t *reg, uint64_t *r0,
                   uint64_t *executed)
{
    return interp(p, rs, reg, r0, executed, NULL);
}
