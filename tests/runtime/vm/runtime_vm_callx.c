/* callx (uBPF's `call %rN`, register in the dst field): a register known to the verifier is a
 * normal, fully checked call; an unknown one may reach only helpers taking scalars, checked at
 * run time (unknown number, a helper taking pointers, or an uninitialised argument fault). */
#include "vm_test.h"

static uint64_t add1(void *host, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    return a + 1;
}

int main(void)
{
    const struct bpfmm_rt_helper hh[] = {{.id = 0x10001, .name = "add1", .nr_args = 1, .fn = add1}};
    struct vt_env env = {.helpers = hh, .nr_helpers = 1, .flags = BPFMM_RT_LOAD_COMPAT};

    /* known constant: a normal call */
    RUN_ENV(&env, 8, MOV64_IMM(1, 7), MOV64_IMM(2, 0x10001), CALLX(2), EXIT());

    /* unknown: the helper number comes from memory */
    const struct bpf_insn dyn[] = {LDX(BPF_W, 2, 1, 0), MOV64_IMM(1, 41), CALLX(2), EXIT()};
    uint32_t id = 0x10001;
    uint64_t r0 = 0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(vt_exec(dyn, NINSN(dyn), &env, &id, 4, &r0, &f, __LINE__), 0);
    CHECK_EQ(r0, 42);
    id = BPF_FUNC_get_prandom_u32; /* a scalar-only built-in */
    CHECK_EQ(vt_exec(dyn, NINSN(dyn), &env, &id, 4, &r0, &f, __LINE__), 0);
    CHECK_LE(r0, UINT32_MAX);
    id = 999;
    CHECK_EQ(vt_exec(dyn, NINSN(dyn), &env, &id, 4, &r0, &f, __LINE__), -EFAULT);
    CHECK_EQ(f.kind, BPFMM_RT_FAULT_HELPER);
    CHECK_EQ(f.insn, 2);
    CHECK_STR_CONTAINS(f.msg, "callx to helper 999 is not a helper that can be called");
    id = BPF_FUNC_map_lookup_elem; /* takes pointers: never through an unknown register */
    CHECK_EQ(vt_exec(dyn, NINSN(dyn), &env, &id, 4, &r0, &f, __LINE__), -EFAULT);
    CHECK_EQ(f.kind, BPFMM_RT_FAULT_HELPER);

    /* an argument the helper reads is not initialised */
    const struct bpf_insn uninit[] = {LDX(BPF_W, 2, 1, 0), CALLX(2), EXIT()};
    id = 0x10001;
    CHECK_EQ(vt_exec(uninit, NINSN(uninit), &env, &id, 4, &r0, &f, __LINE__), -EFAULT);
    CHECK_STR_CONTAINS(f.msg, "not an initialised scalar");
    printf("callx: ok\n");
    return 0;
}
