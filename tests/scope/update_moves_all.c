/*
 * scope_update_moves_all: updating a policy's program moves every process it manages
 * (attached and inherited) to the new program at once, leaves other policies alone, and
 * releases the old program only when the last lookup reference to it is put.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(NULL);
    CHECK(s);
    struct fake_prog v1 = {.tag = "v1"}, v2 = {.tag = "v2"}, v3 = {.tag = "v3"};
    struct fake_prog other = {.tag = "other"};
    uint32_t id = make_policy(s, "p", &v1), oid = make_policy(s, "other", &other);

    CHECK_EQ(bpfmm_scope_attach(s, id, 10), 0);
    CHECK_EQ(bpfmm_scope_attach(s, id, 20), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 10, 11), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 11, 12), 0);
    CHECK_EQ(bpfmm_scope_attach(s, oid, 30), 0);

    /* A reference taken before the update keeps v1 alive. */
    struct bpfmm_scope_ref held;
    CHECK_EQ(bpfmm_scope_lookup(s, 20, &held), 0);
    CHECK(held.prog == &v1);
    CHECK_EQ(held.version, 1);

    CHECK_EQ(bpfmm_scope_policy_update(s, id, &v2, fake_release, &v2), 0);
    const int32_t all[] = {10, 11, 12, 20};
    for (unsigned i = 0; i < 4; i++)
        expect_governed(s, all[i], id, &v2, BPFMM_SCOPE_LOCAL);
    expect_governed(s, 30, oid, &other, BPFMM_SCOPE_LOCAL);
    expect_procs(s, id, all, 4);

    CHECK_EQ(v1.released, 0); /* still referenced by `held` */
    CHECK(held.prog == &v1);  /* the holder still sees the program it looked up */
    bpfmm_scope_ref_put(&held);
    CHECK_EQ(v1.released, 1);
    bpfmm_scope_ref_put(&held); /* a second put is harmless */
    CHECK_EQ(v1.released, 1);

    /* Without outstanding references the old program goes at once. */
    CHECK_EQ(bpfmm_scope_policy_update(s, id, &v3, fake_release, &v3), 0);
    CHECK_EQ(v2.released, 1);
    struct bpfmm_scope_ref r;
    CHECK_EQ(bpfmm_scope_lookup(s, 12, &r), 0);
    CHECK(r.prog == &v3);
    CHECK_EQ(r.version, 3);
    bpfmm_scope_ref_put(&r);

    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, id, &info), 0);
    CHECK_EQ(info.version, 3);
    CHECK_EQ(info.nr_procs, 4);
    CHECK_EQ(info.inherits, 2);

    bpfmm_scope_free(s);
    CHECK_EQ(v3.released, 1);
    CHECK_EQ(other.released, 1);
    CHECK_EQ(v1.released, 1);
    CHECK_EQ(v2.released, 1);
    return 0;
}
