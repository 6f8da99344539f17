/* Atomics, 32 and 64 bits: add/or/and/xor with and without fetch, xchg, cmpxchg (success and
 * failure), on the stack and on a map value; 32-bit results are zero-extended. */
#include "vm_test.h"

/* [fp-8] = init; op with src r1 = val; r0 = [fp-8] (which = 0) or the fetched r1 (which = 1). */
static uint64_t stack_op(unsigned size, int32_t op, uint64_t init, uint64_t val, int which)
{
    const struct bpf_insn p[] = {
        LD_IMM64(2, init),
        STX(BPF_DW, 10, 2, -8),
        LD_IMM64(1, val),
        MOV64_IMM(0, 0),
        ATOMIC(size, op, 10, 1, -8),
        which ? MOV64_REG(0, 1) : LDX(BPF_DW, 0, 10, -8),
        EXIT(),
    };
    return vt_run(p, NINSN(p), NULL, __LINE__);
}

int main(void)
{
    const uint64_t I = 0x1111111100000003ull;
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_ADD, I, 2, 0), I + 2);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_ADD, I, 2, 1), 2); /* no fetch: src unchanged */
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_OR, I, 0x10, 0), I | 0x10);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_AND, I, 1, 0), 1);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_XOR, I, I, 0), 0);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_ADD | RT_ATOMIC_FETCH, I, 2, 1), I);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_OR | RT_ATOMIC_FETCH, I, 4, 0), I | 4);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_AND | RT_ATOMIC_FETCH, I, 2, 1), I);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_XOR | RT_ATOMIC_FETCH, I, 1, 0), I ^ 1);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_XCHG, I, 9, 1), I);
    CHECK_U64_EQ(stack_op(BPF_DW, RT_ATOMIC_XCHG, I, 9, 0), 9);
    /* 32-bit: only the low word changes; fetched values are zero-extended */
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_ADD, 0x00000001ffffffffull, 1, 0),
                 0x0000000100000000ull);
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_ADD | RT_ATOMIC_FETCH, 0xaaaaaaaa80000000ull, 1, 1),
                 0x80000000ull);
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_XCHG, 0xaaaaaaaa80000000ull, 0x1234ull, 1),
                 0x80000000ull);
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_OR, 0xf0, 0xf, 0), 0xff);
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_AND | RT_ATOMIC_FETCH, 0xf0, 0x30, 0), 0x30);
    CHECK_U64_EQ(stack_op(BPF_W, RT_ATOMIC_XOR | RT_ATOMIC_FETCH, 0xf0, 0xff, 1), 0xf0);

    /* cmpxchg: r0 = old; replaced only if old == r0 */
    RUN(5, ST(BPF_DW, 10, -8, 5), MOV64_IMM(0, 5), MOV64_IMM(1, 7),
        ATOMIC(BPF_DW, RT_ATOMIC_CMPXCHG, 10, 1, -8), EXIT());
    RUN(7, ST(BPF_DW, 10, -8, 5), MOV64_IMM(0, 5), MOV64_IMM(1, 7),
        ATOMIC(BPF_DW, RT_ATOMIC_CMPXCHG, 10, 1, -8), LDX(BPF_DW, 0, 10, -8), EXIT());
    RUN(5, ST(BPF_DW, 10, -8, 5), MOV64_IMM(0, 6), MOV64_IMM(1, 7),
        ATOMIC(BPF_DW, RT_ATOMIC_CMPXCHG, 10, 1, -8), LDX(BPF_DW, 0, 10, -8), EXIT());
    /* 32-bit compares the low half of r0 and zero-extends the old value into r0 */
    RUN(0x80000000, ST(BPF_W, 10, -4, 0x80000000), LD_IMM64(0, 0xffffffff80000000ull),
        MOV64_IMM(1, 1), ATOMIC(BPF_W, RT_ATOMIC_CMPXCHG, 10, 1, -4), EXIT());
    RUN(1, ST(BPF_W, 10, -4, 0x80000000), LD_IMM64(0, 0xffffffff80000000ull), MOV64_IMM(1, 1),
        ATOMIC(BPF_W, RT_ATOMIC_CMPXCHG, 10, 1, -4), LDX(BPF_W, 0, 10, -4), EXIT());

    /* on a map value */
    struct rt_map *arr = vt_map_new("counters", 0, 16, 1, false, false);
    struct rt_map *const ms[] = {arr};
    struct vt_env env = {.maps = ms, .nr_maps = 1};
    for (int k = 0; k < 3; k++)
        RUN_ENV(&env, k * 10, ST(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10),
                ALU64_IMM(BPF_ADD, 2, -4), CALL(BPF_FUNC_map_lookup_elem),
                JMP_IMM(BPF_JNE, 0, 0, 1), EXIT(), MOV64_IMM(1, 10),
                ATOMIC(BPF_DW, RT_ATOMIC_ADD | RT_ATOMIC_FETCH, 0, 1, 8), MOV64_REG(0, 1), EXIT());
    CHECK_EQ(*(uint64_t *)((uint8_t *)vt_map_value(arr, 0) + 8), 30);
    vt_map_free(arr);
    printf("atomic: ok\n");
    return 0;
}
