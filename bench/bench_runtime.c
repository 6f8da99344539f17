/*
 * `bpfmm bench runtime`: speed of the policy runtime. Each metric is one entry of `cases`
 * below; a case measures and fills its keys. Implemented so far:
 *   - ns_per_insn: the interpreter on a compute-bound program, a sieve of Eratosthenes over a
 *     512-byte stack array repeated in a loop, hand-encoded as clang -O2 lays out loops
 *     (bottom-tested, so the sieve's variable-offset accesses are checked at run time);
 *   - ns_per_insn_alu: a trial-division prime count (ALU and branches only);
 *   - native_ns_per_sieve / interp_vs_native: the same sieve in C, and the ratio.
 *   - ns_per_call_default: one call of the shipped default policy through the THP hook
 *     (bpfmm_policy_get_orders), including the per-range ctx setup a host does (copy a
 *     per-VMA template, fill the range fields); native_ns_per_call_default is the same
 *     decision written in C, and call_default_vs_native the ratio;
 *   - ns_per_call_by_name: one call of the shipped by-name policy, one hash lookup in a map
 *     of 256 names;
 *   - load_verify_us: opening, loading and verifying the default policy (median of repeats).
 * Owns measurement only; the format is bench.h's.
 */
#include "bench.h"
#include <bpfmm/policy.h>
#include "runtime/rt_insn.h"
#include "runtime/rt_vm.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define SIEVE_REPS   200
#define SIEVE_PRIMES 97 /* primes below 512 */

/* r7 = SIEVE_REPS * (number of primes below 512), sieving a byte array at fp-512. */
static const struct bpf_insn sieve_prog[] = {
    RT_I_MOV64_IMM(6, SIEVE_REPS),      /* 0: repetitions */
    RT_I_MOV64_IMM(7, 0),               /* 1: count */
    RT_I_MOV64_IMM(1, 0),               /* 2 outer: clear the array, 8 bytes at a time */
    RT_I_MOV64_REG(2, 10),              /* 3 clr: */
    RT_I_ALU64_IMM(BPF_ADD, 2, -512),   /* 4 */
    RT_I_ALU64_REG(BPF_ADD, 2, 1),      /* 5 */
    RT_I_ST(BPF_DW, 2, 0, 0),           /* 6 */
    RT_I_ALU64_IMM(BPF_ADD, 1, 8),      /* 7 */
    RT_I_JMP_IMM(BPF_JLT, 1, 512, -6),  /* 8: -> 3 */
    RT_I_MOV64_IMM(8, 2),               /* 9: i = 2 */
    RT_I_MOV64_REG(2, 10),              /* 10 iloop: */
    RT_I_ALU64_IMM(BPF_ADD, 2, -512),   /* 11 */
    RT_I_ALU64_REG(BPF_ADD, 2, 8),      /* 12 */
    RT_I_LDX(BPF_B, 1, 2, 0),           /* 13: composite[i] */
    RT_I_JMP_IMM(BPF_JNE, 1, 0, 10),    /* 14: -> 25 */
    RT_I_ALU64_IMM(BPF_ADD, 7, 1),      /* 15: a prime */
    RT_I_MOV64_REG(9, 8),               /* 16 */
    RT_I_ALU64_REG(BPF_MUL, 9, 8),      /* 17: j = i * i */
    RT_I_JMP_IMM(BPF_JGE, 9, 512, 6),   /* 18: -> 25 */
    RT_I_MOV64_REG(2, 10),              /* 19 jloop: */
    RT_I_ALU64_IMM(BPF_ADD, 2, -512),   /* 20 */
    RT_I_ALU64_REG(BPF_ADD, 2, 9),      /* 21 */
    RT_I_ST(BPF_B, 2, 0, 1),            /* 22: composite[j] = 1 */
    RT_I_ALU64_REG(BPF_ADD, 9, 8),      /* 23 */
    RT_I_JMP_IMM(BPF_JLT, 9, 512, -6),  /* 24: -> 19 */
    RT_I_ALU64_IMM(BPF_ADD, 8, 1),      /* 25 inext: */
    RT_I_JMP_IMM(BPF_JLT, 8, 512, -17), /* 26: -> 10 */
    RT_I_ALU64_IMM(BPF_ADD, 6, -1),     /* 27 */
    RT_I_JMP_IMM(BPF_JNE, 6, 0, -27),   /* 28: -> 2 */
    RT_I_MOV64_REG(0, 7),               /* 29 */
    RT_I_EXIT(),                        /* 30 */
};

