/*
 * One verifier rule per case, each asserting the exact rejection message ("insn N: reason").
 * CTest runs each case as its own test (runtime_verify_<rule>, and runtime_bad_input_<x> for
 * issue 3's bad-input list): `runtime_vm_rules NAME`. `--check NAMES...` verifies that the
 * CMake list and this table agree, so no case goes unregistered.
 */
#include "vm_test.h"

static struct rt_map *maps2[2];
static struct vt_env menv; /* arr (16-byte values, 4 entries) and .rodata (read-only global) */

static void setup_maps(void)
{
    maps2[0] = vt_map_new("arr", 0, 16, 4, false, false);
    maps2[1] = vt_map_new(".rodata", 1, 16, 1, true, true);
    menv.maps = maps2;
    menv.nr_maps = 2;
}

/* r0 = lookup(arr, &(u32)0 at fp-4): 6 instructions, then the test's own. */
#define LOOKUP0                                                                                    \
    ST(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),               \
        CALL(BPF_FUNC_map_lookup_elem)

/* --- structure ---------------------------------------------------------------------------- */

static void r_empty(void)
{
    const struct bpf_insn none[1] = {EXIT()};
    vt_reject(none, 0, NULL, EINVAL, "insn 0: the program is empty", __LINE__);
}

static void r_bad_input_oversized(void)
{
    uint32_t n = RT_MAX_INSNS + 1;
    struct bpf_insn *p = calloc(n, sizeof(*p));
    CHECK(p);
    for (uint32_t k = 0; k < n; k++)
        p[k] = MOV64_IMM(0, 0);
    p[n - 1] = EXIT();
    vt_reject(p, n, NULL, E2BIG,
              "insn 1000000: the program has 1000001 instructions; the limit is 1000000", __LINE__);
    free(p);
}

static void r_invalid_opcode(void)
{
    REJECT("insn 0: invalid opcode 0xff", RAW(0xff, 0, 0, 0, 0), EXIT());
    REJECT("insn 1: invalid opcode 0xe7", MOV64_IMM(0, 0), RAW(0xe7, 0, 0, 0, 0), EXIT());
    REJECT("insn 0: invalid opcode 0x9e", RAW(BPF_JMP32 | BPF_EXIT | BPF_X, 0, 0, 0, 0));
    /* sign-extending 8-byte load does not exist */
    REJECT("insn 0: invalid opcode 0x99", RAW(BPF_LDX | RT_BPF_MEMSX | BPF_DW, 0, 10, -8, 0),
           EXIT());
}

static void r_invalid_register(void)
{
    REJECT("insn 0: invalid register r11 (dst)", MOV64_IMM(11, 0), EXIT());
    REJECT("insn 0: invalid register r12 (src)", MOV64_REG(0, 12), EXIT());
}

static void r_r10_readonly(void)
{
    REJECT("insn 0: r10 is read-only (it is the frame pointer)", MOV64_IMM(10, 0), EXIT());
    REJECT("insn 0: r10 is read-only (it is the frame pointer)", LDX(BPF_DW, 10, 1, 0), EXIT());
    REJECT("insn 0: r10 is read-only (atomic fetch would write it)",
           ATOMIC(BPF_DW, RT_ATOMIC_XCHG, 1, 10, 0), EXIT());
}

static void r_reserved_fields(void)
{
    REJECT("insn 0: reserved field src must be zero (opcode 0x07)",
           RAW(BPF_ALU64 | BPF_ADD | BPF_K, 0, 1, 0, 1), EXIT());
    REJECT("insn 1: reserved field offset/imm must be zero (opcode 0x95)", MOV64_IMM(0, 0),
           RAW(BPF_JMP | BPF_EXIT, 0, 0, 0, 1));
    REJECT("insn 0: reserved field imm must be zero (opcode 0x61)",
           RAW(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 7), EXIT());
    REJECT("insn 0: invalid offset 3 for ALU opcode 0x07",
           RAW(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 3, 1), EXIT());
    REJECT("insn 0: byte swap width must be 16, 32 or 64, not 24",
           RAW(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 24), EXIT());
    REJECT("insn 0: invalid atomic operation 0x20", ATOMIC(BPF_DW, 0x20, 10, 1, -8), EXIT());
}

