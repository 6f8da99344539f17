/* ALU32: results are zero-extended to 64 bits; immediates are 32-bit; shift counts masked to
 * 31; division by zero 0, modulo by zero leaves the low 32 bits (still zero-extended);
 * INT32_MIN / -1; movsx 8/16 in 32 bits. */
#include "vm_test.h"

int main(void)
{
    RUN(0, MOV64_IMM(0, -1), ALU32_IMM(BPF_ADD, 0, 1), EXIT());
    RUN(0xffffffff, MOV64_IMM(0, 0), ALU32_IMM(BPF_SUB, 0, 1), EXIT());
    RUN(0xfffffffe, MOV64_IMM(0, 2), ALU32_IMM(BPF_MUL, 0, -1), EXIT());
    RUN(1, LD_IMM64(0, 0x1ffffffffull), MOV64_IMM(1, 2), ALU32_REG(BPF_ADD, 0, 1), EXIT());
    RUN(0x80000000, MOV32_IMM(0, 0x40000000), MOV32_IMM(1, 2), ALU32_REG(BPF_MUL, 0, 1), EXIT());
    /* the upper half of the source does not matter */
    RUN(5, LD_IMM64(1, 0xabcdef0000000003ull), MOV64_IMM(0, 2), ALU32_REG(BPF_ADD, 0, 1), EXIT());

    RUN(3, MOV32_IMM(0, 10), ALU32_IMM(BPF_DIV, 0, 3), EXIT());
    RUN(1, MOV32_IMM(0, -1), ALU32_IMM(BPF_DIV, 0, -1), EXIT()); /* 0xffffffff / 0xffffffff */
    RUN(0, MOV32_IMM(0, 10), ALU32_IMM(BPF_DIV, 0, 0), EXIT());
    RUN(0, MOV32_IMM(0, 10), MOV32_IMM(1, 0), ALU32_REG(BPF_DIV, 0, 1), EXIT());
    /* 32-bit mod by zero: low 32 bits unchanged, zero-extended */
    RUN(0x12345678, LD_IMM64(0, 0xffffffff12345678ull), ALU32_IMM(BPF_MOD, 0, 0), EXIT());
    RUN(0x12345678, LD_IMM64(0, 0xffffffff12345678ull), MOV64_IMM(1, 0), ALU32_REG(BPF_MOD, 0, 1),
        EXIT());
    /* a divisor whose low 32 bits are zero is zero for ALU32 */
    RUN(0, MOV32_IMM(0, 7), LD_IMM64(1, 0x100000000ull), ALU32_REG(BPF_DIV, 0, 1), EXIT());

    /* signed */
    RUN(0xfffffffd, MOV32_IMM(0, -10), RAW(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 1, 3), EXIT());
    RUN(0xffffffff, MOV32_IMM(0, -10), RAW(BPF_ALU | BPF_MOD | BPF_K, 0, 0, 1, 3), EXIT());
    RUN(0x80000000, MOV32_IMM(0, 0x80000000), RAW(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 1, -1), EXIT());
    RUN(0x80000000, MOV32_IMM(0, 0x80000000), MOV32_IMM(1, -1),
        RAW(BPF_ALU | BPF_DIV | BPF_X, 0, 1, 1, 0), EXIT());
    RUN(0, MOV32_IMM(0, 0x80000000), RAW(BPF_ALU | BPF_MOD | BPF_K, 0, 0, 1, -1), EXIT());
    RUN(0, MOV32_IMM(0, 0x80000000), MOV32_IMM(1, -1), RAW(BPF_ALU | BPF_MOD | BPF_X, 0, 1, 1, 0),
        EXIT());
    RUN(0, MOV32_IMM(0, -5), MOV32_IMM(1, 0), RAW(BPF_ALU | BPF_DIV | BPF_X, 0, 1, 1, 0), EXIT());
    RUN(0xfffffffb, LD_IMM64(0, 0x77777777fffffffbull), MOV32_IMM(1, 0),
        RAW(BPF_ALU | BPF_MOD | BPF_X, 0, 1, 1, 0), EXIT());

    RUN(0xff, MOV32_IMM(0, 0xf0), ALU32_IMM(BPF_OR, 0, 0x0f), EXIT());
    RUN(0x0f, MOV64_IMM(0, -1), ALU32_IMM(BPF_AND, 0, 0x0f), EXIT());
    RUN(0xffff0000, MOV32_IMM(0, 0xffff), ALU32_IMM(BPF_XOR, 0, -1), EXIT());

    RUN(0x80000000, MOV32_IMM(0, 1), ALU32_IMM(BPF_LSH, 0, 31), EXIT());
    RUN(2, MOV32_IMM(0, 1), ALU32_IMM(BPF_LSH, 0, 33), EXIT());
    RUN(2, MOV32_IMM(0, 1), MOV64_IMM(1, 33), ALU32_REG(BPF_LSH, 0, 1), EXIT());
    RUN(0x7fffffff, MOV64_IMM(0, -1), ALU32_IMM(BPF_RSH, 0, 1), EXIT());
    RUN(0xffffffff, MOV32_IMM(0, 0x80000000), ALU32_IMM(BPF_ARSH, 0, 31), EXIT());
    RUN(0xc0000000, MOV32_IMM(0, 0x80000000), MOV64_IMM(1, 33), ALU32_REG(BPF_ARSH, 0, 1), EXIT());

    RUN(0x80000000, MOV32_IMM(0, 0x80000000), RAW(BPF_ALU | BPF_NEG, 0, 0, 0, 0), EXIT());
    RUN(0xffffffff, MOV32_IMM(0, 1), RAW(BPF_ALU | BPF_NEG, 0, 0, 0, 0), EXIT());
    RUN(0xffffffff, MOV32_IMM(0, -1), EXIT());
    RUN(0x89abcdef, LD_IMM64(1, 0x0123456789abcdefull), MOV32_REG(0, 1), EXIT());
    RUN(0xffffff80, MOV64_IMM(1, 0x180), RAW(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 8, 0), EXIT());
    RUN(0xffff8000, MOV64_IMM(1, 0x18000), RAW(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 16, 0), EXIT());
    printf("alu32: ok\n");
    return 0;
}
