/* LD/LDX/ST/STX: every size on the stack, little-endian composition, sign-extended 8-byte
 * immediates, unaligned accesses, spilling and reloading pointers, a described ctx (constant and
 * variable offsets, writable ctx), compat memory (r1 = memory, r2 = its length), map values after
 * a NULL check, and global data. */
#include "vm_test.h"

static void stack(void)
{
    /* store 8 bytes, read back each size */
    RUN(0x0123456789abcdefull, LD_IMM64(1, 0x0123456789abcdefull), STX(BPF_DW, 10, 1, -8),
        LDX(BPF_DW, 0, 10, -8), EXIT());
    RUN(0x89abcdef, LD_IMM64(1, 0x0123456789abcdefull), STX(BPF_DW, 10, 1, -8),
        LDX(BPF_W, 0, 10, -8), EXIT());
    RUN(0xcdef, LD_IMM64(1, 0x0123456789abcdefull), STX(BPF_DW, 10, 1, -8), LDX(BPF_H, 0, 10, -8),
        EXIT());
    RUN(0x01, LD_IMM64(1, 0x0123456789abcdefull), STX(BPF_DW, 10, 1, -8), LDX(BPF_B, 0, 10, -1),
        EXIT());
    /* byte stores compose little-endian */
    RUN(0x0201, ST(BPF_B, 10, -2, 1), ST(BPF_B, 10, -1, 2), LDX(BPF_H, 0, 10, -2), EXIT());
    RUN(0xbeef, ST(BPF_H, 10, -2, 0xbeef), LDX(BPF_H, 0, 10, -2), EXIT());
    RUN(0xdeadbeef, ST(BPF_W, 10, -4, 0xdeadbeef), LDX(BPF_W, 0, 10, -4), EXIT());
    /* an 8-byte immediate store sign-extends */
    RUN(-2ull, ST(BPF_DW, 10, -8, -2), LDX(BPF_DW, 0, 10, -8), EXIT());
    /* unaligned: 4 bytes at fp-13 */
    RUN(0x11223344, ST(BPF_DW, 10, -16, 0), ST(BPF_DW, 10, -8, 0), ST(BPF_W, 10, -13, 0x11223344),
        LDX(BPF_W, 0, 10, -13), EXIT());
    /* the whole 512-byte frame */
    RUN(7, ST(BPF_DW, 10, -512, 7), LDX(BPF_DW, 0, 10, -512), EXIT());
    /* a pointer spilled and reloaded stays a pointer */
    RUN(42, MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -16), ST(BPF_DW, 10, -16, 42),
        STX(BPF_DW, 10, 1, -8), MOV64_IMM(1, 0), LDX(BPF_DW, 2, 10, -8), LDX(BPF_DW, 0, 2, 0),
        EXIT());
    /* variable offset within the frame (bounded, proven) */
    RUN(0xcd, ST(BPF_DW, 10, -16, 0xab), ST(BPF_DW, 10, -8, 0xcd), MOV64_IMM(1, 51),
        ALU64_IMM(BPF_AND, 1, 1), ALU64_IMM(BPF_LSH, 1, 3), MOV64_REG(2, 10),
        ALU64_REG(BPF_ADD, 2, 1), LDX(BPF_DW, 0, 2, -16), EXIT());
}

