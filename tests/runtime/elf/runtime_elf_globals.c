/* Globals in .data, .bss and .rodata, used by a program: .data starts at its initial value and
 * accumulates, .bss starts at zero, and the host sees (and can change) what the program wrote. */
#include "elf_common.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("globals");
    char log[512] = "";
    int err = elf_load(obj, 0, NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    bpfmm_rt_prog_t *p = bpfmm_rt_obj_find_prog(obj, "globals");
    bpfmm_rt_map_t *data = bpfmm_rt_obj_find_map(obj, ".data");
    bpfmm_rt_map_t *bss = bpfmm_rt_obj_find_map(obj, ".bss");
    uint32_t zero = 0;
    uint64_t counter, b[3];
    for (int i = 1; i <= 3; i++) {
        uint64_t r0;
        struct bpfmm_rt_fault f;
        err = bpfmm_rt_prog_run(p, NULL, 0, NULL, &r0, &f);
        CHECK_MSG(err == 0, "run: %s", f.msg);
        CHECK_EQ(r0, 7 - 3 + 100000); /* defaults: knob_u32 7, s8 -3, MODE_ON */
        CHECK_EQ(bpfmm_rt_map_lookup(data, &zero, &counter), 0);
        CHECK_EQ(counter, 100 + 7 * i);
        CHECK_EQ(bpfmm_rt_map_lookup(bss, &zero, b), 0);
        CHECK_EQ(b[0], i); /* calls */
        /* last_seen[calls & 3] = 'a' */
        uint32_t *last = (uint32_t *)&b[1];
        CHECK_EQ(last[i & 3], 'a');
    }
    /* The host changes .data; the program continues from there. */
    counter = 1000;
    CHECK_EQ(bpfmm_rt_map_update(data, &zero, &counter, 0), 0);
    CHECK_EQ(bpfmm_rt_prog_run(p, NULL, 0, NULL, NULL, NULL), 0);
    CHECK_EQ(bpfmm_rt_map_lookup(data, &zero, &counter), 0);
    CHECK_EQ(counter, 1007);
    struct bpfmm_rt_prog_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_rt_prog_get_stats(p, &st), 0);
    CHECK_EQ(st.runs, 4);
    CHECK_EQ(st.faults, 0);
    CHECK_GT(st.insns, 4 * 10);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
