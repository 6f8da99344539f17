/* Built-in helpers: bpf_trace_printk's own formatter (every supported conversion, %s from the
 * stack and from global data, and the refusals: too many conversions, unknown conversions, a %s
 * pointer into no region the run owns), bpf_get_current_pid_tgid and bpf_get_current_comm from
 * the run environment (also with a variable size: bytes past the smallest size are not known to
 * be written, so reading them sees 0, never stale host stack), and the map helpers' return
 * codes. */
#include "vm_test.h"

struct trace_log {
    char prog[64];
    char msg[256];
    int calls;
};

static void trace(void *host, const char *prog, const char *msg)
{
    struct trace_log *t = host;
    snprintf(t->prog, sizeof(t->prog), "%s", prog);
    snprintf(t->msg, sizeof(t->msg), "%s", msg);
    t->calls++;
}

/* Builds: fmt on the stack at fp-64, r1 = fmt, r2 = its size, r3..r5 = args, call 6, exit. */
static int printk(const char *fmt, uint64_t a, uint64_t b, uint64_t c, struct trace_log *log,
                  uint64_t *r0, struct bpfmm_rt_fault *f, struct rt_map *const *maps,
                  uint32_t nr_maps)
{
    struct bpf_insn p[64];
    uint32_t n = 0;
    char buf[64] = {0};
    size_t len = strlen(fmt) + 1;
    CHECK(len <= 48);
    memcpy(buf, fmt, len);
    for (int off = 0; off < 48; off += 8) {
        uint64_t chunk;
        memcpy(&chunk, buf + off, 8);
        const struct bpf_insn st[] = {LD_IMM64(1, chunk), STX(BPF_DW, 10, 1, -64 + off)};
        memcpy(&p[n], st, sizeof(st));
        n += 3;
    }
    /* a second string, "hello", at fp-8 for %s */
    const struct bpf_insn tail[] = {
        LD_IMM64(1, 0x6f6c6c6568ull),
        STX(BPF_DW, 10, 1, -8),
        MOV64_REG(1, 10),
        ALU64_IMM(BPF_ADD, 1, -64),
        MOV64_IMM(2, (int32_t)len),
        LD_IMM64(3, a),
        LD_IMM64(4, b),
        LD_IMM64(5, c),
        CALL(BPF_FUNC_trace_printk),
        EXIT(),
    };
    memcpy(&p[n], tail, sizeof(tail));
    n += NINSN(tail);
    struct vt_env env = {.trace = trace, .host = log, .maps = maps, .nr_maps = nr_maps};
    memset(log, 0, sizeof(*log));
    return vt_exec(p, n, &env, NULL, 0, r0, f, __LINE__);
}

#define PRINTK_OK(expect, fmt, a, b, c)                                                            \
    do {                                                                                           \
        struct trace_log log_;                                                                     \
        uint64_t r0_;                                                                              \
        struct bpfmm_rt_fault f_;                                                                  \
        int err_ = printk(fmt, a, b, c, &log_, &r0_, &f_, NULL, 0);                                \
        CHECK_MSG(err_ == 0, "%s: fault %s", fmt, f_.msg);                                         \
        CHECK_EQ(log_.calls, 1);                                                                   \
        CHECK_MSG(!strcmp(log_.msg, expect), "%s: got \"%s\", expected \"%s\"", fmt, log_.msg,     \
                  expect);                                                                         \
        CHECK(!strcmp(log_.prog, "test"));                                                         \
        CHECK_EQ(r0_, strlen(expect));                                                             \
    } while (0)

#define PRINTK_FAULT(why, fmt, a, b, c)                                                            \
    do {                                                                                           \
        struct trace_log log_;                                                                     \
        uint64_t r0_;                                                                              \
        struct bpfmm_rt_fault f_;                                                                  \
        int err_ = printk(fmt, a, b, c, &log_, &r0_, &f_, NULL, 0);                                \
        CHECK_EQ(err_, -EFAULT);                                                                   \
        CHECK_EQ(f_.kind, BPFMM_RT_FAULT_HELPER);                                                  \
        CHECK_STR_CONTAINS(f_.msg, why);                                                           \
        CHECK_EQ(log_.calls, 0);                                                                   \
    } while (0)

