/* What the verifier hands the interpreter (white-box): accesses it proved run unchecked, others
 * get a run-time check against the right region; division/modulo by constant 0 or -1 and
 * constant shift counts are resolved at load; backward jumps carry the budget check; provably
 * dead instructions become traps; frames are sized from the accesses; the ctx bytes a program
 * may read are recorded (rt_vm_reads_ctx). */
#include "vm_test.h"

static const void *const *H;

static struct rt_vm_prog *prep(const struct bpf_insn *p, uint32_t n, const struct vt_env *env)
{
    char log[256];
    struct rt_vm_prog *vm = vt_prepare_env(p, n, env, log, sizeof(log));
    CHECK_MSG(vm, "%s", log);
    return vm;
}

#define OP(vm, i, name) CHECK_MSG((vm)->code[i].h == H[RT_OP_##name], "insn %d is not " #name, i)

int main(void)
{
    H = rt_interp_handlers();

    /* stack and described ctx at constant offsets: unchecked; ctx at a variable offset: checked */
    struct vt_env env = {.ctx = &vt_ctx};
    const struct bpf_insn a[] = {
        ST(BPF_DW, 10, -16, 1), LDX(BPF_DW, 2, 10, -16),  LDX(BPF_W, 3, 1, 8), LDX(BPF_B, 4, 1, 0),
        MOV64_REG(5, 1),        ALU64_REG(BPF_ADD, 5, 4), LDX(BPF_B, 0, 5, 0), EXIT(),
    };
    struct rt_vm_prog *vm = prep(a, NINSN(a), &env);
    OP(vm, 0, STDW);
    OP(vm, 1, LDXDW);
    OP(vm, 2, LDXW);
    OP(vm, 3, LDXB);
    OP(vm, 6, LDXB_C);
    CHECK_EQ(vm->aux[6].region, RT_RG_CTX);
    CHECK_EQ(vm->main_depth, 16);
    CHECK_EQ(vm->stack_size, 16);
    CHECK(!vm->zero_stack);
    /* the variable read may touch any byte of the ctx */
    CHECK(rt_vm_reads_ctx(vm, 40, 4));
    rt_vm_free(vm);

    /* only fields actually read are reported */
    const struct bpf_insn b[] = {LDX(BPF_W, 0, 1, 8), EXIT()};
    vm = prep(b, NINSN(b), &env);
    CHECK(rt_vm_reads_ctx(vm, 8, 4));
    CHECK(rt_vm_reads_ctx(vm, 0, 9));
    CHECK(!rt_vm_reads_ctx(vm, 0, 8));
    CHECK(!rt_vm_reads_ctx(vm, 12, 52));
    rt_vm_free(vm);

    /* compat memory: every access checked against the run's memory */
    struct vt_env compat = {.flags = BPFMM_RT_LOAD_COMPAT};
    const struct bpf_insn c[] = {LDX(BPF_DW, 0, 1, 0), EXIT()};
    vm = prep(c, NINSN(c), &compat);
    OP(vm, 0, LDXDW_C);
    CHECK_EQ(vm->aux[0].region, RT_RG_CTX_DYN);
    rt_vm_free(vm);

    /* constant division cases, masked shifts */
    const struct bpf_insn d[] = {
        MOV64_IMM(0, 9),
        ALU64_IMM(BPF_DIV, 0, 0),
        ALU64_IMM(BPF_MOD, 0, 0),
        ALU32_IMM(BPF_MOD, 0, 0),
        RAW(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, -1),
        RAW(BPF_ALU64 | BPF_MOD | BPF_K, 0, 0, 1, -1),
        ALU64_IMM(BPF_LSH, 0, 65),
        ALU32_IMM(BPF_RSH, 0, 33),
        ALU64_IMM(BPF_DIV, 0, 3),
        EXIT(),
    };
    vm = prep(d, NINSN(d), NULL);
    OP(vm, 1, MOV64_K);
    CHECK_EQ(vm->code[1].imm, 0);
    OP(vm, 2, NOP);
    OP(vm, 3, ZEXT32);
    OP(vm, 4, NEG64);
    OP(vm, 5, MOV64_K);
    OP(vm, 6, LSH64_K);
    CHECK_EQ(vm->code[6].imm, 1);
    OP(vm, 7, RSH32_K);
    CHECK_EQ(vm->code[7].imm, 1);
    OP(vm, 8, DIV64_K);
    rt_vm_free(vm);

    /* jumps: forward plain, backward with the budget check; an impossible branch is dead */
    const struct bpf_insn j[] = {
        MOV64_IMM(0, 0),
        ALU64_IMM(BPF_ADD, 0, 1),
        JMP_IMM(BPF_JLT, 0, 10, -2),
        JMP_IMM(BPF_JGT, 0, 100, 1),
        JA(1),
        MOV64_IMM(0, 7),
        EXIT(),
    };
    vm = prep(j, NINSN(j), NULL);
    OP(vm, 2, JLT_K_B);
    OP(vm, 3, JGT_K);
    OP(vm, 4, JA);
    OP(vm, 5, TRAP); /* r0 is 10 after the loop: never > 100 */
    rt_vm_free(vm);

    /* variable-offset stack reads that may see unwritten bytes zero the stack at entry; frames
     * are sized per function: main 8 bytes, the callee 32 */
    const struct bpf_insn s[] = {
        ST(BPF_DW, 10, -8, 0),
        CALL(BPF_FUNC_get_prandom_u32),
        ALU64_IMM(BPF_AND, 0, 8),
        MOV64_REG(1, 10),
        ALU64_REG(BPF_SUB, 1, 0),
        LDX(BPF_DW, 0, 1, -8),
        CALL_LOCAL(1),
        EXIT(),
        /* callee */ ST(BPF_DW, 10, -32, 0),
        MOV64_IMM(0, 0),
        EXIT(),
    };
    vm = prep(s, NINSN(s), NULL);
    OP(vm, 5, LDXDW);
    CHECK(vm->zero_stack);
    CHECK_EQ(vm->main_depth, 16);
    CHECK_EQ(vm->aux[6].caller_depth, 16);
    CHECK_EQ(vm->aux[6].callee_depth, 32);
    CHECK_EQ(vm->stack_size, 48);
    OP(vm, 1, CALL_BUILTIN);
    OP(vm, 6, CALL_LOCAL);
    rt_vm_free(vm);
    printf("decode: ok\n");
    return 0;
}