#define TRIAL_LIMIT  2000
#define TRIAL_PRIMES 303 /* primes below 2000 */

/* r0 = number of primes in [2, TRIAL_LIMIT) by trial division with mod. */
static const struct bpf_insn trial_prog[] = {
    RT_I_MOV64_IMM(0, 0),                       /* 0: count */
    RT_I_MOV64_IMM(1, 2),                       /* 1: n */
    RT_I_MOV64_IMM(2, 2),                       /* 2 nloop: d = 2 */
    RT_I_MOV64_REG(3, 2),                       /* 3 dloop: */
    RT_I_ALU64_REG(BPF_MUL, 3, 2),              /* 4: d * d */
    RT_I_JMP_REG(BPF_JGT, 3, 1, 5),             /* 5: d * d > n: prime -> 11 */
    RT_I_MOV64_REG(4, 1),                       /* 6 */
    RT_I_ALU64_REG(BPF_MOD, 4, 2),              /* 7: n % d */
    RT_I_JMP_IMM(BPF_JEQ, 4, 0, 3),             /* 8: composite -> 12 */
    RT_I_ALU64_IMM(BPF_ADD, 2, 1),              /* 9 */
    RT_I_JA(-8),                                /* 10: -> 3 */
    RT_I_ALU64_IMM(BPF_ADD, 0, 1),              /* 11 prime: */
    RT_I_ALU64_IMM(BPF_ADD, 1, 1),              /* 12 next: */
    RT_I_JMP_IMM(BPF_JLT, 1, TRIAL_LIMIT, -12), /* 13: -> 2 */
    RT_I_EXIT(),                                /* 14 */
};

static struct rt_vm_prog *prepare(const char *name, const struct bpf_insn *insns, uint32_t n)
{
    char log[256] = "";
    struct rt_prog_src src = {.name = name, .insns = insns, .nr_insns = n};
    struct rt_vm_opts opts = {.insn_budget = 1ull << 40, .log = log, .log_size = sizeof(log)};
    struct rt_vm_prog *p = rt_vm_prepare(&src, &opts);
    if (!p)
        fprintf(stderr, "bench runtime: %s rejected: %s\n", name, log);
    return p;
}

/* Runs p repeatedly for about target_ns; returns ns per instruction (or < 0 on error). */
static double time_prog(struct rt_vm_prog *p, uint64_t expect, uint64_t target_ns)
{
    uint64_t insns = 0, t0 = bench_now_ns(), t = t0;
    do {
        uint64_t r0 = 0, n = 0;
        struct bpfmm_rt_fault fault;
        int err = rt_vm_run(p, NULL, 0, NULL, &r0, &n, &fault);
        if (err || r0 != expect) {
            fprintf(stderr, "bench runtime: run failed (err %d, r0 %llu, expected %llu): %s\n", err,
                    (unsigned long long)r0, (unsigned long long)expect,
                    err == -EFAULT ? fault.msg : "");
            return -1;
        }
        insns += n;
        t = bench_now_ns();
    } while (t - t0 < target_ns);
    return (double)(t - t0) / (double)insns;
}

/* The sieve in C, as the baseline. volatile keeps the compiler from folding it away. */
static __attribute__((noinline)) uint64_t native_sieve(void)
{
    volatile uint8_t composite[512];
    uint64_t count = 0;
    for (int rep = 0; rep < SIEVE_REPS; rep++) {
        for (int k = 0; k < 512; k++)
            composite[k] = 0;
        for (uint64_t i = 2; i < 512; i++) {
            if (composite[i])
                continue;
            count++;
            for (uint64_t j = i * i; j < 512; j += i)
                composite[j] = 1;
        }
    }
    return count;
}

