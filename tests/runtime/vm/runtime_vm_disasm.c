/* The disassembler: llvm-objdump / verifier-log syntax, jump targets as instruction indexes,
 * helper and map names, lddw consuming two instructions, invalid encodings as .insn. */
#include "vm_test.h"

static void expect(const struct bpf_insn *p, uint32_t n, uint32_t i, struct rt_map *const *maps,
                   uint32_t nr_maps, const char *text, int consumed)
{
    char buf[160];
    int got = rt_vm_disasm_insn(p, i, n, maps, nr_maps, buf, sizeof(buf));
    CHECK_MSG(!strcmp(buf, text), "insn %u: got \"%s\", expected \"%s\"", i, buf, text);
    CHECK_EQ(got, consumed);
}

int main(void)
{
    struct rt_map *m = vt_map_new("counts", 0, 8, 1, false, false);
    struct rt_map *const ms[] = {m};
    const struct bpf_insn p[] = {
        MOV64_IMM(1, -5),                                /* 0 */
        ALU32_REG(BPF_ADD, 2, 3),                        /* 1 */
        LDX(BPF_W, 0, 1, 16),                            /* 2 */
        STX(BPF_DW, 10, 1, -8),                          /* 3 */
        ST(BPF_B, 10, -1, 7),                            /* 4 */
        LD_IMM64(4, 0x100000002ull),                     /* 5, 6 */
        LD_MAP(1, 0),                                    /* 7, 8 */
        CALL(BPF_FUNC_map_lookup_elem),                  /* 9 */
        JMP_IMM(BPF_JSGT, 0, 3, 2),                      /* 10 */
        JMP32_REG(BPF_JEQ, 1, 2, -3),                    /* 11 */
        ATOMIC(BPF_DW, RT_ATOMIC_ADD, 0, 1, 8),          /* 12 */
        ATOMIC(BPF_W, RT_ATOMIC_CMPXCHG, 0, 1, 4),       /* 13 */
        RAW(BPF_ALU | BPF_END | BPF_TO_BE, 3, 0, 0, 16), /* 14 */
        RAW(BPF_ALU64 | BPF_MOV | BPF_X, 3, 4, 8, 0),    /* 15 */
        LDXSX(BPF_H, 3, 10, -2),                         /* 16 */
        CALL_LOCAL(2),                                   /* 17 */
        GOTOL(-10),                                      /* 18 */
        CALLX(5),                                        /* 19 */
        RAW(0xff, 0, 0, 0, 0),                           /* 20 */
        LD_MAP_VAL(2, 0, 4),                             /* 21, 22 */
        EXIT(),                                          /* 23 */
    };
    uint32_t n = NINSN(p);
    expect(p, n, 0, ms, 1, "r1 = -5", 1);
    expect(p, n, 1, ms, 1, "w2 += w3", 1);
    expect(p, n, 2, ms, 1, "r0 = *(u32 *)(r1 + 16)", 1);
    expect(p, n, 3, ms, 1, "*(u64 *)(r10 - 8) = r1", 1);
    expect(p, n, 4, ms, 1, "*(u8 *)(r10 - 1) = 7", 1);
    expect(p, n, 5, ms, 1, "r4 = 0x100000002 ll", 2);
    expect(p, n, 7, ms, 1, "r1 = map[counts] ll", 2);
    expect(p, n, 9, ms, 1, "call bpf_map_lookup_elem#1", 1);
    expect(p, n, 10, ms, 1, "if r0 s> 3 goto +2 <insn 13>", 1);
    expect(p, n, 11, ms, 1, "if w1 == w2 goto -3 <insn 9>", 1);
    expect(p, n, 12, ms, 1, "lock *(u64 *)(r0 + 8) += r1", 1);
    expect(p, n, 13, ms, 1, "w0 = cmpxchg_32(r0 + 4, w0, w1)", 1);
    expect(p, n, 14, ms, 1, "r3 = be16 r3", 1);
    expect(p, n, 15, ms, 1, "r3 = (s8)r4", 1);
    expect(p, n, 16, ms, 1, "r3 = *(s16 *)(r10 - 2)", 1);
    expect(p, n, 17, ms, 1, "call pc+2 <insn 20>", 1);
    expect(p, n, 18, ms, 1, "gotol -10 <insn 9>", 1);
    expect(p, n, 19, ms, 1, "callx r5", 1);
    expect(p, n, 20, ms, 1, ".insn 0xff dst=0 src=0 off=0 imm=0 (invalid)", 1);
    expect(p, n, 21, ms, 1, "r2 = map_value[counts] + 4 ll", 2);
    expect(p, n, 21, NULL, 0, "r2 = map_value[#0] + 4 ll", 2);
    expect(p, n, 23, ms, 1, "exit", 1);
    /* lddw cut short at the end */
    expect(p, 6, 5, ms, 1, ".insn 0x18 dst=4 src=0 off=0 imm=2 (invalid)", 1);
    vt_map_free(m);
    printf("disasm: ok\n");
    return 0;
}
