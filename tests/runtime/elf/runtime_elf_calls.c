/* bpf-to-bpf calls run correctly: nested static calls, a global function, two programs sharing
 * .text (in two sections and in one), and a global written from a sub-program. */
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

    /* Two programs in one section, sharing a .text function; the section name finds the
     * first. */
    obj = elf_open_ok("multi");
    CHECK_EQ(bpfmm_rt_obj_prog_count(obj), 2);
    bpfmm_rt_prog_t *alpha = bpfmm_rt_obj_find_prog(obj, "alpha");
    bpfmm_rt_prog_t *beta = bpfmm_rt_obj_find_prog(obj, "beta");
    CHECK(alpha && beta && alpha != beta);
    CHECK(strcmp(bpfmm_rt_prog_section(beta), "bpfmm/multi") == 0);
    CHECK(bpfmm_rt_obj_find_prog(obj, "bpfmm/multi") == alpha);
    err = elf_load(obj, 0, NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    CHECK_EQ(bpfmm_rt_prog_run(alpha, NULL, 0, NULL, &r0, &f), 0);
    CHECK_EQ(r0, 42);
    CHECK_EQ(bpfmm_rt_prog_run(beta, NULL, 0, NULL, &r0, &f), 0);
    CHECK_EQ(r0, 101);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
