/*
 * Helpers shared by the scope tests: a fake "program" whose release is counted, and a check
 * that a process is governed by a given policy. Owns no test logic.
 */
#ifndef BPFMM_SCOPE_TEST_H
#define BPFMM_SCOPE_TEST_H

#include "test.h"

#include <bpfmm/scope.h>
#include <stdatomic.h>

struct fake_prog {
    const char *tag;
    atomic_int released; /* times the release callback ran for this handle */
};

static inline void fake_release(void *prog, void *arg)
{
    struct fake_prog *p = prog;
    CHECK(arg == (void *)p); /* the tests pass the handle itself as release_arg */
    atomic_fetch_add(&p->released, 1);
}

static inline uint32_t make_policy(bpfmm_scope_t *s, const char *name, struct fake_prog *prog)
{
    uint32_t id = 0;
    int err = bpfmm_scope_policy_create(s, name, prog, fake_release, prog, &id);
    CHECK_MSG(err == 0, "create %s: %d %s", name, err, bpfmm_scope_last_error());
    CHECK_GT(id, 0);
    return id;
}

/* tgid's governing program must be `prog` from policy `id`, reached `how`. */
static inline void expect_governed(bpfmm_scope_t *s, int32_t tgid, uint32_t id,
                                   struct fake_prog *prog, enum bpfmm_scope_how how)
{
    struct bpfmm_scope_ref ref;
    int err = bpfmm_scope_lookup(s, tgid, &ref);
    CHECK_MSG(err == 0, "lookup %d: %d", (int)tgid, err);
    CHECK_EQ(ref.policy_id, id);
    CHECK_MSG(ref.prog == prog, "tgid %d governed by %s, expected %s", (int)tgid,
              ((struct fake_prog *)ref.prog)->tag, prog->tag);
    CHECK_EQ(ref.how, how);
    CHECK_EQ(bpfmm_scope_policy_of(s, tgid, NULL), how);
    bpfmm_scope_ref_put(&ref);
}

static inline void expect_unmanaged(bpfmm_scope_t *s, int32_t tgid)
{
    struct bpfmm_scope_ref ref;
    CHECK_EQ(bpfmm_scope_lookup(s, tgid, &ref), -ENOENT);
    CHECK(ref.prog == NULL);
    CHECK_EQ(ref.how, BPFMM_SCOPE_NONE);
    CHECK_EQ(bpfmm_scope_policy_of(s, tgid, NULL), BPFMM_SCOPE_NONE);
}

/* The policy's process list must be exactly want[0..n) (ascending). */
static inline void expect_procs(bpfmm_scope_t *s, uint32_t id, const int32_t *want, int n)
{
    int32_t got[64];
    int k = bpfmm_scope_policy_procs(s, id, got, 64);
    CHECK_EQ(k, n);
    for (int i = 0; i < n; i++)
        CHECK_EQ(got[i], want[i]);
}

#endif
