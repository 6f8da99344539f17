/* Opening a clang-built object: programs (name, section, size), maps from BTF (type, sizes,
 * max_entries, flags), global-data maps named after their sections, the license, and lookups
 * by name and by section. Nothing runs. */
#include "elf_common.h"

#include "rt_obj.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    CHECK(strcmp(bpfmm_rt_obj_name(obj), "maps.bpf.o") == 0);
    CHECK(strcmp(bpfmm_rt_obj_license(obj), "Dual BSD/GPL") == 0);
    CHECK(!bpfmm_rt_obj_is_loaded(obj));

    CHECK_EQ(bpfmm_rt_obj_prog_count(obj), 1);
    bpfmm_rt_prog_t *p = bpfmm_rt_obj_prog(obj, 0);
    CHECK(strcmp(bpfmm_rt_prog_name(p), "map_ops") == 0);
    CHECK(strcmp(bpfmm_rt_prog_section(p), "bpfmm/test") == 0);
    CHECK_GT(bpfmm_rt_prog_insn_count(p), 10);
    CHECK(bpfmm_rt_obj_find_prog(obj, "map_ops") == p);
    CHECK(bpfmm_rt_obj_find_prog(obj, "bpfmm/test") == p);
    CHECK(bpfmm_rt_obj_find_prog(obj, "nope") == NULL);
    CHECK(bpfmm_rt_obj_prog(obj, 1) == NULL);

    /* BTF maps in definition order, then no global data (maps.bpf.c has none). */
    CHECK_EQ(bpfmm_rt_obj_map_count(obj), 4);
    struct {
        const char *name;
        uint32_t type, ksz, vsz, max;
    } want[] = {
        {"array", BPFMM_RT_MAP_ARRAY, 4, 8, 4},
        {"hash", BPFMM_RT_MAP_HASH, 4, 8, 8},
        {"lru", BPFMM_RT_MAP_LRU_HASH, 4, 8, 4},
        {"names", BPFMM_RT_MAP_HASH, 16, 16, 16},
    };
    for (unsigned i = 0; i < 4; i++) {
        bpfmm_rt_map_t *m = bpfmm_rt_obj_map(obj, i);
        CHECK_MSG(strcmp(bpfmm_rt_map_name(m), want[i].name) == 0, "map %u is %s", i,
                  bpfmm_rt_map_name(m));
        CHECK_EQ(bpfmm_rt_map_type(m), want[i].type);
        CHECK_EQ(bpfmm_rt_map_key_size(m), want[i].ksz);
        CHECK_EQ(bpfmm_rt_map_value_size(m), want[i].vsz);
        CHECK_EQ(bpfmm_rt_map_max_entries(m), want[i].max);
        CHECK(!bpfmm_rt_map_is_global(m));
        CHECK(bpfmm_rt_obj_find_map(obj, want[i].name) == m);
        CHECK_EQ(obj->maps[i]->rt.index, i);
        CHECK_NE(obj->maps[i]->rt.btf_value_type_id, 0);
    }
    CHECK_EQ(obj->maps[3]->rt.map_flags, 1); /* BPF_F_NO_PREALLOC */
    bpfmm_rt_obj_close(obj);

    /* Global data: .rodata (knobs + string literals), .data, .bss. */
    obj = elf_open_ok("globals");
    CHECK(strcmp(bpfmm_rt_obj_license(obj), "GPL") == 0);
    bpfmm_rt_map_t *ro = bpfmm_rt_obj_find_map(obj, ".rodata");
    bpfmm_rt_map_t *data = bpfmm_rt_obj_find_map(obj, ".data");
    bpfmm_rt_map_t *bss = bpfmm_rt_obj_find_map(obj, ".bss");
    CHECK(ro && data && bss);
    bpfmm_rt_map_t *str = bpfmm_rt_obj_find_map(obj, ".rodata.str1.1");
    CHECK(str && bpfmm_rt_map_is_global(str) && str->rt.prog_readonly);
    CHECK(strcmp((const char *)str->rt.global_data, "direct %d") == 0);
    CHECK(bpfmm_rt_map_is_global(ro) && bpfmm_rt_map_is_global(data) &&
          bpfmm_rt_map_is_global(bss));
    CHECK_EQ(bpfmm_rt_map_max_entries(data), 1);
    CHECK_EQ(bpfmm_rt_map_key_size(data), 4);
    CHECK_EQ(bpfmm_rt_map_value_size(data), 8); /* counter */
    CHECK_EQ(bpfmm_rt_map_value_size(bss), 24); /* calls + last_seen[4] */
    CHECK(ro->rt.prog_readonly);
    CHECK(!data->rt.prog_readonly);
    CHECK(data->rt.global_data != NULL);
    /* Initialised from the section: counter = 100; .bss zero. */
    uint32_t zero = 0;
    uint64_t v = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(data, &zero, &v), 0);
    CHECK_EQ(v, 100);
    unsigned char b[24];
    memset(b, 0xff, sizeof(b));
    CHECK_EQ(bpfmm_rt_map_lookup(bss, &zero, b), 0);
    for (unsigned i = 0; i < sizeof(b); i++)
        CHECK_EQ(b[i], 0);
    uint32_t one = 1;
    CHECK_EQ(bpfmm_rt_map_lookup(data, &one, &v), -ENOENT);
    bpfmm_rt_obj_close(obj);

    /* Open from memory: same result, name from the options. */
    size_t size;
    unsigned char *buf = elf_read("calls", &size);
    struct bpfmm_rt_open_opts o = {.sz = sizeof(o), .name = "mem-object"};
    obj = bpfmm_rt_obj_open_mem(buf, size, &o);
    CHECK(obj);
    CHECK(strcmp(bpfmm_rt_obj_name(obj), "mem-object") == 0);
    CHECK_EQ(bpfmm_rt_obj_prog_count(obj), 2);
    bpfmm_rt_obj_close(obj);
    free(buf);

    /* A missing file is an ordinary error with a message. */
    char log[512] = "";
    struct bpfmm_rt_open_opts fo = {.sz = sizeof(fo), .log_buf = log, .log_size = sizeof(log)};
    CHECK(bpfmm_rt_obj_open_file("/nonexistent/x.bpf.o", &fo) == NULL);
    CHECK_EQ(errno, ENOENT);
    CHECK_STR_CONTAINS(log, "cannot open");

    /* Raw instructions: one program "main", no maps. */
    uint64_t insns[2] = {0x00000000000000b7ull | (42ull << 32), 0x95};
    obj = bpfmm_rt_obj_open_insns(insns, sizeof(insns), NULL);
    CHECK(obj);
    CHECK_EQ(bpfmm_rt_obj_prog_count(obj), 1);
    CHECK(strcmp(bpfmm_rt_prog_name(bpfmm_rt_obj_prog(obj, 0)), "main") == 0);
    CHECK_EQ(bpfmm_rt_prog_insn_count(bpfmm_rt_obj_prog(obj, 0)), 2);
    CHECK_EQ(bpfmm_rt_obj_map_count(obj), 0);
    CHECK(bpfmm_rt_obj_license(obj) == NULL);
    bpfmm_rt_obj_close(obj);
    CHECK(bpfmm_rt_obj_open_insns(insns, 12, NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    printf("ok\n");
    return 0;
}