static void r_lddw_pair(void)
{
    REJECT("insn 1: lddw is missing its second half (it is the last instruction)", MOV64_IMM(0, 0),
           RAW(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 1));
    REJECT("insn 0: second half of lddw (insn 1) must have opcode, registers and offset 0",
           RAW(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 1), RAW(0, 1, 0, 0, 0), EXIT());
    REJECT("insn 0: lddw refers to map 3 but the program has 0 maps", LD_MAP(1, 3), MOV64_IMM(0, 0),
           EXIT());
    REJECT("insn 0: lddw of a function address (src 4) is not supported",
           RAW(BPF_LD | BPF_DW | BPF_IMM, 0, 4, 0, 1), RAW(0, 0, 0, 0, 0), EXIT());
    REJECT("insn 0: legacy packet access (LD_ABS/LD_IND, opcode 0x20) is not supported",
           RAW(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 0), EXIT());
}

static void r_bad_input_jump_out_of_range(void)
{
    REJECT("insn 1: jump to insn 7 is out of range (the program has 3 instructions)",
           MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 0, 0, 5), EXIT());
    REJECT("insn 0: jump to insn -2 is out of range (the program has 2 instructions)", JA(-3),
           EXIT());
    REJECT("insn 0: jump to insn 100001 is out of range (the program has 2 instructions)",
           GOTOL(100000), EXIT());
}

static void r_jump_into_lddw(void)
{
    REJECT("insn 1: jump into the middle of lddw at insn 2", MOV64_IMM(0, 0),
           JMP_IMM(BPF_JEQ, 0, 0, 1), LD_IMM64(0, 1), EXIT());
}

static void r_fall_off_end(void)
{
    REJECT("insn 0: execution falls off the end of the program (the last instruction must be "
           "exit or a jump)",
           MOV64_IMM(0, 0));
    REJECT("insn 1: execution falls off the end of the program (the last instruction must be "
           "exit or a jump)",
           MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 0, 0, -2));
}

static void r_unreachable(void)
{
    REJECT("insn 2: unreachable instruction", MOV64_IMM(0, 0), EXIT(), MOV64_IMM(0, 1), EXIT());
}

static void r_bad_input_endless_loop(void)
{
    REJECT("insn 2: infinite loop: no path from the loop at insns 2..3 reaches an exit",
           MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 1, 0, 2), ALU64_IMM(BPF_ADD, 0, 1), JA(-2), EXIT());
    /* a loop whose only way out leads into another loop */
    REJECT("insn 2: infinite loop: no path from the loop at insns 2..4 reaches an exit",
           MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 1, 0, 4), ALU64_IMM(BPF_ADD, 0, 1),
           JMP_IMM(BPF_JGT, 0, 5, 1), JA(-3), JA(-1), EXIT());
}

static void r_calls_structure(void)
{
    REJECT("insn 0: call to insn 11 is out of range (the program has 2 instructions)",
           CALL_LOCAL(10), EXIT());
    /* main -> f -> f */
    REJECT("insn 3: recursive call (func@3 -> func@3); bpf-to-bpf recursion is not allowed",
           MOV64_IMM(0, 0), CALL_LOCAL(1), EXIT(), CALL_LOCAL(-1), EXIT());
    /* main jumps into f */
    REJECT("insn 0: jump to insn 3 leaves function main for func@3", JA(2), CALL_LOCAL(1), EXIT(),
           MOV64_IMM(0, 0), EXIT());
    /* main's last instruction falls into f */
    REJECT("insn 1: execution falls through from function main into func@2", CALL_LOCAL(1),
           MOV64_IMM(0, 0), MOV64_IMM(0, 1), EXIT());
    REJECT("insn 0: kfunc calls (call with src 2) are not supported",
           RAW(BPF_JMP | BPF_CALL, 0, RT_CALL_KFUNC, 0, 5), EXIT());
    REJECT("insn 0: may_goto (opcode 0xe5) is not supported", RAW(0xe5, 0, 0, 0, 0), EXIT());
}

