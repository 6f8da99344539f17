/*
 * Shared helpers for the VM tests: instruction arrays written with rt_insn.h's RT_I_* builders
 * (short aliases below), running a program and checking r0, asserting a rejection's exact
 * message, and a test double of struct rt_map (an array map and global data) so map-related
 * rules can be tested without the loader. Owns no test logic.
 */
#ifndef BPFMM_VM_TEST_H
#define BPFMM_VM_TEST_H

#include "test.h"

#include "runtime/rt_insn.h"
#include "runtime/rt_interp.h"
#include "runtime/rt_map.h"
#include "runtime/rt_vm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NINSN(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* Short names for the builders. */
#define MOV64_IMM  RT_I_MOV64_IMM
#define MOV64_REG  RT_I_MOV64_REG
#define MOV32_IMM  RT_I_MOV32_IMM
#define MOV32_REG  RT_I_MOV32_REG
#define ALU64_IMM  RT_I_ALU64_IMM
#define ALU64_REG  RT_I_ALU64_REG
#define ALU32_IMM  RT_I_ALU32_IMM
#define ALU32_REG  RT_I_ALU32_REG
#define LD_IMM64   RT_I_LD_IMM64
#define LD_MAP     RT_I_LD_MAP
#define LD_MAP_VAL RT_I_LD_MAP_VALUE
#define LDX        RT_I_LDX
#define LDXSX      RT_I_LDXSX
#define ST         RT_I_ST
#define STX        RT_I_STX
#define ATOMIC     RT_I_ATOMIC
#define JA         RT_I_JA
#define GOTOL      RT_I_GOTOL
#define JMP_IMM    RT_I_JMP_IMM
#define JMP_REG    RT_I_JMP_REG
#define JMP32_IMM  RT_I_JMP32_IMM
#define JMP32_REG  RT_I_JMP32_REG
#define CALL       RT_I_CALL
#define CALL_LOCAL RT_I_CALL_LOCAL
#define CALLX      RT_I_CALLX
#define EXIT       RT_I_EXIT
#define RAW        RT_I

/* What a test passes to the VM besides the instructions. */
struct vt_env {
    const struct bpfmm_rt_ctx_desc *ctx;
    struct rt_map *const *maps;
    uint32_t nr_maps;
    const struct bpfmm_rt_helper *helpers;
    unsigned nr_helpers;
    uint64_t budget;
    unsigned flags;
    void (*trace)(void *host, const char *prog, const char *msg);
    void *host;
};

static inline struct rt_vm_prog *vt_prepare_env(const struct bpf_insn *insns, uint32_t n,
                                                const struct vt_env *env, char *log,
                                                size_t log_size)
{
    static const struct vt_env none;
    if (!env)
        env = &none;
    struct rt_prog_src src = {
        .name = "test", .insns = insns, .nr_insns = n, .maps = env->maps, .nr_maps = env->nr_maps};
    struct rt_vm_opts opts = {.ctx = env->ctx,
                              .insn_budget = env->budget,
                              .host_helpers = env->helpers,
                              .nr_host_helpers = env->nr_helpers,
                              .host = env->host,
                              .trace = env->trace,
                              .flags = env->flags,
                              .log = log,
                              .log_size = log_size};
    return rt_vm_prepare(&src, &opts);
}

/* Prepares (must succeed) and runs once with ctx; returns the rt_vm_run result. */
static inline int vt_exec(const struct bpf_insn *insns, uint32_t n, const struct vt_env *env,
                          void *ctx, size_t ctx_size, uint64_t *r0, struct bpfmm_rt_fault *fault,
                          int line)
{
    char log[512] = "";
    struct rt_vm_prog *p = vt_prepare_env(insns, n, env, log, sizeof(log));
    if (!p)
        test_fail_at(__FILE__, line, "rejected: %s", log);
    uint64_t executed = 0;
    int err = rt_vm_run(p, ctx, ctx_size, NULL, r0, &executed, fault);
    rt_vm_free(p);
    return err;
}

/* Runs with no ctx and returns r0; any rejection or fault fails the test. */
static inline uint64_t vt_run(const struct bpf_insn *insns, uint32_t n, const struct vt_env *env,
                              int line)
{
    uint64_t r0 = 0;
    struct bpfmm_rt_fault fault = {0};
    int err = vt_exec(insns, n, env, NULL, 0, &r0, &fault, line);
    if (err)
        test_fail_at(__FILE__, line, "run failed (%d): insn %u: %s", err, fault.insn, fault.msg);
    return r0;
}

/* Expects rejection with exactly `msg` ("insn N: reason") and errno `code`. */
static inline void vt_reject(const struct bpf_insn *insns, uint32_t n, const struct vt_env *env,
                             int code, const char *msg, int line)
{
    char log[512] = "";
    errno = 0;
    struct rt_vm_prog *p = vt_prepare_env(insns, n, env, log, sizeof(log));
    if (p) {
        rt_vm_free(p);
        test_fail_at(__FILE__, line, "accepted, expected: %s", msg);
    }
    if (errno != code)
        test_fail_at(__FILE__, line, "errno %d (%s), expected %d; log: %s", errno, strerror(errno),
                     code, log);
    if (strcmp(log, msg))
        test_fail_at(__FILE__, line, "message\n  got:      %s\n  expected: %s", log, msg);
    printf("rejected as expected: %s\n", log);
}