static int case_sieve(const struct bench_args *args, struct bench_metrics *out)
{
    struct rt_vm_prog *p = prepare("sieve", sieve_prog, sizeof(sieve_prog) / sizeof(sieve_prog[0]));
    if (!p)
        return 1;
    uint64_t target = args->quick ? 40000000ull : 300000000ull;
    double ns = time_prog(p, (uint64_t)SIEVE_REPS * SIEVE_PRIMES, target);
    rt_vm_free(p);
    if (ns < 0)
        return 1;
    bench_metric(out, "ns_per_insn", ns);

    uint64_t runs = 0, t0 = bench_now_ns(), t = t0;
    do {
        if (native_sieve() != (uint64_t)SIEVE_REPS * SIEVE_PRIMES)
            return 1;
        runs++;
        t = bench_now_ns();
    } while (t - t0 < target / 4);
    double native = (double)(t - t0) / (double)runs;
    /* The interpreter's time for one run of the same program, for the ratio. */
    struct rt_vm_prog *q = prepare("sieve", sieve_prog, sizeof(sieve_prog) / sizeof(sieve_prog[0]));
    uint64_t r0, n = 0;
    if (!q || rt_vm_run(q, NULL, 0, NULL, &r0, &n, NULL)) {
        rt_vm_free(q);
        return 1;
    }
    rt_vm_free(q);
    bench_metric(out, "native_ns_per_sieve", native);
    bench_metric(out, "interp_vs_native", ns * (double)n / native);
    if (args->verbose)
        fprintf(stderr, "sieve: %llu instructions per run\n", (unsigned long long)n);
    return 0;
}

static int case_trial(const struct bench_args *args, struct bench_metrics *out)
{
    struct rt_vm_prog *p = prepare("trial", trial_prog, sizeof(trial_prog) / sizeof(trial_prog[0]));
    if (!p)
        return 1;
    double ns = time_prog(p, TRIAL_PRIMES, args->quick ? 30000000ull : 200000000ull);
    rt_vm_free(p);
    if (ns < 0)
        return 1;
    bench_metric(out, "ns_per_insn_alu", ns);
    return 0;
}

static bpfmm_policy_t *open_shipped(const char *name)
{
    char log[1024] = "";
    struct bpfmm_policy_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = sizeof(log)};
    bpfmm_policy_t *p = bpfmm_policy_open(name, &o);
    if (!p)
        fprintf(stderr, "bench runtime: cannot open the %s policy: %s\n", name, log);
    return p;
}

/* The per-VMA part of a ctx, set up once per VMA by a host. */
static void vma_template(struct bpfmm_thp_ctx *t)
{
    bpfmm_policy_ctx_init(t, BPFMM_THP_KHUGEPAGED);
    t->vma_start = 0x7f0000000000ull;
    t->vma_end = t->vma_start + (1ull << 30);
    t->vma_flags = BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON;
    t->tgid = t->pid = 4242;
    memcpy(t->comm, "worker", 7);
    t->range_pages = 512;
}

/* The per-range part: what a host fills for each candidate range. */
static inline void fill_range(struct bpfmm_thp_ctx *c, const struct bpfmm_thp_ctx *t, uint64_t i)
{
    *c = *t;
    c->range_start = c->address = t->vma_start + ((i & 511) << 21);
    c->nr_present = 200 + (unsigned)(i & 127); /* about half the ranges pass the limits */
    c->nr_zero = (unsigned)(i & 3);
}

/* The default policy's decision in C, as the baseline (same limits, same fields). */
static __attribute__((noinline)) uint64_t native_default(const struct bpfmm_thp_ctx *c)
{
    if (c->type != BPFMM_THP_KHUGEPAGED && c->type != BPFMM_THP_FORCED_COLLAPSE &&
        c->type != BPFMM_THP_QUERY)
        return c->orders;
    if (!c->range_pages)
        return c->orders;
    if (c->nr_guard)
        return 0;
    uint32_t mapped = c->nr_present + c->nr_swapped;
    uint32_t none = (mapped < c->range_pages ? c->range_pages - mapped : 0) + c->nr_zero;
    if (none > 255 || c->nr_swapped > 0 || c->nr_shared > 256)
        return c->orders & ~BPFMM_ORDER(c->pmd_order);
    return c->orders;
}

