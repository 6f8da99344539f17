/*
 * Randomised soundness check of whole programs: the verifier's value tracking, and the
 * interpreter against the independent reference evaluator of isa_ref.h. Each program loads four
 * 64-bit inputs the verifier cannot know (compat memory), then runs random ALU64/ALU32
 * operations (byte swaps included), forward conditional jumps (JMP and JMP32) and stack
 * stores/loads at offsets masked by the program. The verifier prunes branches it believes
 * impossible (they become traps) and proves masked accesses statically (no run-time check): if
 * its ranges were ever wrong, a run would hit a trap or access out of bounds (ASan, the
 * interpreter audit), or r0 would differ from the reference. runtime_vm_domain checks the same
 * ranges transfer function by transfer function. Seed: BPFMM_TEST_SEED (printed).
 */
#include "isa_ref.h"
#include "vm_test.h"

#define PROGS  20000
#define INPUTS 24
#define BODY   28

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint8_t regs[] = {0, 2, 3, 4, 5}; /* r1 = memory, r6/r7 scratch for memory */

static uint8_t rreg(void)
{
    return regs[rnd() % sizeof(regs)];
}

static int32_t rimm(void)
{
    static const int32_t special[] = {
        0, 1, -1, 2, 7, 8, 31, 32, 63, 64, 0x7fffffff, (int32_t)0x80000000, 0xff, 0xffff, -8, 3};
    if (rnd() % 3)
        return special[rnd() % (sizeof(special) / sizeof(special[0]))];
    return (int32_t)rnd();
}

/* Inputs with interesting bit patterns. */
static uint64_t rinput(void)
{
    static const uint64_t special[] = {
        0, 1,  -1ull, 0x80000000ull, 0xffffffffull, 0x8000000000000000ull, 0x7fffffffffffffffull,
        2, 63, 64};
    if (rnd() % 2)
        return special[rnd() % (sizeof(special) / sizeof(special[0]))];
    uint64_t v = rnd();
    return rnd() % 2 ? v >> (rnd() % 64) : v;
}

/* Reference run of the generated program (only the instruction forms generated below). */
static uint64_t ref_run(const struct bpf_insn *p, uint32_t n, const uint64_t *in)
{
    uint64_t r[11] = {0};
    uint8_t stack[64]; /* the program's fp-64..fp-1; r10 is modelled as offset 64 */
    r[10] = 64;
    memset(stack, 0, sizeof(stack));
    for (uint32_t pc = 0; pc < n; pc++) {
        const struct bpf_insn *x = &p[pc];
        unsigned cls = rt_class(x->code), op = rt_op(x->code);
        bool k = rt_srcbit(x->code) == BPF_K;
        switch (cls) {
        case BPF_ALU:
        case BPF_ALU64: {
            bool is64 = cls == BPF_ALU64;
            uint64_t b = k ? (is64 ? (uint64_t)(int64_t)x->imm : (uint32_t)x->imm) : r[x->src_reg];
            if (op == BPF_END) {
                r[x->dst_reg] =
                    ref_end(is64, rt_srcbit(x->code) == BPF_TO_BE, (unsigned)x->imm, r[x->dst_reg]);
            } else {
                r[x->dst_reg] = ref_alu(op, x->off, is64, r[x->dst_reg], b);
            }
            break;
        }
        case BPF_LDX:
            if (x->src_reg == 1) {
                r[x->dst_reg] = in[x->off / 8];
            } else {
                uint64_t v;
                memcpy(&v, stack + (r[x->src_reg] + (uint64_t)(int64_t)x->off), 8);
                r[x->dst_reg] = v;
            }
            break;
        case BPF_ST:
            memset(stack + 64 + x->off, 0, 8);
            break;
        case BPF_STX:
            memcpy(stack + (r[x->dst_reg] + (uint64_t)(int64_t)x->off), &r[x->src_reg], 8);
            break;
        case BPF_JMP:
        case BPF_JMP32:
            if (op == BPF_EXIT)
                return r[0];
            if (op == BPF_JA) {
                pc += x->off;
                break;
            }
            if (ref_cond(op, cls == BPF_JMP32, r[x->dst_reg],
                         k ? (cls == BPF_JMP32 ? (uint32_t)x->imm : (uint64_t)(int64_t)x->imm)
                           : r[x->src_reg]))
                pc += x->off;
            break;
        }
    }
    return r[0];
}

