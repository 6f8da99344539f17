/* A map value overflow never corrupts memory: a constant out-of-bounds store into a map value
 * is rejected at load with the instruction index; a variable-offset store is either rejected
 * at load or faults at run time with the instruction index, leaving the neighbouring values
 * untouched. */
#include "elf_common.h"

int main(void)
{
    char log[1024] = "";
    bpfmm_rt_obj_t *obj = elf_open_ok("overflow");
    int err = elf_load(obj, 0, NULL, NULL, log, sizeof(log));
    CHECK_EQ(err, -EINVAL);
    CHECK_STR_CONTAINS(log, "overflow.bpf.o: program 'write_const': ");
    CHECK_STR_CONTAINS(log, "insn ");
    printf("constant offset: %s\n", log);
    CHECK(!bpfmm_rt_obj_is_loaded(obj));
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, 0), NULL, 0, NULL, NULL, NULL), -EINVAL);
    bpfmm_rt_obj_close(obj);

    obj = elf_open_ok("overflow_var");
    log[0] = '\0';
    err = elf_load(obj, 8, NULL, NULL, log, sizeof(log));
    if (err) {
        CHECK_EQ(err, -EINVAL);
        CHECK_STR_CONTAINS(log, "program 'write_var': ");
        CHECK_STR_CONTAINS(log, "insn ");
        printf("variable offset rejected at load: %s\n", log);
        bpfmm_rt_obj_close(obj);
        return 0;
    }
    bpfmm_rt_map_t *vals = bpfmm_rt_obj_find_map(obj, "vals");
    bpfmm_rt_prog_t *p = bpfmm_rt_obj_prog(obj, 0);
    /* In bounds: index 0 works. */
    uint64_t ctx = 0, r0 = 0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(bpfmm_rt_prog_run(p, &ctx, sizeof(ctx), NULL, &r0, &f), 0);
    uint32_t k = 0;
    uint64_t v;
    CHECK_EQ(bpfmm_rt_map_lookup(vals, &k, &v), 0);
    CHECK_EQ(v, 0xdead);
    /* Out of bounds: past the array's values (elements 0..3). The interpreter checks such
     * accesses with the map's contains(): any byte outside every value of the map faults.
     * (Index 1..3 would land inside a neighbouring element's value, which contains() cannot
     * tell from the element the pointer came from; see docs/runtime-loader.md.) */
    unsigned faults = 0;
    for (uint64_t idx = 4; idx < 256; idx += 37) {
        ctx = idx;
        memset(&f, 0, sizeof(f));
        err = bpfmm_rt_prog_run(p, &ctx, sizeof(ctx), NULL, &r0, &f);
        CHECK_EQ(err, -EFAULT);
        CHECK_EQ(f.kind, BPFMM_RT_FAULT_MEM);
        CHECK_GT(f.insn, 0);
        CHECK_LT(f.insn, bpfmm_rt_prog_insn_count(p));
        printf("index %llu: fault at insn %u: %s\n", (unsigned long long)idx, f.insn, f.msg);
        faults++;
    }
    for (k = 1; k < 4; k++) {
        CHECK_EQ(bpfmm_rt_map_lookup(vals, &k, &v), 0);
        CHECK_EQ(v, 0);
    }
    struct bpfmm_rt_prog_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_rt_prog_get_stats(p, &st), 0);
    CHECK_EQ(st.faults, faults);
    CHECK_EQ(st.last_fault_insn, f.insn);
    bpfmm_rt_obj_close(obj);
    return 0;
}
