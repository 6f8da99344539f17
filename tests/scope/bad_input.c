/*
 * scope_bad_input: every misuse gives an ordinary error code and a message saying what was
 * wrong - unknown policy ids, tgid <= 0, attach after destroy, bad names, NULL programs,
 * duplicate names, the process limit - and never changes state.
 */
#include "scope_test.h"

int main(void)
{
    bpfmm_scope_t *s = bpfmm_scope_new(
        &(struct bpfmm_scope_opts){.sz = sizeof(struct bpfmm_scope_opts), .max_procs = 3});
    CHECK(s);
    struct fake_prog pa = {.tag = "A"}, pb = {.tag = "B"};
    uint32_t a = make_policy(s, "A", &pa);

    /* Unknown ids. */
    CHECK_EQ(bpfmm_scope_attach(s, 4242, 10), -ENOENT);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "no policy with id 4242");
    CHECK_EQ(bpfmm_scope_attach(s, 0, 10), -ENOENT);
    CHECK_EQ(bpfmm_scope_policy_destroy(s, 4242), -ENOENT);
    CHECK_EQ(bpfmm_scope_policy_update(s, 4242, &pb, fake_release, &pb), -ENOENT);
    CHECK_EQ(pb.released, 0); /* a refused handle stays the caller's */
    CHECK_EQ(bpfmm_scope_global_set(s, 4242), -ENOENT);
    CHECK_EQ(bpfmm_scope_global_get(s, NULL), -ENOENT);
    struct bpfmm_scope_policy_info info;
    CHECK_EQ(bpfmm_scope_policy_info(s, 4242, &info), -ENOENT);

    /* tgid <= 0. */
    CHECK_EQ(bpfmm_scope_attach(s, a, 0), -EINVAL);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "tgid 0 is not a process id");
    CHECK_EQ(bpfmm_scope_attach(s, a, -5), -EINVAL);
    CHECK_EQ(bpfmm_scope_fork(s, 0, 5), -EINVAL);
    CHECK_EQ(bpfmm_scope_fork(s, 5, -1), -EINVAL);
    CHECK_EQ(bpfmm_scope_exec(s, 0), -EINVAL);
    CHECK_EQ(bpfmm_scope_exit(s, -1), -EINVAL);
    CHECK_EQ(bpfmm_scope_detach(s, 0), -EINVAL);
    struct bpfmm_scope_ref ref;
    CHECK_EQ(bpfmm_scope_lookup(s, 0, &ref), -EINVAL);
    CHECK(ref.prog == NULL);
    CHECK_EQ(bpfmm_scope_policy_of(s, -3, NULL), BPFMM_SCOPE_NONE);
    CHECK_EQ(bpfmm_scope_detach(s, 77), -ENOENT);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "has no local policy");

    /* Names and handles. */
    uint32_t id;
    CHECK_EQ(bpfmm_scope_policy_create(s, "A", &pb, fake_release, &pb, &id), -EEXIST);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "already exists");
    CHECK_EQ(bpfmm_scope_policy_create(s, "", &pb, fake_release, &pb, &id), -EINVAL);
    CHECK_EQ(bpfmm_scope_policy_create(s, NULL, &pb, fake_release, &pb, &id), -EINVAL);
    CHECK_EQ(bpfmm_scope_policy_create(s, "bad\nname", &pb, fake_release, &pb, &id), -EINVAL);
    char longname[100];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[99] = 0;
    CHECK_EQ(bpfmm_scope_policy_create(s, longname, &pb, fake_release, &pb, &id), -ENAMETOOLONG);
    CHECK_EQ(bpfmm_scope_policy_create(s, "nullprog", NULL, NULL, NULL, &id), -EINVAL);
    CHECK_EQ(bpfmm_scope_policy_update(s, a, NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(pb.released, 0);
    CHECK_EQ(bpfmm_scope_policy_ids(s, NULL, 0), 1);

    /* Attach after destroy. */
    uint32_t b = make_policy(s, "B", &pb);
    CHECK_EQ(bpfmm_scope_policy_destroy(s, b), 0);
    CHECK_EQ(bpfmm_scope_attach(s, b, 10), -ENOENT);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "already destroyed");
    CHECK_EQ(bpfmm_scope_policy_destroy(s, b), -ENOENT);
    expect_unmanaged(s, 10);

    /* The process limit (3 here). */
    CHECK_EQ(bpfmm_scope_attach(s, a, 1), 0);
    CHECK_EQ(bpfmm_scope_attach(s, a, 2), 0);
    CHECK_EQ(bpfmm_scope_fork(s, 1, 3), 0);
    CHECK_EQ(bpfmm_scope_attach(s, a, 4), -ENOSPC);
    CHECK_EQ(bpfmm_scope_fork(s, 1, 5), -ENOSPC);
    CHECK_STR_CONTAINS(bpfmm_scope_last_error(), "already tracked");
    expect_unmanaged(s, 5);
    expect_procs(s, a, (int32_t[]){1, 2, 3}, 3);

    /* Bad options. */
    errno = 0;
    CHECK(bpfmm_scope_new(&(struct bpfmm_scope_opts){.sz = 0}) == NULL);
    CHECK_EQ(errno, EINVAL);

    bpfmm_scope_free(s);
    bpfmm_scope_free(NULL);
    CHECK_EQ(pa.released, 1);
    CHECK_EQ(pb.released, 1);
    return 0;
}
