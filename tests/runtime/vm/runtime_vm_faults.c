/*
 * Run-time fault paths: accesses the verifier could not prove are checked against the region
 * it proved them to point into, and a violation stops the program with -EFAULT, the fault kind,
 * the instruction index and a message, without touching memory outside the region. The
 * instruction budget stops loops the verifier cannot bound. One case per CTest test
 * (runtime_vm_fault_<case>): `runtime_vm_faults CASE`.
 */
#include "vm_test.h"

static int run_mem(const struct bpf_insn *p, uint32_t n, const struct vt_env *env, void *mem,
                   size_t len, uint64_t *r0, struct bpfmm_rt_fault *f)
{
    memset(f, 0, sizeof(*f));
    return vt_exec(p, n, env, mem, len, r0, f, __LINE__);
}

#define EXPECT_FAULT(err, f, kind_, insn_, text)                                                   \
    do {                                                                                           \
        CHECK_EQ(err, -EFAULT);                                                                    \
        CHECK_EQ((f).kind, kind_);                                                                 \
        CHECK_EQ((f).insn, insn_);                                                                 \
        CHECK_MSG(!strcmp((f).msg, text), "fault message\n  got:      %s\n  expected: %s",         \
                  (f).msg, text);                                                                  \
        printf("fault as expected: insn %u: %s\n", (f).insn, (f).msg);                             \
    } while (0)

/* r2 = *(u32 *)mem; read 8 bytes at fp - 8 - r2 (the offset is not bounded by the program). */
static void f_stack(void)
{
    const struct bpf_insn p[] = {
        ST(BPF_DW, 10, -8, 0x11), LDX(BPF_W, 2, 1, 0),   MOV64_REG(3, 10),
        ALU64_REG(BPF_SUB, 3, 2), LDX(BPF_DW, 0, 3, -8), EXIT(),
    };
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    uint32_t idx = 0;
    uint64_t r0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(run_mem(p, NINSN(p), &env, &idx, 4, &r0, &f), 0);
    CHECK_EQ(r0, 0x11);
    idx = 504; /* fp-512: the last 8 bytes of the frame, never written: zero */
    CHECK_EQ(run_mem(p, NINSN(p), &env, &idx, 4, &r0, &f), 0);
    CHECK_EQ(r0, 0);
    idx = 600;
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, &idx, 4, &r0, &f), f, BPFMM_RT_FAULT_MEM, 4,
                 "out-of-bounds read of 8 bytes at fp-608 (the frame is 512 bytes)");
    idx = 0xfffffff8u; /* far below the frame */
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, &idx, 4, &r0, &f), f, BPFMM_RT_FAULT_MEM, 4,
                 "out-of-bounds read of 8 bytes at fp-4294967296 (the frame is 512 bytes)");
}

/* A described 64-byte ctx, byte index taken from ctx->a: reads ctx[idx]; and a writable ctx. */
static void f_ctx(void)
{
    uint8_t c[64 + 8];
    memset(c, 0x5a, sizeof(c));
    const struct bpf_insn rd[] = {LDX(BPF_B, 2, 1, 0), MOV64_REG(3, 1), ALU64_REG(BPF_ADD, 3, 2),
                                  LDX(BPF_B, 0, 3, 0), EXIT()};
    struct vt_env env = {.ctx = &vt_ctx};
    uint64_t r0;
    struct bpfmm_rt_fault f;
    c[0] = 63;
    CHECK_EQ(run_mem(rd, NINSN(rd), &env, c, 64, &r0, &f), 0);
    CHECK_EQ(r0, 0x5a);
    c[0] = 64;
    EXPECT_FAULT(run_mem(rd, NINSN(rd), &env, c, 64, &r0, &f), f, BPFMM_RT_FAULT_MEM, 3,
                 "out-of-bounds read of 1 byte at ctx+64 (the ctx is 64 bytes)");
    /* a store past a writable ctx is refused before it happens */
    const struct bpf_insn wr[] = {LDX(BPF_B, 2, 1, 0), MOV64_REG(3, 1), ALU64_REG(BPF_ADD, 3, 2),
                                  ST(BPF_DW, 3, 0, 0), MOV64_IMM(0, 0), EXIT()};
    struct vt_env rw = {.ctx = &vt_ctx_rw};
    c[0] = 60;
    EXPECT_FAULT(run_mem(wr, NINSN(wr), &rw, c, 64, &r0, &f), f, BPFMM_RT_FAULT_MEM, 3,
                 "out-of-bounds write of 8 bytes at ctx+60 (the ctx is 64 bytes)");
    for (int k = 60; k < 72; k++)
        CHECK_EQ(c[k], 0x5a);
}

/* Compat memory: its size is only known at run time, every access is checked. */
static void f_compat(void)
{
    const struct bpf_insn p[] = {LDX(BPF_DW, 0, 1, 8), EXIT()};
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    uint8_t mem[16] = {0};
    uint64_t r0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(run_mem(p, NINSN(p), &env, mem, 16, &r0, &f), 0);
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, mem, 12, &r0, &f), f, BPFMM_RT_FAULT_MEM, 0,
                 "out-of-bounds read of 8 bytes at ctx+8 (the ctx is 12 bytes)");
}

