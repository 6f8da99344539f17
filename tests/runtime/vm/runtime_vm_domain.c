/*
 * runtime_vm_domain: soundness of the verifier's scalar domain (src/runtime/rt_verify_scalar.c)
 * transfer function by transfer function, against the independent reference in isa_ref.h. For
 * random abstract values d and s (unsigned / signed ranges and constants built from interesting
 * bit patterns) and concrete members a of d and b of s, every ALU operation's abstract result
 * must contain the reference result of a op b, every byte-order operation's must contain the
 * reference's, and a conditional jump's refinement of the edge that a and b take must be
 * feasible and still contain them. A range that ever excluded a possible value would let the
 * verifier prune a live branch or prove an out-of-bounds access. Seed: BPFMM_TEST_SEED.
 */
#include "isa_ref.h"
#include "vm_test.h"

#include "runtime/rt_verify.h"

#define ROUNDS 60000

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t rvalue(void)
{
    static const uint64_t special[] = {0,
                                       1,
                                       2,
                                       3,
                                       4,
                                       5,
                                       7,
                                       8,
                                       15,
                                       16,
                                       31,
                                       32,
                                       63,
                                       64,
                                       0xff,
                                       0x100,
                                       0xffff,
                                       0x7fffffff,
                                       0x80000000,
                                       0xffffffff,
                                       0x100000000ull,
                                       0x7fffffffffffffffull,
                                       0x8000000000000000ull,
                                       -1ull,
                                       -2ull,
                                       -8ull,
                                       -0x80000000ull};
    uint64_t v = special[rnd() % (sizeof(special) / sizeof(special[0]))];
    switch (rnd() % 4) {
    case 0:
        return v;
    case 1:
        return v + (rnd() % 5) - 2;
    case 2:
        return rnd() >> (rnd() % 64);
    default:
        return rnd();
    }
}

static bool member(const struct vreg *r, uint64_t x)
{
    return r->umin <= x && x <= r->umax && r->smin <= (int64_t)x && (int64_t)x <= r->smax;
}

/* A random non-empty abstract scalar. */
static void rrange(struct vreg *r)
{
    vreg_scalar_unknown(r);
    uint64_t x = rvalue(), y = rvalue();
    switch (rnd() % 4) {
    case 0:
        vs_set_const(r, x);
        break;
    case 1:
        vs_set_urange(r, x < y ? x : y, x < y ? y : x);
        break;
    case 2:
        vs_set_srange(r, (int64_t)x < (int64_t)y ? (int64_t)x : (int64_t)y,
                      (int64_t)x < (int64_t)y ? (int64_t)y : (int64_t)x);
        break;
    default:
        break; /* unknown */
    }
    CHECK(r->umin <= r->umax && r->smin <= r->smax);
}

/* A concrete member of r (false if the candidates miss: the range is then skipped). */
static bool pick(const struct vreg *r, uint64_t *out)
{
    uint64_t span = r->umax - r->umin;
    uint64_t sspan = (uint64_t)r->smax - (uint64_t)r->smin;
    uint64_t cand[] = {
        r->umin + (span == UINT64_MAX ? rnd() : rnd() % (span + 1)),
        (uint64_t)r->smin + (sspan == UINT64_MAX ? rnd() : rnd() % (sspan + 1)),
        r->umin,
        r->umax,
        (uint64_t)r->smin,
        (uint64_t)r->smax,
    };
    for (unsigned k = 0; k < sizeof(cand) / sizeof(cand[0]); k++)
        if (member(r, cand[k])) {
            *out = cand[k];
            return true;
        }
    return false;
}

static void fail_range(const char *what, const struct vreg *d, const struct vreg *s, uint64_t a,
                       uint64_t b, const struct vreg *res, uint64_t want)
{
    TEST_FAIL("%s: d u[%#llx, %#llx] s[%lld, %lld] a=%#llx, s u[%#llx, %#llx] s[%lld, %lld] "
              "b=%#llx: result u[%#llx, %#llx] s[%lld, %lld] misses %#llx",
              what, (unsigned long long)d->umin, (unsigned long long)d->umax, (long long)d->smin,
              (long long)d->smax, (unsigned long long)a, (unsigned long long)s->umin,
              (unsigned long long)s->umax, (long long)s->smin, (long long)s->smax,
              (unsigned long long)b, (unsigned long long)res->umin, (unsigned long long)res->umax,
              (long long)res->smin, (long long)res->smax, (unsigned long long)want);
}