/* Fills the C stack below the caller with a marker, so stale bytes would be seen. */
__attribute__((noinline)) static void paint_stack(void)
{
    volatile uint8_t area[32768];
    for (size_t i = 0; i < sizeof(area); i++)
        area[i] = 0xa5;
}

/* get_current_comm(fp-16, size) with size in [1, 16] from the ctx, then a read of fp-8: with
 * size 1 the helper writes one byte, so fp-8 holds nothing this run wrote. */
static void comm_variable_size(void)
{
    const struct bpf_insn p[] = {
        LDX(BPF_DW, 6, 1, 0),
        ALU64_IMM(BPF_AND, 6, 15),
        ALU64_IMM(BPF_ADD, 6, 1),
        MOV64_REG(1, 10),
        ALU64_IMM(BPF_ADD, 1, -16),
        MOV64_REG(2, 6),
        CALL(BPF_FUNC_get_current_comm),
        LDX(BPF_DW, 0, 10, -8),
        EXIT(),
    };
    struct vt_env env = {.ctx = &vt_ctx};
    char log[256];
    struct rt_vm_prog *prog = vt_prepare_env(p, NINSN(p), &env, log, sizeof(log));
    CHECK_MSG(prog, "%s", log);
    CHECK_MSG(prog->zero_stack, "fp-8 is only maybe written: the stack must be zeroed per run");
    uint64_t ctx[8] = {0}, r0 = 1;
    struct bpfmm_rt_run_env re = {.sz = sizeof(re), .comm = "abcdefghijklmno"};
    paint_stack();
    CHECK_EQ(rt_vm_run(prog, ctx, sizeof(ctx), &re, &r0, NULL, NULL), 0);
    CHECK_U64_EQ(r0, 0);
    ctx[0] = 15; /* size 16: the whole comm, its NUL included, fills fp-16..fp-1 */
    CHECK_EQ(rt_vm_run(prog, ctx, sizeof(ctx), &re, &r0, NULL, NULL), 0);
    CHECK_U64_EQ(r0, 0x006f6e6d6c6b6a69ull); /* "ijklmno\0" */
    rt_vm_free(prog);
}