static uint32_t gen(struct bpf_insn *p)
{
    static const unsigned alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL,  BPF_DIV, BPF_OR,
                                       BPF_AND, BPF_LSH, BPF_RSH,  BPF_NEG, BPF_MOD,
                                       BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END};
    static const unsigned jops[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                    BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
    uint32_t n = 0;
    for (int k = 0; k < 8; k++)
        p[n++] = ST(BPF_DW, 10, -64 + 8 * k, 0);
    p[n++] = LDX(BPF_DW, 0, 1, 0);
    p[n++] = LDX(BPF_DW, 2, 1, 8);
    p[n++] = LDX(BPF_DW, 3, 1, 16);
    p[n++] = LDX(BPF_DW, 4, 1, 24);
    p[n++] = LDX(BPF_DW, 5, 1, 0);
    uint32_t body_start = n, end = n + BODY;
    bool inner[BODY + 1] = {false}; /* inside a memory group: not a jump target */
    bool is_jump[BODY] = {false};
    while (n < end) {
        uint32_t kind = (uint32_t)(rnd() % 10);
        if (kind >= 9 && n + 5 <= end) {
            /* masked stack access: r6 = reg & 0x38; r7 = fp + r6; store/load at r7 - 64 */
            for (uint32_t q = n + 1; q < n + 5; q++)
                inner[q - body_start] = true;
            p[n++] = MOV64_REG(6, rreg());
            p[n++] = ALU64_IMM(BPF_AND, 6, 0x38);
            p[n++] = MOV64_REG(7, 10);
            p[n++] = ALU64_REG(BPF_ADD, 7, 6);
            p[n++] = rnd() % 2 ? STX(BPF_DW, 7, rreg(), -64) : LDX(BPF_DW, rreg(), 7, -64);
        } else if (kind >= 6) {
            bool is32 = rnd() % 2, x = rnd() % 2;
            unsigned op = jops[rnd() % (sizeof(jops) / sizeof(jops[0]))];
            is_jump[n - body_start] = true;
            p[n++] = RAW((is32 ? BPF_JMP32 : BPF_JMP) | op | (x ? BPF_X : BPF_K), rreg(),
                         x ? rreg() : 0, 0, x ? 0 : rimm());
        } else {
            bool is64 = rnd() % 2;
            unsigned op = alu_ops[rnd() % (sizeof(alu_ops) / sizeof(alu_ops[0]))];
            bool x = rnd() % 2;
            int16_t off = 0;
            if ((op == BPF_DIV || op == BPF_MOD) && rnd() % 2)
                off = 1;
            static const int16_t sx64[] = {8, 16, 32}, widths[] = {16, 32, 64};
            if (op == BPF_MOV && x && rnd() % 2)
                off = sx64[rnd() % (is64 ? 3 : 2)];
            if (op == BPF_NEG)
                p[n++] = RAW((is64 ? BPF_ALU64 : BPF_ALU) | BPF_NEG, rreg(), 0, 0, 0);
            else if (op == BPF_END) /* BSWAP (ALU64), or to_le / to_be (ALU) */
                p[n++] = RAW((is64 ? BPF_ALU64 : BPF_ALU) | BPF_END |
                                 (!is64 && rnd() % 2 ? BPF_TO_BE : BPF_TO_LE),
                             rreg(), 0, 0, widths[rnd() % 3]);
            else
                p[n++] = RAW((is64 ? BPF_ALU64 : BPF_ALU) | op | (x ? BPF_X : BPF_K), rreg(),
                             x ? rreg() : 0, off, x ? 0 : rimm());
        }
    }
    p[n++] = EXIT();
    for (uint32_t i = body_start; i < end; i++) {
        if (!is_jump[i - body_start])
            continue;
        uint32_t t;
        do
            t = i + 1 + (uint32_t)(rnd() % (end - i)); /* forward, up to the exit */
        while (inner[t - body_start]);
        p[i].off = (int16_t)(t - (i + 1));
    }
    return n;
}

int main(void)
{
    const char *seed = getenv("BPFMM_TEST_SEED");
    rng = seed ? strtoull(seed, NULL, 0) : 0x9e3779b97f4a7c15ull;
    if (!rng)
        rng = 1;
    printf("seed 0x%llx\n", (unsigned long long)rng);
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    unsigned rejected = 0, runs = 0, pruned = 0, proven = 0;
    const void *const *H = rt_interp_handlers();
    for (int prog = 0; prog < PROGS; prog++) {
        struct bpf_insn p[8 + 5 + BODY + 8];
        uint32_t n = gen(p);
        char log[512];
        struct rt_vm_prog *vm = vt_prepare_env(p, n, &env, log, sizeof(log));
        if (!vm) {
            /* only structural rejections are expected: a forward jump may skip code */
            CHECK_MSG(strstr(log, "unreachable instruction"), "program %d rejected: %s", prog, log);
            rejected++;
            continue;
        }
        /* how much the verifier decided: dead instructions and unchecked stack accesses */
        for (uint32_t i = 0; i < n; i++) {
            pruned += vm->code[i].h == H[RT_OP_TRAP];
            proven += vm->code[i].h == H[RT_OP_STXDW] || vm->code[i].h == H[RT_OP_LDXDW];
        }
        for (int k = 0; k < INPUTS; k++) {
            uint64_t in[4] = {rinput(), rinput(), rinput(), rinput()};
            uint64_t r0 = 0, want = ref_run(p, n, in);
            struct bpfmm_rt_fault f;
            int err = rt_vm_run(vm, in, sizeof(in), NULL, &r0, NULL, &f);
            if (err || r0 != want) {
                for (uint32_t i = 0; i < n; i++) {
                    char buf[128];
                    rt_vm_disasm_insn(p, i, n, NULL, 0, buf, sizeof(buf));
                    fprintf(stderr, "%3u: %s\n", i, buf);
                }
                TEST_FAIL("program %d inputs %llx %llx %llx %llx: err %d (%s at insn %u), r0 "
                          "0x%llx, reference 0x%llx",
                          prog, (unsigned long long)in[0], (unsigned long long)in[1],
                          (unsigned long long)in[2], (unsigned long long)in[3], err,
                          err ? f.msg : "", err ? f.insn : 0, (unsigned long long)r0,
                          (unsigned long long)want);
            }
            runs++;
        }
        rt_vm_free(vm);
    }
    printf("%d programs (%u rejected as unreachable), %u runs agree with the reference; the "
           "verifier found %u dead instructions and proved %u stack accesses\n",
           PROGS, rejected, runs, pruned, proven);
    CHECK_LT(rejected, PROGS / 2);
    CHECK_GT(pruned, PROGS / 20); /* otherwise the test would not exercise pruning */
    CHECK_GT(proven, PROGS / 2);
    return 0;
}
