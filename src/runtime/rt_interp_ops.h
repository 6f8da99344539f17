/*
 * The interpreter's handler list (X-macro), shared by the decoder that picks a handler per
 * instruction and by the run loop that defines one label per handler, so the two cannot drift.
 * Naming: _K immediate operand, _X register operand, 32 = 32-bit (ALU32 / JMP32), _C checked
 * access (run-time bounds check), _B backward jump (checks the instruction budget).
 */
#ifndef BPFMM_RT_INTERP_OPS_H
#define BPFMM_RT_INTERP_OPS_H

/* One group a line; clang-format 14 reflows these lists differently on every run. */
/* clang-format off */
#define RT_ALU_OPS(X, W)                                                                           \
    X(ADD##W##_K) X(ADD##W##_X) X(SUB##W##_K) X(SUB##W##_X) X(MUL##W##_K) X(MUL##W##_X)            \
    X(DIV##W##_K) X(DIV##W##_X) X(SDIV##W##_K) X(SDIV##W##_X)                                      \
    X(MOD##W##_K) X(MOD##W##_X) X(SMOD##W##_K) X(SMOD##W##_X)                                      \
    X(OR##W##_K) X(OR##W##_X) X(AND##W##_K) X(AND##W##_X) X(XOR##W##_K) X(XOR##W##_X)              \
    X(LSH##W##_K) X(LSH##W##_X) X(RSH##W##_K) X(RSH##W##_X) X(ARSH##W##_K) X(ARSH##W##_X)          \
    X(MOV##W##_K) X(MOV##W##_X) X(NEG##W) X(MOVSX##W##_8) X(MOVSX##W##_16)

#define RT_JMP_OPS(X, C)                                                                           \
    X(C##_K) X(C##_X) X(C##32_K) X(C##32_X) X(C##_K_B) X(C##_X_B) X(C##32_K_B) X(C##32_X_B)

#define RT_OPS(X)                                                                                  \
    X(TRAP) X(NOP) X(ZEXT32)                                                                       \
    RT_ALU_OPS(X, 64) X(MOVSX64_32) RT_ALU_OPS(X, 32)                                              \
    X(LE16) X(LE32) X(BSWAP16) X(BSWAP32) X(BSWAP64) X(LDDW)                                       \
    X(LDXB) X(LDXH) X(LDXW) X(LDXDW) X(LDXSB) X(LDXSH) X(LDXSW)                                    \
    X(LDXB_C) X(LDXH_C) X(LDXW_C) X(LDXDW_C) X(LDXSB_C) X(LDXSH_C) X(LDXSW_C)                      \
    X(STB) X(STH) X(STW) X(STDW) X(STB_C) X(STH_C) X(STW_C) X(STDW_C)                              \
    X(STXB) X(STXH) X(STXW) X(STXDW) X(STXB_C) X(STXH_C) X(STXW_C) X(STXDW_C)                      \
    X(AADD32) X(AOR32) X(AAND32) X(AXOR32) X(AFADD32) X(AFOR32) X(AFAND32) X(AFXOR32)              \
    X(AXCHG32) X(ACMPXCHG32)                                                                       \
    X(AADD64) X(AOR64) X(AAND64) X(AXOR64) X(AFADD64) X(AFOR64) X(AFAND64) X(AFXOR64)              \
    X(AXCHG64) X(ACMPXCHG64)                                                                       \
    X(JA) X(JA_B)                                                                                  \
    RT_JMP_OPS(X, JEQ) RT_JMP_OPS(X, JNE) RT_JMP_OPS(X, JGT) RT_JMP_OPS(X, JGE)                    \
    RT_JMP_OPS(X, JLT) RT_JMP_OPS(X, JLE) RT_JMP_OPS(X, JSGT) RT_JMP_OPS(X, JSGE)                  \
    RT_JMP_OPS(X, JSLT) RT_JMP_OPS(X, JSLE) RT_JMP_OPS(X, JSET)                                    \
    X(CALL_BUILTIN) X(CALL_HOST) X(CALLX) X(CALL_LOCAL) X(EXIT)
/* clang-format on */

#define RT_OP_ENUM(n) RT_OP_##n,
enum rt_op { RT_OPS(RT_OP_ENUM) RT_OP__COUNT };
#undef RT_OP_ENUM

#endif