int main(void)
{
    PRINTK_OK("a=-5 b=4294967295 c=ff", "a=%d b=%u c=%x", (uint64_t)-5, 0xffffffffull, 255);
    PRINTK_OK("-5 18446744073709551615 abc", "%ld %lu %llx", (uint64_t)-5, -1ull, 0xabc);
    PRINTK_OK("-9223372036854775808 1 100%", "%lld %llu 100%%", 0x8000000000000000ull, 1, 0);
    PRINTK_OK("i=-1 x=7fffffffffffffff", "i=%i x=%lx", 0xffffffffull, 0x7fffffffffffffffull, 0);
    PRINTK_OK("0x1234", "%p", 0x1234, 0, 0);
    PRINTK_OK("no conversions", "no conversions", 0, 0, 0);
    PRINTK_FAULT("more than 3 conversions", "%d %d %d %d", 1, 2, 3);
    PRINTK_FAULT("unsupported conversion", "%q", 1, 2, 3);
    PRINTK_FAULT("unsupported conversion", "%f", 1, 2, 3);
    PRINTK_FAULT("%s argument does not point", "%s", 8, 0, 0);

    /* %s: the program's stack (fp-8 holds "hello") ... */
    struct bpf_insn p[40];
    uint32_t n = 0;
    struct trace_log log;
    const struct bpf_insn s1[] = {
        LD_IMM64(1, 0x0a7325ull), /* "%s\n" */
        STX(BPF_DW, 10, 1, -16),
        LD_IMM64(1, 0x6f6c6c6568ull),
        STX(BPF_DW, 10, 1, -8),
        MOV64_REG(1, 10),
        ALU64_IMM(BPF_ADD, 1, -16),
        MOV64_IMM(2, 4),
        MOV64_REG(3, 10),
        ALU64_IMM(BPF_ADD, 3, -8),
        CALL(BPF_FUNC_trace_printk),
        EXIT(),
    };
    memcpy(p, s1, sizeof(s1));
    n = NINSN(s1);
    struct vt_env env = {.trace = trace, .host = &log};
    uint64_t r0;
    memset(&log, 0, sizeof(log));
    CHECK_EQ(vt_exec(p, n, &env, NULL, 0, &r0, NULL, __LINE__), 0);
    CHECK_MSG(!strcmp(log.msg, "hello\n"), "got \"%s\"", log.msg);

    /* ... and global data (a string literal in .rodata) */
    struct rt_map *ro = vt_map_new(".rodata.str1.1", 0, 16, 1, true, true);
    memcpy(ro->global_data, "%s|\0policy", 11);
    struct rt_map *const ms[] = {ro};
    struct vt_env genv = {.trace = trace, .host = &log, .maps = ms, .nr_maps = 1};
    const struct bpf_insn s2[] = {
        LD_MAP_VAL(1, 0, 0),         MOV64_IMM(2, 4), LD_MAP_VAL(3, 0, 4),
        CALL(BPF_FUNC_trace_printk), EXIT(),
    };
    memset(&log, 0, sizeof(log));
    CHECK_EQ(vt_exec(s2, NINSN(s2), &genv, NULL, 0, &r0, NULL, __LINE__), 0);
    CHECK_MSG(!strcmp(log.msg, "policy|"), "got \"%s\"", log.msg);
    vt_map_free(ro);

    /* pid_tgid and comm come from the run environment */
    const struct bpf_insn pc[] = {
        CALL(BPF_FUNC_get_current_pid_tgid),
        MOV64_REG(6, 0),
        MOV64_REG(1, 10),
        ALU64_IMM(BPF_ADD, 1, -16),
        MOV64_IMM(2, 16),
        CALL(BPF_FUNC_get_current_comm),
        LDX(BPF_DW, 0, 10, -16),
        ALU64_REG(BPF_XOR, 0, 6),
        EXIT(),
    };
    char log2[256];
    struct rt_vm_prog *prog = vt_prepare_env(pc, NINSN(pc), NULL, log2, sizeof(log2));
    CHECK_MSG(prog, "%s", log2);
    struct bpfmm_rt_run_env re = {.sz = sizeof(re), .pid_tgid = 0x100000002ull, .comm = "bash"};
    CHECK_EQ(rt_vm_run(prog, NULL, 0, &re, &r0, NULL, NULL), 0);
    CHECK_U64_EQ(r0, 0x68736162ull ^ 0x100000002ull); /* "bash" little-endian */
    CHECK_EQ(rt_vm_run(prog, NULL, 0, NULL, &r0, NULL, NULL), 0);
    CHECK_U64_EQ(r0, 0); /* no environment: pid 0, comm zeroed */
    rt_vm_free(prog);
    comm_variable_size();

    /* map helpers' results: update ok, update out of range -E2BIG, delete -EINVAL (test map) */
    struct rt_map *arr = vt_map_new("arr", 0, 8, 2, false, false);
    struct rt_map *const am[] = {arr};
    struct vt_env menv = {.maps = am, .nr_maps = 1};
    RUN_ENV(&menv, 0, ST(BPF_W, 10, -4, 1), ST(BPF_DW, 10, -16, 99), LD_MAP(1, 0), MOV64_REG(2, 10),
            ALU64_IMM(BPF_ADD, 2, -4), MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -16),
            MOV64_IMM(4, 0), CALL(BPF_FUNC_map_update_elem), EXIT());
    CHECK_EQ(*(uint64_t *)vt_map_value(arr, 1), 99);
    RUN_ENV(&menv, (uint64_t)-E2BIG, ST(BPF_W, 10, -4, 5), ST(BPF_DW, 10, -16, 1), LD_MAP(1, 0),
            MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4), MOV64_REG(3, 10),
            ALU64_IMM(BPF_ADD, 3, -16), MOV64_IMM(4, 0), CALL(BPF_FUNC_map_update_elem), EXIT());
    RUN_ENV(&menv, (uint64_t)-EINVAL, ST(BPF_W, 10, -4, 1), LD_MAP(1, 0), MOV64_REG(2, 10),
            ALU64_IMM(BPF_ADD, 2, -4), CALL(BPF_FUNC_map_delete_elem), EXIT());
    vt_map_free(arr);
    printf("helpers: ok\n");
    return 0;
}
