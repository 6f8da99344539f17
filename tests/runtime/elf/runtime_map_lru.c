/* LRU_HASH from the host: when full, an insert evicts the least recently used key (updates
 * count as uses; host lookups do not, as in Linux, so showing a map does not reorder it);
 * BPF_NOEXIST/EXIST behave as for HASH; never -E2BIG. Program lookups count as uses
 * (runtime_map_from_prog). */
#include "elf_common.h"

static bool has(bpfmm_rt_map_t *m, uint32_t k)
{
    uint64_t v;
    return bpfmm_rt_map_lookup(m, &k, &v) == 0;
}

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(obj, "lru");
    CHECK(m);
    CHECK_EQ(bpfmm_rt_map_max_entries(m), 4);
    uint64_t v = 1;
    for (uint32_t k = 1; k <= 4; k++)
        CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 1), 0);
    /* Use 1 and 2: 3 is now the least recently used, then 4. */
    uint32_t k = 1;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2), 0);
    k = 2;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2), 0);
    k = 5;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    CHECK(!has(m, 3));
    CHECK(has(m, 1) && has(m, 2) && has(m, 4) && has(m, 5));
    k = 6;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    CHECK(!has(m, 4));
    CHECK(has(m, 1) && has(m, 2) && has(m, 5) && has(m, 6));
    /* NOEXIST on a present key, EXIST on an absent one: no eviction. */
    k = 6;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 1), -EEXIST);
    k = 7;
    CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 2), -ENOENT);
    CHECK(has(m, 1) && has(m, 2) && has(m, 5) && has(m, 6));
    /* Many inserts: the map never holds more than max_entries and never fails. */
    for (k = 100; k < 1100; k++) {
        v = k;
        CHECK_EQ(bpfmm_rt_map_update(m, &k, &v, 0), 0);
    }
    unsigned count = 0;
    uint32_t key, next;
    const void *prev = NULL;
    while (bpfmm_rt_map_next_key(m, prev, &next) == 0) {
        CHECK_GE(next, 1096); /* the four most recent */
        count++;
        key = next;
        prev = &key;
    }
    CHECK_EQ(count, 4);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