static void r_call_depth(void)
{
    /* main calls f1, f1 calls f2, ... f8: 9 frames */
    struct bpf_insn p[2 + 8 * 2];
    uint32_t n = 0;
    p[n++] = CALL_LOCAL(1);
    p[n++] = EXIT();
    for (int k = 1; k <= 8; k++) {
        p[n++] = k < 8 ? CALL_LOCAL(1) : MOV64_IMM(0, 0);
        p[n++] = EXIT();
    }
    vt_reject(p, n, NULL, EINVAL,
              "insn 14: call chain main -> func@2 -> func@4 -> func@6 -> func@8 -> func@10 -> "
              "func@12 -> func@14 -> func@16 is deeper than 8 frames",
              __LINE__);
    /* eight frames are fine */
    p[14] = MOV64_IMM(0, 0);
    struct rt_vm_prog *ok;
    char log[256];
    ok = vt_prepare_env(p, 16, NULL, log, sizeof(log));
    CHECK_MSG(ok, "%s", log);
    rt_vm_free(ok);
}

/* --- values and registers ---------------------------------------------------------------- */

static void r_bad_input_uninit_register(void)
{
    REJECT("insn 0: r3 is read before it is initialised", MOV64_REG(0, 3), EXIT());
    REJECT("insn 0: r0 is read before it is initialised", EXIT());
    /* set on one path only */
    REJECT("insn 3: r0 is read before it is initialised", JMP_IMM(BPF_JEQ, 1, 0, 1),
           MOV64_IMM(0, 1), MOV64_IMM(2, 0), EXIT());
    /* r1-r5 are clobbered by a helper call */
    REJECT("insn 2: r1 is read before it is initialised", MOV64_IMM(1, 1),
           CALL(BPF_FUNC_ktime_get_ns), MOV64_REG(0, 1), EXIT());
}

static void r_pointer_arithmetic(void)
{
    REJECT("insn 1: mul on pointer r1 (a pointer to the stack) is not allowed: only adding or "
           "subtracting a scalar",
           MOV64_REG(1, 10), ALU64_IMM(BPF_MUL, 1, 2), MOV64_IMM(0, 0), EXIT());
    REJECT("insn 1: 32-bit add on pointer r1 (a pointer to the stack) is not allowed",
           MOV64_REG(1, 10), ALU32_IMM(BPF_ADD, 1, 1), MOV64_IMM(0, 0), EXIT());
    REJECT("insn 1: r1 + r10: adding two pointers is not allowed", MOV64_REG(1, 10),
           ALU64_REG(BPF_ADD, 1, 10), MOV64_IMM(0, 0), EXIT());
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env, "insn 1: r2 - r1: pointers into different regions cannot be subtracted",
               MOV64_REG(2, 10), ALU64_REG(BPF_SUB, 2, 1), MOV64_IMM(0, 0), EXIT());
    REJECT("insn 0: r10 is a pointer to the stack: a 32-bit move would truncate a pointer",
           MOV32_REG(0, 10), EXIT());
    /* same-region difference is a scalar */
    uint8_t c[64];
    uint64_t r0 = 0;
    const struct bpf_insn diff[] = {MOV64_REG(2, 1), ALU64_IMM(BPF_ADD, 2, 8), MOV64_REG(0, 2),
                                    ALU64_REG(BPF_SUB, 0, 1), EXIT()};
    CHECK_EQ(vt_exec(diff, NINSN(diff), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 8);
}

static void r_pointer_compare(void)
{
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env,
               "insn 0: comparing r1 (a pointer to the ctx) with 5 is not allowed: it would "
               "reveal an address",
               JMP_IMM(BPF_JGT, 1, 5, 0), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&env,
               "insn 1: comparing r1 (a pointer to the ctx) with r2 (a scalar) is not allowed: "
               "it would reveal an address",
               MOV64_IMM(2, 7), JMP_REG(BPF_JGT, 1, 2, 0), MOV64_IMM(0, 0), EXIT());
    /* 32-bit comparisons see the low half of an address: even with 0, or between pointers */
    REJECT_ENV(&env,
               "insn 0: 32-bit comparison of r1 (a pointer to the ctx) is not allowed: it would "
               "reveal part of an address; compare the 64-bit register",
               JMP32_IMM(BPF_JEQ, 1, 0, 0), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&env,
               "insn 2: 32-bit comparison of r2 (a pointer to the stack) is not allowed: it "
               "would reveal part of an address; compare the 64-bit register",
               MOV64_IMM(1, 0), MOV64_REG(2, 10), JMP32_REG(BPF_JGT, 1, 2, 0), MOV64_IMM(0, 0),
               EXIT());
    /* with NULL, and between pointers into the same region: allowed */
    uint8_t c[64] = {0};
    uint64_t r0;
    const struct bpf_insn ok[] = {
        MOV64_IMM(0, 1),          JMP_IMM(BPF_JNE, 1, 0, 1), MOV64_IMM(0, 2), MOV64_REG(2, 1),
        ALU64_IMM(BPF_ADD, 2, 8), JMP_REG(BPF_JGT, 2, 1, 1), MOV64_IMM(0, 3), EXIT()};
    CHECK_EQ(vt_exec(ok, NINSN(ok), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 1);
}

