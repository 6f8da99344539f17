/* ARRAY from the host: every index exists (zero at start), BPF_NOEXIST fails with -EEXIST,
 * BPF_EXIST / BPF_ANY overwrite, index past the end -E2BIG / -ENOENT, delete -EINVAL, bad flags
 * -EINVAL, next_key walks 0..max-1, contains() accepts exactly the value bytes. */
#include "elf_common.h"

#include "rt_obj.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(obj, "array");
    CHECK(m);
    uint64_t v;
    for (uint32_t k = 0; k < 4; k++) {
        v = 99;
        CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
        CHECK_EQ(v, 0);
    }
    uint32_t k = 2;
    v = 42;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 1 /* BPF_NOEXIST */), -EEXIST);
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2 /* BPF_EXIST */), 0);
    v = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 42);
    v = 43;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0 /* BPF_ANY */), 0);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 43);
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 4), -EINVAL);
    k = 4;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), -E2BIG);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), -ENOENT);
    k = 1;
    CHECK_EQ(bpfmm_rt_map_delete(m, &k), -EINVAL);
    CHECK_STR_CONTAINS(bpfmm_rt_map_strerror(m, -EINVAL), "cannot be deleted");

    /* next_key: NULL -> 0, then 1, 2, 3, then -ENOENT; an out-of-range key restarts at 0. */
    uint32_t next, expect = 0;
    const void *prev = NULL;
    while (bpfmm_rt_map_next_key(m, prev, &next) == 0) {
        CHECK_EQ(next, expect);
        expect++;
        k = next;
        prev = &k;
    }
    CHECK_EQ(expect, 4);
    k = 1000;
    CHECK_EQ(bpfmm_rt_map_next_key(m, &k, &next), 0);
    CHECK_EQ(next, 0);

    /* contains(): inside one value only. */
    struct rt_map *rm = &obj->maps[0]->rt;
    k = 0;
    uintptr_t base = (uintptr_t)rm->ops->lookup(rm, &k);
    CHECK(base);
    CHECK(rm->ops->contains(rm, base, 8));
    CHECK(rm->ops->contains(rm, base + 4, 4));
    CHECK(!rm->ops->contains(rm, base + 4, 8)); /* crosses into the next value */
    CHECK(!rm->ops->contains(rm, base - 1, 1)); /* before the first value */
    CHECK(rm->ops->contains(rm, base + 8, 8));  /* the second value */
    k = 3;
    uintptr_t last = (uintptr_t)rm->ops->lookup(rm, &k);
    CHECK(!rm->ops->contains(rm, last + 8, 1)); /* past the end of the array */
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
