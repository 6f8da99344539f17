/* JMP (64-bit compares): every condition, taken and not taken, with immediates (sign-extended
 * to 64 bits) and registers, signed vs unsigned, JSET, backward jumps in a loop, ja. */
#include "vm_test.h"

/* r0 = 1 if "a OP b" holds (register form), 0 otherwise. */
static uint64_t cond_reg(unsigned op, uint64_t a, uint64_t b)
{
    const struct bpf_insn p[] = {
        LD_IMM64(1, a),       LD_IMM64(2, b),  MOV64_IMM(0, 1),
        JMP_REG(op, 1, 2, 1), MOV64_IMM(0, 0), EXIT(),
    };
    return vt_run(p, NINSN(p), NULL, __LINE__);
}

static uint64_t cond_imm(unsigned op, uint64_t a, int32_t imm)
{
    const struct bpf_insn p[] = {
        LD_IMM64(1, a), MOV64_IMM(0, 1), JMP_IMM(op, 1, imm, 1), MOV64_IMM(0, 0), EXIT(),
    };
    return vt_run(p, NINSN(p), NULL, __LINE__);
}

static void both(unsigned op, uint64_t a, uint64_t b, uint64_t expect)
{
    CHECK_MSG(cond_reg(op, a, b) == expect, "op 0x%x reg %llx %llx", op, (unsigned long long)a,
              (unsigned long long)b);
    if ((int64_t)b == (int32_t)b)
        CHECK_MSG(cond_imm(op, a, (int32_t)b) == expect, "op 0x%x imm %llx %lld", op,
                  (unsigned long long)a, (long long)b);
}

int main(void)
{
    const uint64_t m1 = -1ull;
    both(BPF_JEQ, 5, 5, 1);
    both(BPF_JEQ, 5, 6, 0);
    both(BPF_JEQ, m1, -1, 1);                       /* imm -1 sign-extends to 64 bits */
    both(BPF_JEQ, 0xffffffffull, 0xffffffffull, 1); /* register only: no such imm */
    CHECK_EQ(cond_imm(BPF_JEQ, 0xffffffffull, -1), 0);
    both(BPF_JNE, 5, 6, 1);
    both(BPF_JNE, 5, 5, 0);
    both(BPF_JGT, m1, 1, 1); /* unsigned */
    both(BPF_JGT, 1, 1, 0);
    both(BPF_JGE, 1, 1, 1);
    both(BPF_JGE, 0, 1, 0);
    both(BPF_JLT, 1, m1, 1);
    both(BPF_JLT, 1, 1, 0);
    both(BPF_JLE, 1, 1, 1);
    both(BPF_JLE, 2, 1, 0);
    both(BPF_JSGT, 1, m1, 1); /* signed: 1 > -1 */
    both(BPF_JSGT, m1, 1, 0);
    both(BPF_JSGE, m1, m1, 1);
    both(BPF_JSGE, 0x8000000000000000ull, 0, 0);
    both(BPF_JSLT, m1, 0, 1);
    both(BPF_JSLT, 0, 0, 0);
    both(BPF_JSLE, 0, 0, 1);
    both(BPF_JSLE, 1, 0, 0);
    both(BPF_JSET, 6, 2, 1);
    both(BPF_JSET, 6, 1, 0);
    both(BPF_JSET, 0x100000000ull, 0x100000000ull, 1); /* high bits count in 64-bit jumps */

    /* ja forward over two instructions, then back into them; a backward conditional jump
     * loops: sum 1..10 */
    RUN(11, MOV64_IMM(0, 0), JA(2), ALU64_IMM(BPF_ADD, 0, 10), EXIT(), ALU64_IMM(BPF_ADD, 0, 1),
        JA(-4));
    RUN(55, MOV64_IMM(0, 0), MOV64_IMM(1, 1), ALU64_REG(BPF_ADD, 0, 1), ALU64_IMM(BPF_ADD, 1, 1),
        JMP_IMM(BPF_JLE, 1, 10, -3), EXIT());
    /* a register compared with itself */
    RUN(1, MOV64_IMM(1, 7), MOV64_IMM(0, 0), JMP_REG(BPF_JSGE, 1, 1, 1), EXIT(), MOV64_IMM(0, 1),
        EXIT());
    printf("jmp: ok\n");
    return 0;
}
