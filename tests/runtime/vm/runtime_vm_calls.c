/* Calls: local (bpf-to-bpf) calls pass r1-r5, return r0, preserve r6-r9, get their own stack
 * frame, may write through a pointer to the caller's stack, and nest; helpers by Linux number;
 * a host helper with a built-in's number overrides it. */
#include "vm_test.h"

static uint64_t host_double(void *host, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    (*(int *)host)++;
    return a * 2;
}

static uint64_t host_sum5(void *host, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    return a + b + c + d + e;
}

int main(void)
{
    /* r0 = f(1, 2) + r6, with f clobbering r6 and r1-r5 */
    RUN(103, MOV64_IMM(6, 100), MOV64_IMM(1, 1), MOV64_IMM(2, 2), CALL_LOCAL(2),
        ALU64_REG(BPF_ADD, 0, 6), EXIT(),
        /* f: */ MOV64_REG(0, 1), ALU64_REG(BPF_ADD, 0, 2), MOV64_IMM(6, 0), MOV64_IMM(7, 0),
        MOV64_IMM(1, 0), EXIT());
    /* r6-r9 preserved across a call that overwrites all of them */
    RUN(6 + 7 + 8 + 9, MOV64_IMM(6, 6), MOV64_IMM(7, 7), MOV64_IMM(8, 8), MOV64_IMM(9, 9),
        CALL_LOCAL(5), MOV64_REG(0, 6), ALU64_REG(BPF_ADD, 0, 7), ALU64_REG(BPF_ADD, 0, 8),
        ALU64_REG(BPF_ADD, 0, 9), EXIT(),
        /* callee: */ MOV64_IMM(6, 0), MOV64_IMM(7, 0), MOV64_IMM(8, 0), MOV64_IMM(9, 0),
        MOV64_IMM(0, 0), EXIT());
    /* each frame has its own fp-8; the callee writes the caller's fp-16 through r1 */
    RUN(0x1122, ST(BPF_DW, 10, -8, 0x11), ST(BPF_DW, 10, -16, 0), MOV64_REG(1, 10),
        ALU64_IMM(BPF_ADD, 1, -16), CALL_LOCAL(5), LDX(BPF_DW, 0, 10, -8), ALU64_IMM(BPF_LSH, 0, 8),
        LDX(BPF_DW, 1, 10, -16), ALU64_REG(BPF_ADD, 0, 1), EXIT(),
        /* callee: own fp-8, then *r1 = 0x22 */ ST(BPF_DW, 10, -8, 0x99), ST(BPF_DW, 1, 0, 0x22),
        MOV64_IMM(0, 0), EXIT());
    /* three levels deep: main -> a -> b, each adds one */
    RUN(3, MOV64_IMM(1, 0), CALL_LOCAL(1), EXIT(),
        /* a: */ ALU64_IMM(BPF_ADD, 1, 1), CALL_LOCAL(1), EXIT(),
        /* b: */ ALU64_IMM(BPF_ADD, 1, 1), MOV64_REG(0, 1), ALU64_IMM(BPF_ADD, 0, 1), EXIT());

    /* a host helper overriding built-in 5 (ktime_get_ns), and one with five arguments */
    int calls = 0;
    const struct bpfmm_rt_helper hh[] = {
        {.id = BPF_FUNC_ktime_get_ns, .name = "double", .nr_args = 1, .fn = host_double},
        {.id = 0x10000, .name = "sum5", .nr_args = 5, .fn = host_sum5},
    };
    struct vt_env env = {.helpers = hh, .nr_helpers = 2, .host = &calls};
    RUN_ENV(&env, 42, MOV64_IMM(1, 21), CALL(BPF_FUNC_ktime_get_ns), EXIT());
    CHECK_EQ(calls, 1);
    RUN_ENV(&env, 15, MOV64_IMM(1, 1), MOV64_IMM(2, 2), MOV64_IMM(3, 3), MOV64_IMM(4, 4),
            MOV64_IMM(5, 5), CALL(0x10000), EXIT());

    /* built-ins: the clock moves forward; the random generator varies */
    RUN(1, CALL(BPF_FUNC_ktime_get_ns), MOV64_REG(6, 0), CALL(BPF_FUNC_ktime_get_ns),
        MOV64_IMM(1, 0), JMP_REG(BPF_JLT, 0, 6, 1), MOV64_IMM(1, 1), MOV64_REG(0, 1), EXIT());
    RUN(1, CALL(BPF_FUNC_get_prandom_u32), MOV64_REG(6, 0), CALL(BPF_FUNC_get_prandom_u32),
        MOV64_REG(7, 0), CALL(BPF_FUNC_get_prandom_u32), MOV64_IMM(1, 1), JMP_REG(BPF_JNE, 0, 6, 2),
        JMP_REG(BPF_JNE, 0, 7, 1), MOV64_IMM(1, 0), MOV64_REG(0, 1), EXIT());
    printf("calls: ok\n");
    return 0;
}