static void r_return_pointer(void)
{
    REJECT("insn 1: r0 is a pointer to the stack at exit: a program must return a scalar",
           MOV64_REG(0, 10), EXIT());
    REJECT("insn 5: r0 points to this function's stack, which ends with the return", CALL_LOCAL(2),
           MOV64_IMM(0, 0), EXIT(), MOV64_IMM(0, 0), MOV64_REG(0, 10), EXIT());
}

static void r_mixed_kinds(void)
{
    struct vt_env env = {.ctx = &vt_ctx};
    /* A callee returns the ctx on one path and its caller's stack on the other: the caller gets
     * the join of its exits, so r0 is "mixed" and cannot be dereferenced. */
    REJECT_ENV(&env,
               "insn 4: r0 holds different kinds of values on different paths: it cannot be "
               "dereferenced",
               ST(BPF_DW, 10, -8, 7), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8), CALL_LOCAL(2),
               LDX(BPF_DW, 0, 0, 0), EXIT(),
               /* callee: */ LDX(BPF_DW, 3, 1, 0), MOV64_REG(0, 1), JMP_IMM(BPF_JEQ, 3, 0, 1),
               MOV64_REG(0, 2), EXIT());
    /* Within a function the two paths are kept apart after the merge (r2 = ctx or the stack
     * depending on a ctx value), so each kind is checked on its own: here the ctx path reads
     * before the ctx ... */
    REJECT_ENV(&env, "insn 5: read of 8 bytes at ctx-8 is before the start of struct test_ctx",
               LDX(BPF_DW, 3, 1, 0), MOV64_REG(2, 1), JMP_IMM(BPF_JEQ, 3, 0, 1), MOV64_REG(2, 10),
               ST(BPF_DW, 10, -8, 0), LDX(BPF_DW, 0, 2, -8), EXIT());
    /* ... and an offset valid for both kinds runs: r2 = ctx + 8 (field b) or fp - 8 */
    const struct bpf_insn both[] = {
        LDX(BPF_DW, 3, 1, 0),      ST(BPF_DW, 10, -8, 77),    MOV64_REG(2, 1),
        ALU64_IMM(BPF_ADD, 2, 8),  JMP_IMM(BPF_JEQ, 3, 0, 2), MOV64_REG(2, 10),
        ALU64_IMM(BPF_ADD, 2, -8), LDX(BPF_DW, 0, 2, 0),      EXIT(),
    };
    uint64_t c[8] = {0, 5}, r0 = 0;
    CHECK_EQ(vt_exec(both, NINSN(both), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 5);
    c[0] = 1;
    CHECK_EQ(vt_exec(both, NINSN(both), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 77);
}

/* --- memory ------------------------------------------------------------------------------- */

static void r_stack_bounds(void)
{
    REJECT("insn 0: write of 8 bytes at fp-520 is outside the 512-byte stack frame",
           ST(BPF_DW, 10, -520, 0), MOV64_IMM(0, 0), EXIT());
    REJECT("insn 0: read of 8 bytes at fp+0 is outside the 512-byte stack frame",
           LDX(BPF_DW, 0, 10, 0), EXIT());
    REJECT("insn 0: write of 8 bytes at fp-4 is outside the 512-byte stack frame",
           ST(BPF_DW, 10, -4, 0), MOV64_IMM(0, 0), EXIT());
}

static void r_uninit_stack(void)
{
    REJECT("insn 0: read of 8 bytes at fp-8 reads uninitialised stack at fp-8",
           LDX(BPF_DW, 0, 10, -8), EXIT());
    REJECT("insn 1: read of 8 bytes at fp-8 reads uninitialised stack at fp-4",
           ST(BPF_W, 10, -8, 1), LDX(BPF_DW, 0, 10, -8), EXIT());
    /* written on one path only: allowed (the stack is zeroed at entry) */
    RUN(0, JMP_IMM(BPF_JEQ, 1, 0, 1), ST(BPF_DW, 10, -8, 5), MOV64_IMM(1, 0),
        LDX(BPF_DW, 0, 10, -8), EXIT());
}

static void r_pointer_spills(void)
{
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env,
               "insn 0: pointer r1 must be stored to the stack as one aligned 8-byte value "
               "(write of 4 bytes at fp-8)",
               STX(BPF_W, 10, 1, -8), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&env, "insn 1: read of 4 bytes at fp-8 reads part of the pointer spilled at fp-8",
               STX(BPF_DW, 10, 1, -8), LDX(BPF_W, 0, 10, -8), EXIT());
    /* a byte overwritten: the rest of the pointer may not be read as data */
    REJECT_ENV(&env,
               "insn 2: read of 4 bytes at fp-4 reads fp-4, which may hold part of an "
               "overwritten pointer",
               STX(BPF_DW, 10, 1, -8), ST(BPF_B, 10, -8, 0), LDX(BPF_W, 0, 10, -4), EXIT());
}

