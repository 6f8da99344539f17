/* What the conformance plugin's --elf mode does: open an object from memory, load it with a
 * ctx of {size = memory length, writable} in BPFMM_RT_LOAD_COMPAT mode, find the program and
 * run it with r1 = the memory; maps and globals work. */
#include "elf_common.h"

#include "elf_test.h"

int main(void)
{
    size_t size;
    unsigned char *buf = elf_read("maps", &size);
    char log[1024] = "";
    struct bpfmm_rt_open_opts oo = {.sz = sizeof(oo), .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(buf, size, &oo);
    free(buf);
    CHECK_MSG(obj, "open: %s", log);
    struct elf_test_ctx mem = {.op = OP_UPDATE, .map = MAP_HASH, .key = 9, .value = 99};
    struct bpfmm_rt_ctx_desc cd = {.size = sizeof(mem), .writable = true};
    struct bpfmm_rt_load_opts lo = {.sz = sizeof(lo),
                                    .ctx = &cd,
                                    .flags = BPFMM_RT_LOAD_COMPAT,
                                    .log_buf = log,
                                    .log_size = sizeof(log)};
    int err = bpfmm_rt_obj_load(obj, &lo);
    CHECK_MSG(err == 0, "load: %s", log);
    CHECK_EQ(bpfmm_rt_obj_load(obj, &lo), -EBUSY); /* once only */
    CHECK_STR_CONTAINS(log, "already loaded");
    bpfmm_rt_prog_t *p = bpfmm_rt_obj_find_prog(obj, "map_ops");
    uint64_t r0 = 0;
    struct bpfmm_rt_fault f;
    CHECK_EQ(bpfmm_rt_prog_run(p, &mem, sizeof(mem), NULL, &r0, &f), 0);
    CHECK_EQ(r0, 1);
    CHECK_EQ(mem.result, 0);
    mem.op = OP_LOOKUP;
    mem.value = 0;
    CHECK_EQ(bpfmm_rt_prog_run(p, &mem, sizeof(mem), NULL, &r0, &f), 0);
    CHECK_EQ(mem.result, 0);
    CHECK_EQ(mem.value, 99);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
