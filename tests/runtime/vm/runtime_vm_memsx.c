/* MEMSX (cpu v4): sign-extending loads of 1, 2 and 4 bytes, from the stack (proven) and from
 * compat memory (checked at run time); positive values are unchanged. */
#include "vm_test.h"

int main(void)
{
    RUN(-128ull, ST(BPF_B, 10, -1, 0x80), LDXSX(BPF_B, 0, 10, -1), EXIT());
    RUN(0x7f, ST(BPF_B, 10, -1, 0x7f), LDXSX(BPF_B, 0, 10, -1), EXIT());
    RUN(-32768ull, ST(BPF_H, 10, -2, 0x8000), LDXSX(BPF_H, 0, 10, -2), EXIT());
    RUN(0x7fff, ST(BPF_H, 10, -2, 0x7fff), LDXSX(BPF_H, 0, 10, -2), EXIT());
    RUN(0xffffffff80000000ull, ST(BPF_W, 10, -4, 0x80000000), LDXSX(BPF_W, 0, 10, -4), EXIT());
    RUN(0x12345678, ST(BPF_W, 10, -4, 0x12345678), LDXSX(BPF_W, 0, 10, -4), EXIT());
    /* the loaded range is signed: a negative result compares as negative */
    RUN(1, ST(BPF_B, 10, -1, 0xff), LDXSX(BPF_B, 1, 10, -1), MOV64_IMM(0, 0),
        JMP_IMM(BPF_JSGE, 1, 0, 1), MOV64_IMM(0, 1), EXIT());

    uint8_t mem[8] = {0xfe, 0xff, 0x00, 0x80, 0, 0, 0, 0};
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    uint64_t r0;
    const struct bpf_insn b[] = {LDXSX(BPF_B, 0, 1, 0), EXIT()};
    CHECK_EQ(vt_exec(b, NINSN(b), &env, mem, 8, &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, -2ull);
    const struct bpf_insn h[] = {LDXSX(BPF_H, 0, 1, 2), EXIT()};
    CHECK_EQ(vt_exec(h, NINSN(h), &env, mem, 8, &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, 0xffffffffffff8000ull);
    const struct bpf_insn w[] = {LDXSX(BPF_W, 0, 1, 0), EXIT()};
    CHECK_EQ(vt_exec(w, NINSN(w), &env, mem, 8, &r0, NULL, __LINE__), 0);
    CHECK_U64_EQ(r0, 0xffffffff8000fffeull);
    printf("memsx: ok\n");
    return 0;
}