static void r_ctx_bounds(void)
{
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env,
               "insn 0: read of 8 bytes at ctx+64 (field beyond) is past the end of struct "
               "test_ctx (64 bytes)",
               LDX(BPF_DW, 0, 1, 64), EXIT());
    REJECT_ENV(&env,
               "insn 0: read of 8 bytes at ctx+60 (field tail) is past the end of struct "
               "test_ctx (64 bytes)",
               LDX(BPF_DW, 0, 1, 60), EXIT());
    REJECT_ENV(&env,
               "insn 0: read of 4 bytes at ctx+100 is past the end of struct test_ctx (64 "
               "bytes)",
               LDX(BPF_W, 0, 1, 100), EXIT());
    REJECT_ENV(&env, "insn 0: read of 4 bytes at ctx-4 is before the start of struct test_ctx",
               LDX(BPF_W, 0, 1, -4), EXIT());
}

static void r_ctx_readonly(void)
{
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env, "insn 0: write of 4 bytes at ctx+0: struct test_ctx is read-only",
               ST(BPF_W, 1, 0, 1), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&env, "insn 1: atomic access of 8 bytes at ctx+8: struct test_ctx is read-only",
               MOV64_IMM(2, 1), ATOMIC(BPF_DW, RT_ATOMIC_ADD, 1, 2, 8), MOV64_IMM(0, 0), EXIT());
}

static void r_scalar_deref(void)
{
    REJECT("insn 1: r2 is a scalar, not a pointer: it cannot be dereferenced", MOV64_IMM(2, 4096),
           LDX(BPF_DW, 0, 2, 0), EXIT());
    /* r1 is a scalar when the host describes no ctx */
    REJECT("insn 0: r1 is a scalar, not a pointer: it cannot be dereferenced", LDX(BPF_DW, 0, 1, 0),
           EXIT());
}

static void r_null_check(void)
{
    REJECT_ENV(&menv,
               "insn 6: r0 may be NULL (result of bpf_map_lookup_elem() on map 'arr'): compare "
               "it with 0 before dereferencing it",
               LOOKUP0, LDX(BPF_DW, 0, 0, 0), EXIT());
    REJECT_ENV(&menv,
               "insn 6: arithmetic on r0, which may be NULL (result of bpf_map_lookup_elem()): "
               "compare it with 0 first",
               LOOKUP0, ALU64_IMM(BPF_ADD, 0, 8), MOV64_IMM(0, 0), EXIT());
    /* checked through a copy */
    RUN_ENV(&menv, 0, LOOKUP0, MOV64_REG(6, 0), JMP_IMM(BPF_JEQ, 0, 0, 1), LDX(BPF_DW, 6, 6, 0),
            MOV64_IMM(0, 0), EXIT());
}

