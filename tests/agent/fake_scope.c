/*
 * live_agent_fake_scope: the engine keeps seed 000's scoping through its entry points.
 *   - attach: EBUSY on a second local attach (same or another policy); ESRCH for a pid that
 *     does not exist; ENOENT for an unknown policy; EPERM for a caller that could not ptrace
 *     the target (non-root, not the target's uid/gid, or a target that is not dumpable); the
 *     target's own user may attach;
 *   - on_fork: a child of an attached process inherits its policy and is followed at once;
 *     a child recovered with no parent (0) is followed when the scope already governs it;
 *     on_exec keeps it; on_exit forgets it (agent and scope);
 *   - detach and policy removal release processes (nothing followed without a policy);
 *   - a global policy covers the rest, a local one overrides it, clearing it keeps the locals.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull

static bool followed(live_agent_t *a, pid_t pid)
{
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    return live_agent_proc_status(a, pid, &st) == 0;
}

static enum bpfmm_scope_how how(live_agent_t *a, pid_t pid, uint32_t *id)
{
    return bpfmm_scope_policy_of(live_agent_scope(a), pid, id);
}

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "root-owned");
    struct fa_proc *u = fa_proc_add(200, "user-owned");
    u->uid = 1000;
    u->gid = 1000;
    struct fa_proc *all[] = {p, u};
    for (int i = 0; i < 2; i++) {
        fa_vma_add(all[i], BASE, 8ull << 20);
        fa_set(all[i], BASE, 4 * 512, FA_PRESENT);
    }
    struct live_agent_opts o = fa_opts(NULL);
    uint32_t id, id2;
    live_agent_t *a = fa_agent(&o, "default", &id);
    char err[512], path[4096];
    snprintf(path, sizeof(path), "%s/policies/never.bpf.o", test_build_dir());
    CHECK_EQ(live_agent_policy_add(a, "second", path, NULL, 0, &id2, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_policy_add(a, "second", path, NULL, 0, NULL, err, sizeof(err)), -EEXIST);

    struct live_agent_creds root = {0, 0, 0}, user = {0, 1000, 1000}, other = {0, 1001, 1000};
    CHECK_EQ(live_agent_attach(a, id, 100, &user, err, sizeof(err)), -EPERM);
    CHECK_STR_CONTAINS(err, "could not ptrace");
    CHECK(!followed(a, 100));
    CHECK_EQ(live_agent_attach(a, id, 100, &root, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_attach(a, id, 100, &root, err, sizeof(err)), -EBUSY);
    CHECK_EQ(live_agent_attach(a, id2, 100, NULL, err, sizeof(err)), -EBUSY);
    CHECK_EQ(live_agent_attach(a, id, 200, &other, err, sizeof(err)), -EPERM);
    /* the user's own process, but not dumpable: Linux would refuse the user, so do we */
    u->nondumpable = true;
    CHECK_EQ(live_agent_attach(a, id, 200, &user, err, sizeof(err)), -EPERM);
    CHECK_STR_CONTAINS(err, "not dumpable");
    CHECK(!followed(a, 200));
    u->nondumpable = false;
    CHECK_EQ(live_agent_attach(a, id, 200, &user, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_attach(a, id, 999, NULL, err, sizeof(err)), -ESRCH);
    CHECK_EQ(live_agent_attach(a, 77, 100, NULL, err, sizeof(err)), -ENOENT);
    CHECK_EQ(live_agent_attach(a, id, -1, NULL, err, sizeof(err)), -EINVAL);
    CHECK(followed(a, 100) && followed(a, 200));
    fa_run(a, fa.now + 1000000000ull, 1000000);
    CHECK(fa_block_huge(p, BASE) && fa_block_huge(u, BASE));

    /* fork / exec / exit */
    struct fa_proc *c = fa_proc_add(300, "child");
    fa_vma_add(c, BASE, 8ull << 20);
    fa_set(c, BASE, 4 * 512, FA_PRESENT);
    CHECK_EQ(live_agent_on_fork(a, 100, 300, 0), 0);
    uint32_t pid_id = 0;
    CHECK_EQ(how(a, 300, &pid_id), BPFMM_SCOPE_LOCAL);
    CHECK_EQ(pid_id, id);
    CHECK(followed(a, 300));
    CHECK_EQ(live_agent_attach(a, id2, 300, NULL, err, sizeof(err)), -EBUSY); /* inherited */
    CHECK_EQ(live_agent_on_exec(a, 300), 0);
    CHECK_EQ(how(a, 300, NULL), BPFMM_SCOPE_LOCAL);
    fa_run(a, fa.now + 1000000000ull, 1000000);
    CHECK(fa_block_huge(c, BASE));
    /* A fork from an unmanaged process stays unmanaged. */
    struct fa_proc *x = fa_proc_add(400, "unrelated");
    fa_vma_add(x, BASE, 8ull << 20);
    CHECK_EQ(live_agent_on_fork(a, 42, 400, 0), 0);
    CHECK(!followed(a, 400));
    CHECK_EQ(live_agent_on_exit(a, 300), 0);
    CHECK(!followed(a, 300));
    CHECK_EQ(how(a, 300, NULL), BPFMM_SCOPE_NONE);
    CHECK_EQ(live_agent_on_fork(a, -1, 1, 0), -EINVAL);
    CHECK_EQ(live_agent_on_fork(a, 100, 0, 0), -EINVAL);
    /* A child recovered after lost events (parent unknown, 0): the lifecycle already put it in
     * the scope, and the agent starts following it; an unmanaged one stays unfollowed. */
    struct fa_proc *r = fa_proc_add(500, "recovered");
    fa_vma_add(r, BASE, 8ull << 20);
    CHECK_EQ(bpfmm_scope_fork(live_agent_scope(a), 100, 500), 0);
    CHECK(!followed(a, 500));
    CHECK_EQ(live_agent_on_fork(a, 0, 500, 0), 0);
    CHECK(followed(a, 500));
    CHECK_EQ(how(a, 500, &pid_id), BPFMM_SCOPE_LOCAL);
    CHECK_EQ(pid_id, id);
    CHECK_EQ(live_agent_on_exit(a, 500), 0);
    struct fa_proc *u2 = fa_proc_add(501, "stray");
    fa_vma_add(u2, BASE, 8ull << 20);
    CHECK_EQ(live_agent_on_fork(a, 0, 501, 0), 0);
    CHECK(!followed(a, 501));

    /* detach */
    CHECK_EQ(live_agent_detach(a, 100), 0);
    CHECK(!followed(a, 100));
    CHECK_EQ(live_agent_detach(a, 100), -ENOENT);

    /* global: covers 100 and 400 (not the agent itself, pid 1), 200 keeps its local one */
    CHECK_EQ(live_agent_global_set(a, id2, &user, err, sizeof(err)), -EPERM);
    CHECK_EQ(live_agent_global_set(a, id2, &root, err, sizeof(err)), 0);
    fa_run(a, fa.now + 100000000ull, 1000000);
    CHECK(followed(a, 100) && followed(a, 400) && followed(a, 200));
    CHECK_EQ(how(a, 100, &pid_id), BPFMM_SCOPE_GLOBAL);
    CHECK_EQ(pid_id, id2);
    CHECK_EQ(how(a, 200, &pid_id), BPFMM_SCOPE_LOCAL);
    CHECK_EQ(pid_id, id);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.how, BPFMM_SCOPE_GLOBAL);
    CHECK_STR_CONTAINS(st.policy, "second");
    /* a local attach overrides the global */
    CHECK_EQ(live_agent_attach(a, id, 400, NULL, err, sizeof(err)), 0);
    CHECK_EQ(how(a, 400, NULL), BPFMM_SCOPE_LOCAL);
    live_agent_global_clear(a);
    CHECK(!followed(a, 100));
    CHECK(followed(a, 200) && followed(a, 400));

    /* removing a policy releases its processes */
    struct live_agent_policy_info info;
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_EQ(info.nr_procs, 2);
    CHECK_EQ(live_agent_policy_remove(a, id), 0);
    CHECK(!followed(a, 200) && !followed(a, 400));
    CHECK_EQ(live_agent_policy_info(a, id, &info), -ENOENT);
    CHECK_EQ(live_agent_policy_remove(a, id), -ENOENT);
    live_agent_free(a);
    fa_fini();
    return 0;
}
