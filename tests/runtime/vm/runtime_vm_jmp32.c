/* JMP32: compares use only the low 32 bits of both operands (the immediate as 32 bits),
 * signed and unsigned; gotol (JMP32 ja with a 32-bit offset) forward and backward. */
#include "vm_test.h"

static uint64_t cond32(unsigned op, uint64_t a, uint64_t b, bool imm)
{
    const struct bpf_insn p[] = {
        LD_IMM64(1, a),  LD_IMM64(2, b),
        MOV64_IMM(0, 1), imm ? JMP32_IMM(op, 1, (int32_t)(uint32_t)b, 1) : JMP32_REG(op, 1, 2, 1),
        MOV64_IMM(0, 0), EXIT(),
    };
    return vt_run(p, NINSN(p), NULL, __LINE__);
}

static void both(unsigned op, uint64_t a, uint64_t b, uint64_t expect)
{
    CHECK_MSG(cond32(op, a, b, false) == expect, "op 0x%x reg %llx %llx", op, (unsigned long long)a,
              (unsigned long long)b);
    CHECK_MSG(cond32(op, a, b, true) == expect, "op 0x%x imm %llx %llx", op, (unsigned long long)a,
              (unsigned long long)b);
}

int main(void)
{
    both(BPF_JEQ, 0x100000005ull, 5, 1); /* upper half ignored */
    both(BPF_JEQ, 0x100000005ull, 0x200000005ull, 1);
    both(BPF_JEQ, 5, 6, 0);
    both(BPF_JNE, 0xffffffff00000000ull, 0, 0);
    both(BPF_JNE, 1, 0, 1);
    both(BPF_JGT, 0xffffffffull, 1, 1);
    both(BPF_JGT, 0x1ffffffffull, 0xffffffffull, 0);
    both(BPF_JGE, 7, 7, 1);
    both(BPF_JLT, 0x100000000ull, 1, 1); /* low half 0 < 1 */
    both(BPF_JLE, 2, 1, 0);
    both(BPF_JSGT, 1, 0xffffffffull, 1); /* 1 > -1 in 32 bits */
    both(BPF_JSGT, 0x80000000ull, 0, 0); /* INT32_MIN */
    both(BPF_JSGE, 0xffffffffull, 0xffffffffull, 1);
    both(BPF_JSLT, 0xffffffffull, 0, 1);
    both(BPF_JSLT, 0x7fffffffull, 0x80000000ull, 0);
    both(BPF_JSLE, 0x80000000ull, 0x7fffffffull, 1);
    both(BPF_JSET, 0x100000000ull, 0x100000000ull, 0); /* only the low half */
    both(BPF_JSET, 0x3ull, 0x2ull, 1);

    /* gotol: forward over two instructions, and a backward loop */
    RUN(11, MOV64_IMM(0, 0), GOTOL(2), ALU64_IMM(BPF_ADD, 0, 10), EXIT(), ALU64_IMM(BPF_ADD, 0, 1),
        GOTOL(-4));
    RUN(10, MOV64_IMM(0, 0), ALU64_IMM(BPF_ADD, 0, 1), JMP32_IMM(BPF_JGE, 0, 10, 1), GOTOL(-3),
        EXIT());
    printf("jmp32: ok\n");
    return 0;
}