static void r_bad_input_out_of_bounds(void)
{
    REJECT_ENV(&menv,
               "insn 7: read of 8 bytes at value+16 of map 'arr' is outside the value (16 bytes)",
               LOOKUP0, JMP_IMM(BPF_JEQ, 0, 0, 1), LDX(BPF_DW, 0, 0, 16), EXIT());
    /* a map value overflow through an index the program does not bound */
    REJECT_ENV(&menv,
               "insn 12: write of 8 bytes at value+[0..2040] of map 'arr' may be outside the "
               "value (16 bytes): bound the offset (e.g. if (idx < N)) before the access",
               LOOKUP0, JMP_IMM(BPF_JEQ, 0, 0, 7), MOV64_REG(6, 0), CALL(BPF_FUNC_get_prandom_u32),
               ALU64_IMM(BPF_AND, 0, 0xff), ALU64_IMM(BPF_LSH, 0, 3), ALU64_REG(BPF_ADD, 6, 0),
               ST(BPF_DW, 6, 0, 1), MOV64_IMM(0, 0), EXIT());
    /* bounded by the program: proven, no run-time check */
    RUN_ENV(&menv, 0, LOOKUP0, JMP_IMM(BPF_JEQ, 0, 0, 8), MOV64_REG(6, 0),
            CALL(BPF_FUNC_get_prandom_u32), ALU64_IMM(BPF_AND, 0, 0xff), JMP_IMM(BPF_JGT, 0, 1, 3),
            ALU64_IMM(BPF_LSH, 0, 3), ALU64_REG(BPF_ADD, 6, 0), ST(BPF_DW, 6, 0, 1),
            MOV64_IMM(0, 0), EXIT());
}

static void r_map_value_leak(void)
{
    REJECT_ENV(&menv, "insn 7: storing pointer r10 into a value of map 'arr' would leak an address",
               LOOKUP0, JMP_IMM(BPF_JEQ, 0, 0, 1), STX(BPF_DW, 0, 10, 0), MOV64_IMM(0, 0), EXIT());
}

static void r_readonly_map(void)
{
    REJECT_ENV(&menv,
               "insn 2: write of 8 bytes at value+0 of map '.rodata': the map is read-only to "
               "programs",
               LD_MAP_VAL(1, 1, 0), ST(BPF_DW, 1, 0, 1), MOV64_IMM(0, 0), EXIT());
}

static void r_misaligned_atomic(void)
{
    REJECT("insn 2: misaligned atomic access of 8 bytes at fp-12", ST(BPF_DW, 10, -16, 0),
           ST(BPF_DW, 10, -8, 0), ATOMIC(BPF_DW, RT_ATOMIC_ADD, 10, 1, -12), MOV64_IMM(0, 0),
           EXIT());
    REJECT("insn 2: r10 is a pointer to the stack: atomic operands must be scalars",
           ST(BPF_DW, 10, -16, 0), ST(BPF_DW, 10, -8, 0), ATOMIC(BPF_DW, RT_ATOMIC_ADD, 10, 10, -8),
           MOV64_IMM(0, 0), EXIT());
}

/* --- helpers ----------------------------------------------------------------------------- */

static uint64_t host_one(void *h, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    return 1;
}

static void r_bad_input_unknown_helper(void)
{
    REJECT("insn 0: unknown helper 9999", CALL(9999), EXIT());
    REJECT("insn 0: helper 12 (bpf_tail_call) is not supported by bpfmm", CALL(12), EXIT());
    REJECT("insn 1: unknown helper 9999", MOV64_IMM(2, 9999), CALLX(2), EXIT());
}

