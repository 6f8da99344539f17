/* bpf-to-bpf calls run correctly: nested static calls, a global function, two programs sharing
 * .text, and a global written from a sub-program. */
#include "elf_common.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("calls");
    CHECK_EQ(bpfmm_rt_obj_prog_count(obj), 2);
    char log[512] = "";
    int err = elf_load(obj, 0, NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    uint64_t r0 = 0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_find_prog(obj, "first"), NULL, 0, NULL, &r0, &f), 0);
    CHECK_EQ(r0, 19 + 101);
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_find_prog(obj, "bpfmm/second"), NULL, 0, NULL, &r0, &f),
             0);
    CHECK_EQ(r0, 106);
    uint32_t zero = 0;
    uint64_t depth = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(bpfmm_rt_obj_find_map(obj, ".bss"), &zero, &depth), 0);
    CHECK_EQ(depth, 3);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