static int case_call_default(const struct bench_args *args, struct bench_metrics *out)
{
    bpfmm_policy_t *p = open_shipped("default");
    if (!p)
        return 1;
    struct bpfmm_thp_ctx t, c;
    vma_template(&t);
    uint64_t n = args->quick ? 200000 : 3000000, allowed = 0, allowed_native = 0;

    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        fill_range(&c, &t, i);
        allowed += (bpfmm_policy_get_orders(p, &c) >> 9) & 1;
    }
    double ns = (double)(bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        fill_range(&c, &t, i);
        allowed_native += (native_default(&c) >> 9) & 1;
    }
    double native = (double)(bench_now_ns() - t0) / (double)n;

    struct bpfmm_policy_stats st = {.sz = sizeof(st)};
    bpfmm_policy_get_stats(p, &st);
    bpfmm_policy_close(p);
    /* The policy and its C twin must agree on every range, and neither may fault. */
    if (allowed != allowed_native || st.faults || !allowed || allowed == n) {
        fprintf(stderr,
                "bench runtime: default policy and its C twin disagree (%llu vs %llu of %llu "
                "allowed, %llu faults)\n",
                (unsigned long long)allowed, (unsigned long long)allowed_native,
                (unsigned long long)n, (unsigned long long)st.faults);
        return 1;
    }
    bench_metric(out, "ns_per_call_default", ns);
    bench_metric(out, "native_ns_per_call_default", native);
    bench_metric(out, "call_default_vs_native", ns / native);
    return 0;
}

static int case_call_by_name(const struct bench_args *args, struct bench_metrics *out)
{
    bpfmm_policy_t *p = open_shipped("by-name");
    if (!p)
        return 1;
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(bpfmm_policy_obj(p), "orders_by_comm");
    struct bpfmm_thp_ctx t, c;
    vma_template(&t);
    for (unsigned k = 0; m && k < 256; k++) {
        char key[16] = {0};
        uint64_t v = (k & 1) ? BPFMM_ORDER(9) : 0;
        snprintf(key, sizeof(key), "proc-%u", k);
        if (bpfmm_rt_map_update(m, key, &v, 0))
            m = NULL;
    }
    if (!m) {
        fprintf(stderr, "bench runtime: cannot fill by-name's orders_by_comm map\n");
        bpfmm_policy_close(p);
        return 1;
    }
    uint64_t n = args->quick ? 200000 : 3000000, allowed = 0;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        fill_range(&c, &t, i);
        /* Alternate between a name with 2M allowed and one with nothing allowed. */
        memcpy(c.comm, (i & 1) ? "proc-17" : "proc-42", 8);
        allowed += (bpfmm_policy_get_orders(p, &c) >> 9) & 1;
    }
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    bpfmm_policy_close(p);
    if (allowed != n / 2) {
        fprintf(stderr, "bench runtime: by-name answered 2M %llu times, expected %llu\n",
                (unsigned long long)allowed, (unsigned long long)(n / 2));
        return 1;
    }
    bench_metric(out, "ns_per_call_by_name", ns);
    return 0;
}

static int case_load_verify(const struct bench_args *args, struct bench_metrics *out)
{
    unsigned reps = args->quick ? 5 : 31;
    double *us = calloc(reps, sizeof(*us));
    if (!us)
        return 1;
    for (unsigned r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        bpfmm_policy_t *p = open_shipped("default");
        us[r] = (double)(bench_now_ns() - t0) / 1000.0;
        if (!p) {
            free(us);
            return 1;
        }
        bpfmm_policy_close(p);
    }
    bench_metric(out, "load_verify_us", bench_median(us, reps));
    free(us);
    return 0;
}

static const struct {
    const char *what;
    int (*run)(const struct bench_args *args, struct bench_metrics *out);
} cases[] = {
    {"interpreter: sieve", case_sieve},
    {"interpreter: trial division", case_trial},
    {"THP hook: default policy", case_call_default},
    {"THP hook: by-name policy", case_call_by_name},
    {"load and verify: default policy", case_load_verify},
};

static int bench_runtime(const struct bench_args *args, struct bench_metrics *out)
{
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        if (args->verbose)
            fprintf(stderr, "bench runtime: %s\n", cases[k].what);
        int rc = cases[k].run(args, out);
        if (rc)
            return rc;
    }
    return 0;
}

static const struct bench_def runtime_bench = {
    .name = "runtime",
    .summary = "policy runtime: ns per instruction, ns per policy call, load+verify time",
    .default_runs = 5,
    .run = bench_runtime,
};
BENCH_REGISTER(runtime_bench)