#define RUN(expected, ...)                                                                         \
    do {                                                                                           \
        const struct bpf_insn prog_[] = {__VA_ARGS__};                                             \
        uint64_t got_ = vt_run(prog_, NINSN(prog_), NULL, __LINE__);                               \
        if (got_ != (uint64_t)(expected))                                                          \
            TEST_FAIL("r0 = 0x%llx, expected 0x%llx", (unsigned long long)got_,                    \
                      (unsigned long long)(uint64_t)(expected));                                   \
    } while (0)

#define RUN_ENV(env, expected, ...)                                                                \
    do {                                                                                           \
        const struct bpf_insn prog_[] = {__VA_ARGS__};                                             \
        uint64_t got_ = vt_run(prog_, NINSN(prog_), env, __LINE__);                                \
        if (got_ != (uint64_t)(expected))                                                          \
            TEST_FAIL("r0 = 0x%llx, expected 0x%llx", (unsigned long long)got_,                    \
                      (unsigned long long)(uint64_t)(expected));                                   \
    } while (0)

#define REJECT(msg, ...)                                                                           \
    do {                                                                                           \
        const struct bpf_insn prog_[] = {__VA_ARGS__};                                             \
        vt_reject(prog_, NINSN(prog_), NULL, EINVAL, msg, __LINE__);                               \
    } while (0)

#define REJECT_ENV(env, msg, ...)                                                                  \
    do {                                                                                           \
        const struct bpf_insn prog_[] = {__VA_ARGS__};                                             \
        vt_reject(prog_, NINSN(prog_), env, EINVAL, msg, __LINE__);                                \
    } while (0)

/* --- test double of the internal map interface ------------------------------------------- */

struct vt_map {
    struct rt_map m;
    uint8_t *vals;
    uint32_t stride;
};

static inline void *vt_map_lookup(struct rt_map *m, const void *key)
{
    struct vt_map *t = (struct vt_map *)m;
    uint32_t k;
    memcpy(&k, key, sizeof(k));
    return k < m->max_entries ? t->vals + (size_t)k * t->stride : NULL;
}

static inline int vt_map_update(struct rt_map *m, const void *key, const void *value,
                                uint64_t flags)
{
    void *v = vt_map_lookup(m, key);
    if (!v)
        return -E2BIG;
    memcpy(v, value, m->value_size);
    return 0;
}

static inline int vt_map_delete(struct rt_map *m, const void *key)
{
    return -EINVAL;
}

static inline bool vt_map_contains(const struct rt_map *m, uintptr_t addr, size_t len)
{
    const struct vt_map *t = (const struct vt_map *)m;
    uintptr_t base = (uintptr_t)t->vals;
    if (addr < base || addr >= base + (size_t)t->stride * m->max_entries)
        return false;
    return (addr - base) % t->stride + len <= m->value_size;
}

static const struct rt_map_ops vt_map_ops = {
    .lookup = vt_map_lookup,
    .update = vt_map_update,
    .delete = vt_map_delete,
    .contains = vt_map_contains,
};

/* An array map (4-byte keys) with values 8-byte aligned; global data if `global`. */
static inline struct rt_map *vt_map_new(const char *name, uint32_t index, uint32_t value_size,
                                        uint32_t max_entries, bool global, bool readonly)
{
    struct vt_map *t = calloc(1, sizeof(*t));
    CHECK(t);
    snprintf(t->m.name, sizeof(t->m.name), "%s", name);
    t->m.type = BPFMM_RT_MAP_ARRAY;
    t->m.key_size = 4;
    t->m.value_size = value_size;
    t->m.max_entries = max_entries;
    t->m.index = index;
    t->m.global = global;
    t->m.prog_readonly = readonly;
    t->m.ops = &vt_map_ops;
    t->stride = (value_size + 7) & ~7u;
    t->vals = aligned_alloc(8, (size_t)t->stride * max_entries + 8);
    CHECK(t->vals);
    memset(t->vals, 0, (size_t)t->stride * max_entries + 8);
    if (global)
        t->m.global_data = t->vals;
    return &t->m;
}

static inline void *vt_map_value(struct rt_map *m, uint32_t k)
{
    return ((struct vt_map *)m)->vals + (size_t)k * ((struct vt_map *)m)->stride;
}

static inline void vt_map_free(struct rt_map *m)
{
    if (!m)
        return;
    free(((struct vt_map *)m)->vals);
    free(m);
}

/* A described ctx for tests: 64 bytes, fields a (0..8), b (8..16), tail (60..64). */
static const struct bpfmm_rt_ctx_field vt_ctx_fields[] = {
    {"a", 0, 8},
    {"b", 8, 8},
    {"tail", 60, 4},
    {"beyond", 64, 8}, /* a field newer than this host's ctx */
};
static const struct bpfmm_rt_ctx_desc vt_ctx = {
    .name = "struct test_ctx", .size = 64, .fields = vt_ctx_fields, .nr_fields = 4};
static const struct bpfmm_rt_ctx_desc vt_ctx_rw = {.name = "struct test_ctx",
                                                   .size = 64,
                                                   .writable = true,
                                                   .fields = vt_ctx_fields,
                                                   .nr_fields = 4};

#endif
