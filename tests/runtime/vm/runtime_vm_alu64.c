/* ALU64: every operation with immediate and register operands, and the edge cases with defined
 * results: division by zero (0), modulo by zero (dst unchanged), INT64_MIN / -1 and % -1,
 * shift counts masked to 63, sign-extended immediates, movsx. */
#include "vm_test.h"

#define I64_MIN 0x8000000000000000ull

int main(void)
{
    /* add/sub/mul with sign-extended immediates */
    RUN(3, MOV64_IMM(0, 1), ALU64_IMM(BPF_ADD, 0, 2), EXIT());
    RUN(-1ull, MOV64_IMM(0, 1), ALU64_IMM(BPF_SUB, 0, 2), EXIT());
    RUN(0xfffffffffffffffeull, MOV64_IMM(0, 2), ALU64_IMM(BPF_MUL, 0, -1), EXIT());
    RUN(0x100000000ull, LD_IMM64(0, 0xffffffffull), MOV64_IMM(1, 1), ALU64_REG(BPF_ADD, 0, 1),
        EXIT());
    RUN(6, MOV64_IMM(0, 2), MOV64_IMM(1, 3), ALU64_REG(BPF_MUL, 0, 1), EXIT());
    RUN(0x7fffffff00000001ull, LD_IMM64(0, 0x7fffffff00000000ull), MOV64_IMM(1, -1),
        ALU64_REG(BPF_SUB, 0, 1), ALU64_IMM(BPF_SUB, 0, 1), ALU64_IMM(BPF_ADD, 0, 1), EXIT());

    /* unsigned division and modulo; the immediate is sign-extended to 64 bits */
    RUN(3, MOV64_IMM(0, 10), ALU64_IMM(BPF_DIV, 0, 3), EXIT());
    RUN(0, MOV64_IMM(0, 10), ALU64_IMM(BPF_DIV, 0, -1), EXIT()); /* 10 / 0xffff...ff */
    RUN(1, MOV64_IMM(0, 10), ALU64_IMM(BPF_MOD, 0, 3), EXIT());
    RUN(10, MOV64_IMM(0, 10), ALU64_IMM(BPF_MOD, 0, -1), EXIT());
    RUN(3, MOV64_IMM(0, 10), MOV64_IMM(1, 3), ALU64_REG(BPF_DIV, 0, 1), EXIT());
    RUN(1, MOV64_IMM(0, 10), MOV64_IMM(1, 3), ALU64_REG(BPF_MOD, 0, 1), EXIT());
    /* by zero: div gives 0, mod leaves dst unchanged, immediate and register alike */
    RUN(0, MOV64_IMM(0, 10), ALU64_IMM(BPF_DIV, 0, 0), EXIT());
    RUN(10, MOV64_IMM(0, 10), ALU64_IMM(BPF_MOD, 0, 0), EXIT());
    RUN(0, MOV64_IMM(0, 10), MOV64_IMM(1, 0), ALU64_REG(BPF_DIV, 0, 1), EXIT());
    RUN(10, MOV64_IMM(0, 10), MOV64_IMM(1, 0), ALU64_REG(BPF_MOD, 0, 1), EXIT());
    RUN(-7ull, MOV64_IMM(0, -7), MOV64_IMM(1, 0), ALU64_REG(BPF_MOD, 0, 1), EXIT());

    /* signed division and modulo (offset 1): truncation toward zero */
    RUN(-3ull, MOV64_IMM(0, -10), RAW(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, 3), EXIT());
    RUN(-1ull, MOV64_IMM(0, -10), RAW(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, 3), EXIT());
    RUN(1, MOV64_IMM(0, 10), RAW(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, -3), EXIT());
    RUN(-3ull, MOV64_IMM(0, -10), MOV64_IMM(1, 3), RAW(BPF_ALU64 | BPF_DIV | BPF_X, 0, 1, 1, 0),
        EXIT());
    /* INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0 (no trap) */
    RUN(I64_MIN, LD_IMM64(0, I64_MIN), RAW(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, -1), EXIT());
    RUN(I64_MIN, LD_IMM64(0, I64_MIN), MOV64_IMM(1, -1),
        RAW(BPF_ALU64 | BPF_DIV | BPF_X, 0, 1, 1, 0), EXIT());
    RUN(0, LD_IMM64(0, I64_MIN), RAW(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, -1), EXIT());
    RUN(0, LD_IMM64(0, I64_MIN), MOV64_IMM(1, -1), RAW(BPF_ALU64 | BPF_MOD | BPF_X, 0, 1, 1, 0),
        EXIT());
    /* signed by zero */
    RUN(0, MOV64_IMM(0, -5), RAW(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, 0), EXIT());
    RUN(-5ull, MOV64_IMM(0, -5), MOV64_IMM(1, 0), RAW(BPF_ALU64 | BPF_MOD | BPF_X, 0, 1, 1, 0),
        EXIT());

    /* bitwise */
    RUN(0xff, MOV64_IMM(0, 0xf0), ALU64_IMM(BPF_OR, 0, 0x0f), EXIT());
    RUN(0x10, MOV64_IMM(0, 0x30), ALU64_IMM(BPF_AND, 0, 0x11), EXIT());
    RUN(-1ull, MOV64_IMM(0, 0), ALU64_IMM(BPF_XOR, 0, 0xffffffff), EXIT()); /* imm sign-extends */
    RUN(0, MOV64_IMM(0, -1), ALU64_IMM(BPF_XOR, 0, 0xffffffff), EXIT());
    RUN(0xfffffffffffffff0ull, MOV64_IMM(0, -1), MOV64_IMM(1, 15), ALU64_REG(BPF_XOR, 0, 1),
        EXIT());

    /* shifts: counts masked to 63 */
    RUN(0x100, MOV64_IMM(0, 1), ALU64_IMM(BPF_LSH, 0, 8), EXIT());
    RUN(2, MOV64_IMM(0, 1), ALU64_IMM(BPF_LSH, 0, 65), EXIT());
    RUN(2, MOV64_IMM(0, 1), MOV64_IMM(1, 65), ALU64_REG(BPF_LSH, 0, 1), EXIT());
    RUN(0x7fffffffffffffffull, MOV64_IMM(0, -1), ALU64_IMM(BPF_RSH, 0, 1), EXIT());
    RUN(1, MOV64_IMM(0, -1), MOV64_IMM(1, 127), ALU64_REG(BPF_RSH, 0, 1), EXIT());
    RUN(-1ull, MOV64_IMM(0, -2), ALU64_IMM(BPF_ARSH, 0, 1), EXIT());
    RUN(-1ull, MOV64_IMM(0, -2), MOV64_IMM(1, 63), ALU64_REG(BPF_ARSH, 0, 1), EXIT());
    RUN(0xc000000000000000ull, LD_IMM64(0, I64_MIN), ALU64_IMM(BPF_ARSH, 0, 65), EXIT());

    /* neg, mov, movsx */
    RUN(I64_MIN, LD_IMM64(0, I64_MIN), RAW(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0), EXIT());
    RUN(-5ull, MOV64_IMM(0, 5), RAW(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0), EXIT());
    RUN(-1ull, MOV64_IMM(0, -1), EXIT());
    RUN(-128ull, MOV64_IMM(1, 0x180), RAW(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 8, 0), EXIT());
    RUN(0x7f, MOV64_IMM(1, 0x17f), RAW(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 8, 0), EXIT());
    RUN(-32768ull, MOV64_IMM(1, 0x18000), RAW(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 16, 0), EXIT());
    RUN(-1ull, LD_IMM64(1, 0x1ffffffffull), RAW(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 32, 0), EXIT());
    printf("alu64: ok\n");
    return 0;
}