static void r_helper_args(void)
{
    REJECT_ENV(&menv,
               "insn 4: bpf_map_lookup_elem argument 1 (r1) must be a map (loaded with lddw); r1 "
               "is a scalar",
               ST(BPF_W, 10, -4, 0), MOV64_IMM(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
               CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&menv,
               "insn 4: argument 2 (key, r2) (4 bytes at fp-4) reads uninitialised stack at fp-4",
               LD_MAP(1, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
               CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&menv, "insn 4: argument 2 (key, r2) must point to memory; r2 is a scalar",
               ST(BPF_W, 10, -4, 0), LD_MAP(1, 0), MOV64_IMM(2, 0), CALL(BPF_FUNC_map_lookup_elem),
               MOV64_IMM(0, 0), EXIT());
    REJECT_ENV(&menv,
               "insn 9: bpf_map_update_elem on map '.rodata': the map is read-only to programs",
               ST(BPF_W, 10, -4, 0), ST(BPF_DW, 10, -24, 0), ST(BPF_DW, 10, -16, 0), LD_MAP(1, 1),
               MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4), MOV64_REG(3, 10),
               ALU64_IMM(BPF_ADD, 3, -24), CALL(BPF_FUNC_map_update_elem), MOV64_IMM(0, 0), EXIT());
    /* a pointer+size pair needs a known size */
    struct vt_env env = {.ctx = &vt_ctx};
    REJECT_ENV(&env,
               "insn 5: bpf_trace_printk argument 2 (r2) must be a known size between 1 and "
               "32768; it is [0..18446744073709551615]",
               ST(BPF_DW, 10, -8, 0), LDX(BPF_DW, 2, 1, 0), MOV64_REG(1, 10),
               ALU64_IMM(BPF_ADD, 1, -8), MOV64_IMM(3, 0), CALL(BPF_FUNC_trace_printk), EXIT());
    /* host helpers take scalars only */
    const struct bpfmm_rt_helper hh[] = {
        {.id = 0x10000, .name = "one", .nr_args = 1, .fn = host_one}};
    struct vt_env henv = {.helpers = hh, .nr_helpers = 1};
    REJECT_ENV(&henv, "insn 1: one argument 1 (r1) must be a scalar; r1 is a pointer to the stack",
               MOV64_REG(1, 10), CALL(0x10000), EXIT());
    REJECT("insn 0: callx r10: r10 is a pointer to the stack, not a helper number", CALLX(10),
           EXIT());
}

static const struct {
    const char *name;
    void (*fn)(void);
} rules[] = {
#define R(n)                                                                                       \
    {                                                                                              \
#n, r_##n                                                                                  \
    }
    R(empty),
    R(bad_input_oversized),
    R(invalid_opcode),
    R(invalid_register),
    R(r10_readonly),
    R(reserved_fields),
    R(lddw_pair),
    R(bad_input_jump_out_of_range),
    R(jump_into_lddw),
    R(fall_off_end),
    R(unreachable),
    R(bad_input_endless_loop),
    R(calls_structure),
    R(call_depth),
    R(bad_input_uninit_register),
    R(pointer_arithmetic),
    R(pointer_compare),
    R(return_pointer),
    R(mixed_kinds),
    R(stack_bounds),
    R(uninit_stack),
    R(pointer_spills),
    R(ctx_bounds),
    R(ctx_readonly),
    R(scalar_deref),
    R(null_check),
    R(bad_input_out_of_bounds),
    R(map_value_leak),
    R(readonly_map),
    R(misaligned_atomic),
    R(bad_input_unknown_helper),
    R(helper_args),
#undef R
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--check")) {
        /* every table entry is registered in CMake, and nothing else is */
        CHECK_MSG((size_t)(argc - 2) == NRULES, "CMake registers %d rules, the table has %zu",
                  argc - 2, NRULES);
        for (size_t k = 0; k < NRULES; k++) {
            bool found = false;
            for (int a = 2; a < argc; a++)
                found |= !strcmp(argv[a], rules[k].name);
            CHECK_MSG(found, "rule %s is not registered in CMakeLists.txt", rules[k].name);
        }
        return 0;
    }
    setup_maps();
    for (size_t k = 0; k < NRULES; k++) {
        if (argc >= 2 && strcmp(argv[1], rules[k].name))
            continue;
        printf("--- %s\n", rules[k].name);
        rules[k].fn();
        if (argc >= 2) {
            vt_map_free(maps2[0]);
            vt_map_free(maps2[1]);
            return 0;
        }
    }
    vt_map_free(maps2[0]);
    vt_map_free(maps2[1]);
    CHECK_MSG(argc < 2, "no rule named %s", argv[1]);
    return 0;
}
