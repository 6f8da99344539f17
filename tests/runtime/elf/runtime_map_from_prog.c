/* ARRAY, HASH and LRU_HASH driven by a BPF program through the helpers (lookup, update with
 * BPF_ANY/NOEXIST/EXIST, delete), cross-checked from the host in both directions. */
#include "elf_common.h"

#include "elf_test.h"

static bpfmm_rt_prog_t *prog;

static int64_t op(uint32_t o, uint32_t map, uint32_t key, uint64_t *value, uint32_t flags)
{
    struct elf_test_ctx c = {
        .op = o, .map = map, .key = key, .flags = flags, .value = value ? *value : 0};
    uint64_t r0;
    struct bpfmm_rt_fault f;
    int err = bpfmm_rt_prog_run(prog, &c, sizeof(c), NULL, &r0, &f);
    CHECK_MSG(err == 0, "run faulted: %s", f.msg);
    if (value)
        *value = c.value;
    return c.result;
}

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    char log[1024] = "";
    int err = elf_load(obj, sizeof(struct elf_test_ctx), NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    prog = bpfmm_rt_obj_prog(obj, 0);
    bpfmm_rt_map_t *array = bpfmm_rt_obj_find_map(obj, "array");
    bpfmm_rt_map_t *hash = bpfmm_rt_obj_find_map(obj, "hash");
    bpfmm_rt_map_t *lru = bpfmm_rt_obj_find_map(obj, "lru");
    uint64_t v;

    /* ARRAY */
    v = 11;
    CHECK_EQ(op(OP_UPDATE, MAP_ARRAY, 1, &v, 0), 0);
    uint32_t k = 1;
    CHECK_EQ(bpfmm_rt_map_lookup(array, &k, &v), 0);
    CHECK_EQ(v, 11);
    v = 12;
    CHECK_EQ(op(OP_UPDATE, MAP_ARRAY, 1, &v, 1 /* NOEXIST */), -EEXIST);
    CHECK_EQ(op(OP_UPDATE, MAP_ARRAY, 9, &v, 0), -E2BIG);
    CHECK_EQ(op(OP_LOOKUP, MAP_ARRAY, 9, &v, 0), -ENOENT);
    CHECK_EQ(op(OP_DELETE, MAP_ARRAY, 1, NULL, 0), -EINVAL);
    k = 3;
    v = 33;
    CHECK_EQ(bpfmm_rt_map_update(array, &k, &v, 0), 0);
    v = 0;
    CHECK_EQ(op(OP_LOOKUP, MAP_ARRAY, 3, &v, 0), 0);
    CHECK_EQ(v, 33);

    /* HASH */
    v = 7;
    CHECK_EQ(op(OP_UPDATE, MAP_HASH, 70, &v, 2 /* EXIST */), -ENOENT);
    CHECK_EQ(op(OP_UPDATE, MAP_HASH, 70, &v, 1 /* NOEXIST */), 0);
    CHECK_EQ(op(OP_UPDATE, MAP_HASH, 70, &v, 1), -EEXIST);
    k = 70;
    CHECK_EQ(bpfmm_rt_map_lookup(hash, &k, &v), 0);
    CHECK_EQ(v, 7);
    for (uint32_t i = 0; i < 7; i++) {
        v = i;
        CHECK_EQ(op(OP_UPDATE, MAP_HASH, i, &v, 0), 0);
    }
    v = 1;
    CHECK_EQ(op(OP_UPDATE, MAP_HASH, 100, &v, 0), -E2BIG); /* full: 8 entries */
    CHECK_EQ(op(OP_DELETE, MAP_HASH, 70, NULL, 0), 0);
    CHECK_EQ(op(OP_DELETE, MAP_HASH, 70, NULL, 0), -ENOENT);
    CHECK_EQ(bpfmm_rt_map_lookup(hash, &k, &v), -ENOENT);
    CHECK_EQ(op(OP_UPDATE, MAP_HASH, 100, &v, 0), 0);
    k = 100;
    v = 1234;
    CHECK_EQ(bpfmm_rt_map_update(hash, &k, &v, 0), 0);
    v = 0;
    CHECK_EQ(op(OP_LOOKUP, MAP_HASH, 100, &v, 0), 0);
    CHECK_EQ(v, 1234);

    /* LRU: 4 entries; the program's lookups count as uses. */
    for (uint32_t i = 1; i <= 4; i++) {
        v = i;
        CHECK_EQ(op(OP_UPDATE, MAP_LRU, i, &v, 0), 0);
    }
    CHECK_EQ(op(OP_LOOKUP, MAP_LRU, 1, &v, 0), 0);
    v = 5;
    CHECK_EQ(op(OP_UPDATE, MAP_LRU, 5, &v, 0), 0);
    k = 2;
    CHECK_EQ(bpfmm_rt_map_lookup(lru, &k, &v), -ENOENT); /* 2 was the least recently used */
    k = 1;
    CHECK_EQ(bpfmm_rt_map_lookup(lru, &k, &v), 0);

    struct bpfmm_rt_prog_stats st = {.sz = sizeof(st)};
    CHECK_EQ(bpfmm_rt_prog_get_stats(prog, &st), 0);
    CHECK_GT(st.runs, 20);
    CHECK_EQ(st.faults, 0);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
