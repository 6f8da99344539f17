/*
 * eBPF instruction encoding as the VM sees it: the opcode fields of RFC 9669 up to cpu v4,
 * including what the machine's Linux 6.1 <linux/bpf.h> lacks (MEMSX, SDIV/SMOD and MOVSX
 * selected by the offset field, BSWAP, gotol), small field accessors, and RT_I_* builders for
 * writing instruction arrays in C (tests, benchmarks). Owns no logic.
 */
#ifndef BPFMM_RT_INSN_H
#define BPFMM_RT_INSN_H

#include <linux/bpf.h>
#include <stdint.h>

/* Classes, sizes and modes (bpf_common.h has most; these may be missing on older headers). */
#ifndef BPF_JMP32
#define BPF_JMP32 0x06
#endif
#ifndef BPF_ALU64
#define BPF_ALU64 0x07
#endif
#ifndef BPF_ATOMIC
#define BPF_ATOMIC 0xc0
#endif
#define RT_BPF_MEMSX 0x80 /* LDX with sign extension (v4) */

/* ALU operations whose variant is chosen by the offset field (v4). */
#define RT_OFF_SDIV    1 /* BPF_DIV / BPF_MOD with offset 1: signed */
#define RT_OFF_MOVSX8  8 /* BPF_MOV X with offset 8/16/32: sign-extending move */
#define RT_OFF_MOVSX16 16
#define RT_OFF_MOVSX32 32

/* BPF_END in the ALU64 class with BPF_TO_LE (0) is the unconditional byte swap (v4). */
#define RT_BPF_BSWAP BPF_TO_LE

/* Atomic operations (imm of BPF_STX | BPF_ATOMIC). */
#define RT_ATOMIC_ADD     0x00
#define RT_ATOMIC_OR      0x40
#define RT_ATOMIC_AND     0x50
#define RT_ATOMIC_XOR     0xa0
#define RT_ATOMIC_FETCH   0x01
#define RT_ATOMIC_XCHG    (0xe0 | RT_ATOMIC_FETCH)
#define RT_ATOMIC_CMPXCHG (0xf0 | RT_ATOMIC_FETCH)

/* lddw source types (src_reg of BPF_LD | BPF_IMM | BPF_DW). */
#define RT_LDDW_IMM         0
#define RT_LDDW_MAP_FD      1 /* imm read as a map index */
#define RT_LDDW_MAP_VAL     2 /* imm read as a map index, second imm = offset */
#define RT_LDDW_BTF_ID      3
#define RT_LDDW_FUNC        4
#define RT_LDDW_MAP_IDX     5
#define RT_LDDW_MAP_IDX_VAL 6

/* CALL source types. */
#define RT_CALL_HELPER 0
#define RT_CALL_LOCAL  1
#define RT_CALL_KFUNC  2

#define RT_NR_REGS     11 /* r0..r10 */
#define RT_REG_FP      10
#define RT_STACK_SIZE  512 /* bytes per frame */
#define RT_MAX_FRAMES  8   /* call depth, counting the main program */
#define RT_MAX_INSNS   1000000u

static inline unsigned rt_class(uint8_t code)
{
    return code & 0x07;
}

static inline unsigned rt_size(uint8_t code)
{
    return code & 0x18;
}

static inline unsigned rt_mode(uint8_t code)
{
    return code & 0xe0;
}

static inline unsigned rt_op(uint8_t code)
{
    return code & 0xf0;
}

static inline unsigned rt_srcbit(uint8_t code)
{
    return code & 0x08;
}

/* Bytes moved by a load/store of the given BPF_SIZE. */
static inline unsigned rt_size_bytes(unsigned size)
{
    switch (size) {
    case BPF_B:
        return 1;
    case BPF_H:
        return 2;
    case BPF_W:
        return 4;
    default:
        return 8;
    }
}

static inline int rt_is_lddw(const struct bpf_insn *in)
{
    return in->code == (BPF_LD | BPF_IMM | BPF_DW);
}

static inline int rt_is_alu(unsigned cls)
{
    return cls == BPF_ALU || cls == BPF_ALU64;
}

static inline int rt_is_jmp(unsigned cls)
{
    return cls == BPF_JMP || cls == BPF_JMP32;
}

/* --- builders: struct bpf_insn initialisers ------------------------------------------------ */

