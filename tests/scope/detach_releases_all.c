/*
 * scope_detach_releases_all: destroying (detaching) a policy releases every process it
 * manages - attached and inherited - which then fall back to the global policy or to none,
 * leaves other policies' processes alone, makes the id unusable, and releases the program
 * once its last reference is put.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pb = {.tag = "B"}, pg = {.tag = "G"};
    uint32_t a = make_policy(s, "A", &pa), b = make_policy(s, "B", &pb);
    uint32_t g = make_policy(s, "G", &pg);

    for (int32_t t = 1000; t < 1010; t++)
        CHECK_EQ(bpfmm_scope_attach(s, a, t), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 1000, 1100), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 1100, 1101), 0);
    CHECK_EQ(bpfmm_scope_attach(s, b, 2000), 0);

    struct bpfmm_scope_ref held;
    CHECK_EQ(bpfmm_scope_lookup(s, 1005, &held), 0);

    CHECK_EQ(bpfmm_scope_policy_destroy(s, a), 0);
    CHECK_EQ(pa.released, 0); /* `held` still uses it */
    for (int32_t t = 1000; t < 1010; t++)
        expect_unmanaged(s, t);
    expect_unmanaged(s, 1100);
    expect_unmanaged(s, 1101);
    expect_governed(s, 2000, b, &pb, BPFMM_SCOPE_LOCAL);
    bpfmm_scope_ref_put(&held);
    CHECK_EQ(pa.released, 1);

    /* The id is gone; the name is free again. */
    CHECK_EQ(bpfmm_scope_attach(s, a, 1000), -ENOENT);
    CHECK_EQ(bpfmm_scope_policy_procs(s, a, NULL, 0), -ENOENT);
    uint32_t found;
    CHECK_EQ(bpfmm_scope_policy_find(s, "A", &found), -ENOENT);
    struct fake_prog pa2 = {.tag = "A again"};
    uint32_t a2 = make_policy(s, "A", &pa2);
    CHECK_NE(a2, a);                                       /* ids are never reused */
    CHECK_EQ(bpfmm_scope_policy_procs(s, a2, NULL, 0), 0); /* sizing an empty list */

    /* Released processes can be attached elsewhere; a destroyed global policy clears it. */
    CHECK_EQ(bpfmm_scope_attach(s, a2, 1000), 0);
    CHECK_EQ(bpfmm_scope_global_set(s, g), 0);
    expect_governed(s, 1001, g, &pg, BPFMM_SCOPE_GLOBAL);
    CHECK_EQ(bpfmm_scope_policy_destroy(s, g), 0);
    CHECK_EQ(pg.released, 1);
    CHECK_EQ(bpfmm_scope_global_get(s, NULL), -ENOENT);
    expect_unmanaged(s, 1001);
    expect_governed(s, 1000, a2, &pa2, BPFMM_SCOPE_LOCAL);

    uint32_t ids[8];
    CHECK_EQ(bpfmm_scope_policy_ids(s, ids, 8), 2);
    CHECK_EQ(ids[0], b);
    CHECK_EQ(ids[1], a2);

    bpfmm_scope_free(s);
    CHECK_EQ(pb.released, 1);
    CHECK_EQ(pa2.released, 1);
    return 0;
}
