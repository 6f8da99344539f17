/*
 * runtime_vm_audit: in audit builds (BPFMM_DEBUG, the ASan suite, and the fuzz target) the
 * interpreter also checks the accesses the verifier proved, and aborts with a message naming the
 * program and instruction when one leaves every region of the run. The test plays a verifier
 * bug: it swaps a checked load's handler for the unchecked one, then runs it in bounds (no
 * abort) and out of bounds (abort, in a child process). Skipped in builds without the audit.
 */
#include "vm_test.h"

#include <signal.h>
#include <sys/wait.h>

int main(void)
{
    if (!rt_interp_audited())
        test_skip("this build has no interpreter audit (it comes with BPFMM_DEBUG)");
    /* r2 = *(u32 *)mem; r0 = *(u64 *)(fp - 8 - r2): checked, since r2 is not bounded */
    const struct bpf_insn p[] = {
        ST(BPF_DW, 10, -8, 0x11), LDX(BPF_W, 2, 1, 0),   MOV64_REG(3, 10),
        ALU64_REG(BPF_SUB, 3, 2), LDX(BPF_DW, 0, 3, -8), EXIT(),
    };
    struct vt_env env = {.flags = BPFMM_RT_LOAD_COMPAT};
    char log[256];
    struct rt_vm_prog *vm = vt_prepare_env(p, NINSN(p), &env, log, sizeof(log));
    CHECK_MSG(vm, "%s", log);
    const void *const *H = rt_interp_handlers();
    CHECK(vm->code[4].h == H[RT_OP_LDXDW_C]);
    vm->code[4].h = H[RT_OP_LDXDW]; /* the "verifier bug": the access is now trusted */

    uint32_t off = 0;
    uint64_t r0 = 0;
    CHECK_EQ(rt_vm_run(vm, &off, sizeof(off), NULL, &r0, NULL, NULL), 0);
    CHECK_EQ(r0, 0x11);

    int pipefd[2];
    CHECK_EQ(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        off = 512; /* fp - 520: below the frame */
        rt_vm_run(vm, &off, sizeof(off), NULL, &r0, NULL, NULL);
        _exit(0); /* not reached when the audit works */
    }
    close(pipefd[1]);
    char msg[1024] = "";
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof(msg) && (n = read(pipefd[0], msg + len, sizeof(msg) - 1 - len)) > 0)
        len += (size_t)n;
    msg[len] = '\0';
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "the out-of-bounds trusted access was not stopped (status 0x%x)", status);
    CHECK_STR_CONTAINS(msg, "interpreter audit: program 'test' insn 4: the verifier proved a "
                            "8-byte read");
    CHECK_STR_CONTAINS(msg, "verifier bug");
    printf("audit stopped it: %s", msg);
    rt_vm_free(vm);
    return 0;
}