static const unsigned alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
                                   BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};
static const unsigned jmp_ops[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                   BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};

static uint64_t checks;

static void check_alu(const struct vreg *d, const struct vreg *s, uint64_t a, uint64_t b)
{
    char what[64];
    for (unsigned k = 0; k < sizeof(alu_ops) / sizeof(alu_ops[0]); k++) {
        unsigned op = alu_ops[k];
        for (int is64 = 0; is64 < 2; is64++) {
            int16_t offs[4] = {0};
            unsigned noffs = 1;
            if (op == BPF_DIV || op == BPF_MOD)
                offs[noffs++] = RT_OFF_SDIV;
            if (op == BPF_MOV) {
                offs[noffs++] = RT_OFF_MOVSX8;
                offs[noffs++] = RT_OFF_MOVSX16;
                if (is64)
                    offs[noffs++] = RT_OFF_MOVSX32;
            }
            for (unsigned o = 0; o < noffs; o++) {
                struct vreg r = *d;
                vs_alu(&r, op == BPF_NEG ? &r : s, op, offs[o], is64);
                uint64_t want = ref_alu(op, offs[o], is64, a, op == BPF_NEG ? a : b);
                checks++;
                if (!member(&r, want)) {
                    snprintf(what, sizeof(what), "alu%s op 0x%02x off %d", is64 ? "64" : "32", op,
                             offs[o]);
                    fail_range(what, d, s, a, b, &r, want);
                }
            }
        }
    }
    static const int32_t widths[] = {16, 32, 64};
    for (unsigned w = 0; w < 3; w++)
        for (int form = 0; form < 3; form++) { /* to_le, to_be (ALU), bswap (ALU64) */
            struct vreg r = *d;
            vs_end(&r, form == 1, form == 2, widths[w]);
            uint64_t want = ref_end(form == 2, form == 1, (unsigned)widths[w], a);
            checks++;
            if (!member(&r, want)) {
                snprintf(what, sizeof(what), "end form %d width %d", form, widths[w]);
                fail_range(what, d, s, a, 0, &r, want);
            }
        }
}

static void check_refine(const struct vreg *d, const struct vreg *s, uint64_t a, uint64_t b)
{
    for (unsigned k = 0; k < sizeof(jmp_ops) / sizeof(jmp_ops[0]); k++) {
        unsigned op = jmp_ops[k];
        for (int is32 = 0; is32 < 2; is32++) {
            bool taken = ref_cond(op, is32, a, b);
            struct vreg ra = *d, rb = *s;
            bool feasible = vs_refine(&ra, &rb, op, is32, taken);
            checks++;
            if (!feasible || !member(&ra, a) || !member(&rb, b)) {
                char what[96];
                snprintf(what, sizeof(what), "jmp%s op 0x%02x %s edge%s", is32 ? "32" : "", op,
                         taken ? "taken" : "fall-through", feasible ? "" : " declared impossible");
                fail_range(what, d, s, a, b, member(&ra, a) ? &rb : &ra, member(&ra, a) ? b : a);
            }
        }
    }
}

int main(void)
{
    const char *seed = getenv("BPFMM_TEST_SEED");
    rng = seed ? strtoull(seed, NULL, 0) : 0x2545f4914f6cdd1dull;
    if (!rng)
        rng = 1;
    printf("seed 0x%llx\n", (unsigned long long)rng);
    unsigned skipped = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct vreg d, s;
        uint64_t a, b;
        rrange(&d);
        rrange(&s);
        if (rnd() % 3 == 0) { /* s a constant at (or next to) one of d's bounds: refinement edges */
            uint64_t bounds[] = {d.umin, d.umax, (uint64_t)d.smin, (uint64_t)d.smax};
            vs_set_const(&s, bounds[rnd() % 4] + (rnd() % 3) - 1);
        }
        if (!pick(&d, &a) || !pick(&s, &b)) {
            skipped++;
            continue;
        }
        check_alu(&d, &s, a, b);
        check_refine(&d, &s, a, b);
        /* comparing a register with itself: the verifier refines a copy */
        struct vreg copy = d;
        check_refine(&d, &copy, a, a);
    }
    printf("%llu transfer-function checks passed (%u of %d rounds had no member to pick)\n",
           (unsigned long long)checks, skipped, ROUNDS);
    CHECK_LT(skipped, ROUNDS / 10);
    return 0;
}
