/* HASH from the host: insert/lookup, BPF_NOEXIST on an existing key -EEXIST, BPF_EXIST on a
 * missing key -ENOENT, replace, delete (and -ENOENT twice), full map -E2BIG until a delete
 * frees a slot, next_key iteration visits every key exactly once, contains() covers values
 * only. Both preallocated and BPF_F_NO_PREALLOC maps. */
#include "elf_common.h"

#include "rt_map_impl.h"
#include "rt_obj.h"

static void iterate_expect(bpfmm_rt_map_t *m, uint32_t present_mask, unsigned want)
{
    uint32_t key, next, seen = 0;
    unsigned count = 0;
    const void *prev = NULL;
    while (bpfmm_rt_map_next_key(m, prev, &next) == 0) {
        CHECK_LT(next, 32);
        CHECK_MSG(!(seen & (1u << next)), "key %u visited twice", next);
        seen |= 1u << next;
        count++;
        CHECK_LE(count, 64);
        key = next;
        prev = &key;
    }
    CHECK_EQ(count, want);
    CHECK_EQ(seen, present_mask);
}

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(obj, "hash");
    CHECK(m);
    uint32_t k = 5;
    uint64_t v = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), -ENOENT);
    CHECK_EQ(bpfmm_rt_map_next_key(m, NULL, &k), -ENOENT); /* empty */
    k = 5;
    v = 500;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2 /* EXIST */), -ENOENT);
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 1 /* NOEXIST */), 0);
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 1), -EEXIST);
    v = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 500);
    v = 501;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2 /* EXIST */), 0);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 501);
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 3), -EINVAL);

    /* Fill to max_entries (8). */
    uint32_t mask = 1u << 5;
    for (k = 0; k < 8; k++) {
        if (k == 5)
            continue;
        v = k * 10;
        CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
        mask |= 1u << k;
    }
    iterate_expect(m, mask, 8);
    k = 20;
    v = 1;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), -E2BIG);
    CHECK_STR_CONTAINS(bpfmm_rt_map_strerror(m, -E2BIG), "full");
    /* Replacing an existing key still works when full. */
    k = 3;
    v = 333;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 333);
    /* Delete frees a slot. */
    CHECK_EQ(bpfmm_rt_map_delete(m, &k), 0);
    CHECK_EQ(bpfmm_rt_map_delete(m, &k), -ENOENT);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), -ENOENT);
    mask &= ~(1u << 3);
    iterate_expect(m, mask, 7);
    k = 20;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    mask |= 1u << 20;
    iterate_expect(m, mask, 8);
    /* An absent key in next_key restarts from the first key (Linux behaviour). */
    uint32_t absent = 31, first, again;
    CHECK_EQ(bpfmm_rt_map_next_key(m, NULL, &first), 0);
    CHECK_EQ(bpfmm_rt_map_next_key(m, &absent, &again), 0);
    CHECK_EQ(first, again);

    /* Values survive many replace/delete cycles (element recycling). */
    for (int round = 0; round < 1000; round++) {
        k = (uint32_t)(round % 8);
        v = (uint64_t)round;
        int err = bpfmm_rt_map_update(m, &k, &v, 0);
        CHECK(err == 0 || err == -E2BIG);
        if (err == 0) {
            uint64_t got;
            CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &got), 0);
            CHECK_EQ(got, v);
        }
        if (round % 3 == 0)
            bpfmm_rt_map_delete(m, &k);
    }

    /* contains(): the value bytes of an element, nothing else. */
    struct rt_map *rm = &((struct bpfmm_rt_map *)m)->rt;
    k = 20;
    uintptr_t val = (uintptr_t)rm->ops->lookup(rm, &k);
    CHECK(val);
    CHECK(rm->ops->contains(rm, val, 8));
    CHECK(!rm->ops->contains(rm, val, 9));
    CHECK(!rm->ops->contains(rm, val - 1, 1)); /* the key, before the value */
    CHECK(!rm->ops->contains(rm, (uintptr_t)&v, 8));

    /* A writer that holds the bucket lock (as a thread interrupted by a signal handler would):
     * writers to that bucket give up with -EBUSY after bounded retries, readers go on. */
    k = 20;
    CHECK(rt_map_hash_test_lock(rm, &k, true));
    v = 77;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), -EBUSY);
    CHECK_EQ(bpfmm_rt_map_delete(m, &k), -EBUSY);
    CHECK_STR_CONTAINS(bpfmm_rt_map_strerror(m, -EBUSY), "retry");
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK(rt_map_hash_test_lock(rm, &k, false));
    v = 77;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    CHECK_EQ(bpfmm_rt_map_lookup(m, &k, &v), 0);
    CHECK_EQ(v, 77);

    /* The struct-keyed map without preallocation. */
    bpfmm_rt_map_t *nm = bpfmm_rt_obj_find_map(obj, "names");
    char key[16] = "bash";
    uint64_t val2[2] = {1, 2};
    CHECK_EQ(bpfmm_rt_map_update(nm, key, val2, 0), 0);
    uint64_t out[2] = {0};
    CHECK_EQ(bpfmm_rt_map_lookup(nm, key, out), 0);
    CHECK_EQ(out[0], 1);
    CHECK_EQ(out[1], 2);
    for (int i = 0; i < 16; i++) {
        snprintf(key, sizeof(key), "proc%d", i);
        int err = bpfmm_rt_map_update(nm, key, val2, 0);
        CHECK_EQ(err, i < 15 ? 0 : -E2BIG);
    }
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