/* Global data: an index from memory, unbounded, into .data's single 16-byte value. */
static void f_global(void)
{
    struct rt_map *data = vt_map_new(".data", 0, 16, 1, true, false);
    struct rt_map *const ms[] = {data};
    struct vt_env env = {.maps = ms, .nr_maps = 1, .flags = BPFMM_RT_LOAD_COMPAT};
    const struct bpf_insn p[] = {
        LDX(BPF_B, 2, 1, 0), LD_MAP_VAL(3, 0, 0), ALU64_REG(BPF_ADD, 3, 2),
        ST(BPF_B, 3, 0, 7),  MOV64_IMM(0, 0),     EXIT(),
    };
    uint8_t idx = 15;
    uint64_t r0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(run_mem(p, NINSN(p), &env, &idx, 1, &r0, &f), 0);
    CHECK_EQ(((uint8_t *)data->global_data)[15], 7);
    idx = 16;
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, &idx, 1, &r0, &f), f, BPFMM_RT_FAULT_MEM, 4,
                 "out-of-bounds write of 1 byte at an address outside the values of map '.data' "
                 "(value size 16)");
    CHECK_EQ(((uint8_t *)data->global_data)[16], 0);
    vt_map_free(data);
}

/* A loop the verifier cannot bound (it exits only when memory says so). */
static void f_budget(void)
{
    const struct bpf_insn p[] = {
        MOV64_IMM(0, 0), LDX(BPF_B, 2, 1, 0), ALU64_IMM(BPF_ADD, 0, 1), JMP_IMM(BPF_JNE, 2, 0, -2),
        EXIT(),
    };
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT, .budget = 1000};
    uint8_t stop = 0;
    uint64_t r0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(run_mem(p, NINSN(p), &env, &stop, 1, &r0, &f), 0);
    CHECK_EQ(r0, 1);
    stop = 1;
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, &stop, 1, &r0, &f), f, BPFMM_RT_FAULT_BUDGET, 3,
                 "instruction budget of 1000 exhausted (endless or too long loop)");
    /* the count is exact: the budget is exceeded by at most one loop iteration */
    char log[256];
    struct rt_vm_prog *prog = vt_prepare_env(p, NINSN(p), &env, log, sizeof(log));
    CHECK_MSG(prog, "%s", log);
    uint64_t executed = 0;
    CHECK_EQ(rt_vm_run(prog, &stop, 1, NULL, &r0, &executed, &f), -EFAULT);
    CHECK_GT(executed, 1000);
    CHECK_LE(executed, 1003);
    stop = 0;
    CHECK_EQ(rt_vm_run(prog, &stop, 1, NULL, &r0, &executed, &f), 0);
    CHECK_EQ(executed, 5);
    rt_vm_free(prog);
    /* a budget too large to count (1 << 60 instructions) is as good as unlimited */
    const struct bpf_insn hundred[] = {
        MOV64_IMM(0, 0),
        ALU64_IMM(BPF_ADD, 0, 1),
        JMP_IMM(BPF_JLT, 0, 100, -2),
        EXIT(),
    };
    struct vt_env huge = {.flags = BPFMM_RT_LOAD_COMPAT, .budget = 1ull << 60};
    CHECK_EQ(run_mem(hundred, NINSN(hundred), &huge, &stop, 1, &r0, &f), 0);
    CHECK_EQ(r0, 100);
    /* the default budget is 1,000,000 */
    struct vt_env dflt = {.flags = BPFMM_RT_LOAD_COMPAT};
    stop = 1;
    EXPECT_FAULT(run_mem(p, NINSN(p), &dflt, &stop, 1, &r0, &f), f, BPFMM_RT_FAULT_BUDGET, 3,
                 "instruction budget of 1000000 exhausted (endless or too long loop)");
}

/* The budget also stops a loop inside a called function, naming the callee's instruction. */
static void f_budget_callee(void)
{
    const struct bpf_insn p[] = {
        CALL_LOCAL(1),
        EXIT(),
        /* f: */ MOV64_IMM(0, 0),
        LDX(BPF_B, 2, 1, 0),
        ALU64_IMM(BPF_ADD, 0, 1),
        JMP_IMM(BPF_JNE, 2, 0, -2),
        EXIT(),
    };
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT, .budget = 500};
    uint8_t stop = 1;
    uint64_t r0;
    struct bpfmm_rt_fault f;
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, &stop, 1, &r0, &f), f, BPFMM_RT_FAULT_BUDGET, 5,
                 "instruction budget of 500 exhausted (endless or too long loop)");
}

/* Atomics must be naturally aligned; an unknown offset is checked at run time. */
static void f_atomic_align(void)
{
    const struct bpf_insn p[] = {
        LDX(BPF_B, 2, 1, 0), ALU64_IMM(BPF_AND, 2, 7),
        MOV64_REG(3, 1),     ALU64_REG(BPF_ADD, 3, 2),
        MOV64_IMM(4, 1),     ATOMIC(BPF_DW, RT_ATOMIC_ADD, 3, 4, 8),
        MOV64_IMM(0, 0),     EXIT(),
    };
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    uint64_t mem[3] = {0, 0, 0};
    uint64_t r0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(run_mem(p, NINSN(p), &env, mem, sizeof(mem), &r0, &f), 0);
    CHECK_EQ(mem[1], 1);
    mem[0] = 4;
    EXPECT_FAULT(run_mem(p, NINSN(p), &env, mem, sizeof(mem), &r0, &f), f, BPFMM_RT_FAULT_MEM, 5,
                 "misaligned 8-byte atomic access (atomics must be naturally aligned)");
    CHECK_EQ(mem[1], 1);
}

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"stack", f_stack},
    {"ctx", f_ctx},
    {"compat", f_compat},
    {"global", f_global},
    {"budget", f_budget},
    {"budget_callee", f_budget_callee},
    {"atomic_align", f_atomic_align},
};

int main(int argc, char **argv)
{
    bool ran = false;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        if (argc >= 2 && strcmp(argv[1], cases[k].name))
            continue;
        printf("--- %s\n", cases[k].name);
        cases[k].fn();
        ran = true;
    }
    CHECK_MSG(ran, "no case named %s", argc >= 2 ? argv[1] : "?");
    return 0;
}