#define RT_I(CODE, DST, SRC, OFF, IMM)                                                             \
    ((struct bpf_insn){                                                                            \
        .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)})
#define RT_I_ALU64_IMM(OP, D, IMM) RT_I(BPF_ALU64 | (OP) | BPF_K, D, 0, 0, IMM)
#define RT_I_ALU64_REG(OP, D, S)   RT_I(BPF_ALU64 | (OP) | BPF_X, D, S, 0, 0)
#define RT_I_ALU32_IMM(OP, D, IMM) RT_I(BPF_ALU | (OP) | BPF_K, D, 0, 0, IMM)
#define RT_I_ALU32_REG(OP, D, S)   RT_I(BPF_ALU | (OP) | BPF_X, D, S, 0, 0)
#define RT_I_MOV64_IMM(D, IMM)     RT_I_ALU64_IMM(BPF_MOV, D, IMM)
#define RT_I_MOV64_REG(D, S)       RT_I_ALU64_REG(BPF_MOV, D, S)
#define RT_I_MOV32_IMM(D, IMM)     RT_I_ALU32_IMM(BPF_MOV, D, IMM)
#define RT_I_MOV32_REG(D, S)       RT_I_ALU32_REG(BPF_MOV, D, S)
/* lddw: two instructions */
#define RT_I_LD_IMM64(D, V)                                                                        \
    RT_I(BPF_LD | BPF_DW | BPF_IMM, D, 0, 0, (int32_t)(uint32_t)(uint64_t)(V)),                    \
        RT_I(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(V) >> 32))
#define RT_I_LD_MAP(D, IDX)                                                                        \
    RT_I(BPF_LD | BPF_DW | BPF_IMM, D, RT_LDDW_MAP_IDX, 0, IDX), RT_I(0, 0, 0, 0, 0)
#define RT_I_LD_MAP_VALUE(D, IDX, OFF)                                                             \
    RT_I(BPF_LD | BPF_DW | BPF_IMM, D, RT_LDDW_MAP_IDX_VAL, 0, IDX), RT_I(0, 0, 0, 0, OFF)
#define RT_I_LDX(SZ, D, S, OFF)         RT_I(BPF_LDX | BPF_MEM | (SZ), D, S, OFF, 0)
#define RT_I_LDXSX(SZ, D, S, OFF)       RT_I(BPF_LDX | RT_BPF_MEMSX | (SZ), D, S, OFF, 0)
#define RT_I_ST(SZ, D, OFF, IMM)        RT_I(BPF_ST | BPF_MEM | (SZ), D, 0, OFF, IMM)
#define RT_I_STX(SZ, D, S, OFF)         RT_I(BPF_STX | BPF_MEM | (SZ), D, S, OFF, 0)
#define RT_I_ATOMIC(SZ, OP, D, S, OFF)  RT_I(BPF_STX | BPF_ATOMIC | (SZ), D, S, OFF, OP)
#define RT_I_JA(OFF)                    RT_I(BPF_JMP | BPF_JA, 0, 0, OFF, 0)
#define RT_I_GOTOL(IMM)                 RT_I(BPF_JMP32 | BPF_JA, 0, 0, 0, IMM)
#define RT_I_JMP_IMM(OP, D, IMM, OFF)   RT_I(BPF_JMP | (OP) | BPF_K, D, 0, OFF, IMM)
#define RT_I_JMP_REG(OP, D, S, OFF)     RT_I(BPF_JMP | (OP) | BPF_X, D, S, OFF, 0)
#define RT_I_JMP32_IMM(OP, D, IMM, OFF) RT_I(BPF_JMP32 | (OP) | BPF_K, D, 0, OFF, IMM)
#define RT_I_JMP32_REG(OP, D, S, OFF)   RT_I(BPF_JMP32 | (OP) | BPF_X, D, S, OFF, 0)
#define RT_I_CALL(ID)                   RT_I(BPF_JMP | BPF_CALL, 0, RT_CALL_HELPER, 0, ID)
#define RT_I_CALL_LOCAL(REL)            RT_I(BPF_JMP | BPF_CALL, 0, RT_CALL_LOCAL, 0, REL)
#define RT_I_CALLX(REG)                 RT_I(BPF_JMP | BPF_CALL | BPF_X, REG, 0, 0, 0)
#define RT_I_EXIT()                     RT_I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#endif
