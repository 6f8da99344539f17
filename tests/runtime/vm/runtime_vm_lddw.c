/* lddw: 64-bit immediates (src 0) including values that need both halves, map references
 * (src 5, and src 1 read as an index) passed to helpers, and global data (src 6, and src 2)
 * with an offset. */
#include "vm_test.h"

int main(void)
{
    RUN(0x0123456789abcdefull, LD_IMM64(0, 0x0123456789abcdefull), EXIT());
    RUN(0x80000000ull, LD_IMM64(0, 0x80000000ull), EXIT());
    RUN(0xffffffff00000000ull, LD_IMM64(0, 0xffffffff00000000ull), EXIT());
    RUN(0, LD_IMM64(0, 0), EXIT());
    /* an lddw jumped over (the verifier knows the branch is always taken) */
    RUN(2, MOV64_IMM(0, 2), JMP_IMM(BPF_JEQ, 0, 2, 2), LD_IMM64(0, 5), EXIT());

    struct rt_map *arr = vt_map_new("arr", 0, 8, 2, false, false);
    struct rt_map *ro = vt_map_new(".rodata", 1, 16, 1, true, true);
    struct rt_map *const ms[] = {arr, ro};
    struct vt_env env = {.maps = ms, .nr_maps = 2};
    *(uint64_t *)vt_map_value(arr, 1) = 77;
    memcpy((uint8_t *)ro->global_data + 8, "\x2a\0\0\0\0\0\0\0", 8);
    RUN_ENV(&env, 77, ST(BPF_W, 10, -4, 1), LD_MAP(1, 0), MOV64_REG(2, 10),
            ALU64_IMM(BPF_ADD, 2, -4), CALL(BPF_FUNC_map_lookup_elem), JMP_IMM(BPF_JEQ, 0, 0, 1),
            LDX(BPF_DW, 0, 0, 0), EXIT());
    /* src 1 (map by fd) is read as an index too */
    RUN_ENV(&env, 77, ST(BPF_W, 10, -4, 1), RAW(BPF_LD | BPF_DW | BPF_IMM, 1, 1, 0, 0),
            RAW(0, 0, 0, 0, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
            CALL(BPF_FUNC_map_lookup_elem), JMP_IMM(BPF_JEQ, 0, 0, 1), LDX(BPF_DW, 0, 0, 0),
            EXIT());
    RUN_ENV(&env, 42, LD_MAP_VAL(1, 1, 8), LDX(BPF_DW, 0, 1, 0), EXIT());
    RUN_ENV(&env, 42, RAW(BPF_LD | BPF_DW | BPF_IMM, 1, 2, 0, 1), RAW(0, 0, 0, 0, 8),
            LDX(BPF_DW, 0, 1, 0), EXIT());
    /* an lddw pointer plus a variable bounded offset stays inside the value */
    RUN_ENV(&env, 42, LD_MAP_VAL(1, 1, 0), MOV64_IMM(2, 1), ALU64_IMM(BPF_LSH, 2, 3),
            ALU64_REG(BPF_ADD, 1, 2), LDX(BPF_DW, 0, 1, 0), EXIT());
    vt_map_free(arr);
    vt_map_free(ro);
    printf("lddw: ok\n");
    return 0;
}