static void ctx(void)
{
    uint8_t c[64];
    for (int k = 0; k < 64; k++)
        c[k] = (uint8_t)k;
    struct vt_env env = {.ctx = &vt_ctx};
    uint64_t r0;
    const struct bpf_insn rd[] = {LDX(BPF_DW, 0, 1, 8), EXIT()};
    CHECK_EQ(vt_exec(rd, NINSN(rd), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, 0x0f0e0d0c0b0a0908ull);
    const struct bpf_insn unal[] = {LDX(BPF_W, 0, 1, 57), EXIT()};
    CHECK_EQ(vt_exec(unal, NINSN(unal), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, 0x3c3b3a39);
    /* variable offset from the ctx itself: checked at run time */
    const struct bpf_insn var[] = {LDX(BPF_B, 2, 1, 5), MOV64_REG(3, 1), ALU64_REG(BPF_ADD, 3, 2),
                                   LDX(BPF_B, 0, 3, 0), EXIT()};
    CHECK_EQ(vt_exec(var, NINSN(var), &env, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 5);
    /* a writable ctx */
    struct vt_env rw = {.ctx = &vt_ctx_rw};
    const struct bpf_insn wr[] = {ST(BPF_W, 1, 4, 0x55667788), MOV64_IMM(0, 0), EXIT()};
    CHECK_EQ(vt_exec(wr, NINSN(wr), &rw, c, sizeof(c), &r0, NULL, __LINE__), 0);
    CHECK_EQ(c[4], 0x88);
    CHECK_EQ(c[7], 0x55);
    /* a ctx smaller than described is refused */
    CHECK_EQ(vt_exec(rd, NINSN(rd), &env, c, 32, &r0, NULL, __LINE__), -EINVAL);
}

static void compat(void)
{
    uint8_t mem[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    uint64_t r0;
    const struct bpf_insn len[] = {MOV64_REG(0, 2), EXIT()};
    CHECK_EQ(vt_exec(len, NINSN(len), &env, mem, 10, &r0, NULL, __LINE__), 0);
    CHECK_EQ(r0, 10);
    const struct bpf_insn rw[] = {ST(BPF_B, 1, 9, 0x77), LDX(BPF_DW, 0, 1, 2), EXIT()};
    CHECK_EQ(vt_exec(rw, NINSN(rw), &env, mem, 10, &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, 0x7709080706050403ull);
}

static void maps(void)
{
    struct rt_map *arr = vt_map_new("arr", 0, 16, 4, false, false);
    struct rt_map *data = vt_map_new(".data", 1, 24, 1, true, false);
    struct rt_map *const ms[] = {arr, data};
    struct vt_env env = {.maps = ms, .nr_maps = 2};
    *(uint64_t *)vt_map_value(arr, 2) = 40;
    /* lookup key 2, NULL check, read and write the value */
    RUN_ENV(&env, 41, ST(BPF_W, 10, -4, 2), LD_MAP(1, 0), MOV64_REG(2, 10),
            ALU64_IMM(BPF_ADD, 2, -4), CALL(BPF_FUNC_map_lookup_elem), JMP_IMM(BPF_JEQ, 0, 0, 4),
            LDX(BPF_DW, 1, 0, 0), ALU64_IMM(BPF_ADD, 1, 1), STX(BPF_DW, 0, 1, 8), MOV64_REG(0, 1),
            EXIT());
    CHECK_EQ(*(uint64_t *)((uint8_t *)vt_map_value(arr, 2) + 8), 41);
    /* a missing key: NULL path */
    RUN_ENV(&env, 0, ST(BPF_W, 10, -4, 9), LD_MAP(1, 0), MOV64_REG(2, 10),
            ALU64_IMM(BPF_ADD, 2, -4), CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(1, 0),
            JMP_IMM(BPF_JNE, 0, 0, 1), EXIT(), MOV64_IMM(0, 1), EXIT());
    /* global data: lddw src 6 with an offset, read-modify-write */
    *(uint64_t *)((uint8_t *)data->global_data + 16) = 100;
    RUN_ENV(&env, 105, LD_MAP_VAL(1, 1, 16), LDX(BPF_DW, 0, 1, 0), ALU64_IMM(BPF_ADD, 0, 5),
            STX(BPF_DW, 1, 0, 0), EXIT());
    CHECK_EQ(*(uint64_t *)((uint8_t *)data->global_data + 16), 105);
    vt_map_free(arr);
    vt_map_free(data);
}

int main(void)
{
    stack();
    ctx();
    compat();
    maps();
    printf("mem: ok\n");
    return 0;
}
