/*
 * scope_concurrent_lookup: lookups on several threads run while another thread updates the
 * policy, attaches, forks and exits processes. Every lookup must see a consistent, live
 * program (its version's tag matches the version number reported, and it has not been
 * released), versions seen by one thread never go backwards, and every program is released
 * exactly once after the run. Run under TSan (label concurrent).
 */
#include "scope_test.h"

#include <pthread.h>
#include <sched.h>

#define NR_VERSIONS 2000
#define NR_READERS  3
#define NR_PROCS    64

static struct fake_prog progs[NR_VERSIONS + 1];
static bpfmm_scope_t *scope;
static uint32_t pol;
static atomic_int done;
static atomic_long lookups;

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    uint64_t last_version = 0;
    while (!atomic_load(&done)) {
        seed = seed * 1103515245u + 12345u;
        int32_t tgid = 1 + (int32_t)((seed >> 8) % NR_PROCS);
        struct bpfmm_scope_ref ref;
        int err = bpfmm_scope_lookup(scope, tgid, &ref);
        if (err == -ENOENT)
            continue; /* tgid between exit and re-fork: unmanaged, fine */
        CHECK_EQ(err, 0);
        struct fake_prog *p = ref.prog;
        /* The handle is the one installed as that version and is still alive. */
        CHECK(p == &progs[ref.version]);
        CHECK_EQ(atomic_load(&p->released), 0);
        CHECK_GE(ref.version, last_version);
        last_version = ref.version;
        bpfmm_scope_ref_put(&ref);
        atomic_fetch_add(&lookups, 1);
    }
    return NULL;
}

int main(void)
{
    scope = bpfmm_scope_new(NULL);
    CHECK(scope);
    for (unsigned i = 0; i <= NR_VERSIONS; i++)
        progs[i].tag = "v";
    pol = make_policy(scope, "P", &progs[1]);
    for (int32_t t = 1; t <= NR_PROCS / 2; t++)
        CHECK_EQ(bpfmm_scope_attach(scope, pol, t), 0);
    for (int32_t t = NR_PROCS / 2 + 1; t <= NR_PROCS; t++)
        CHECK_EQ(bpfmm_scope_fork(scope, t - NR_PROCS / 2, t), 0);

    pthread_t th[NR_READERS];
    for (uintptr_t i = 0; i < NR_READERS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, reader, (void *)(i + 1)), 0);

    /* Start updating only once every reader is looking up, so the two really overlap. */
    while (atomic_load(&lookups) < 100 * NR_READERS)
        sched_yield();
    long before = atomic_load(&lookups);
    for (unsigned v = 2; v <= NR_VERSIONS; v++) {
        if (v % 16 == 0)
            sched_yield();
        CHECK_EQ(bpfmm_scope_policy_update(scope, pol, &progs[v], fake_release, &progs[v]), 0);
        /* Churn the process table too: an inherited child exits and is forked again. */
        int32_t child = NR_PROCS / 2 + 1 + (int32_t)(v % (NR_PROCS / 2));
        CHECK_EQ(bpfmm_scope_exit(scope, child), 0);
        CHECK_EQ(bpfmm_scope_fork(scope, child - NR_PROCS / 2, child), 0);
        /* Earlier versions have been released unless a reader still holds them. */
        if (v > 100)
            CHECK_LE(atomic_load(&progs[v - 100].released), 1);
    }
    long during = atomic_load(&lookups) - before;
    /* Let the readers see the last version for a moment. */
    long after = atomic_load(&lookups);
    while (atomic_load(&lookups) < after + 100)
        sched_yield();
    atomic_store(&done, 1);
    for (unsigned i = 0; i < NR_READERS; i++)
        CHECK_EQ(pthread_join(th[i], NULL), 0);

    CHECK_EQ(bpfmm_scope_policy_procs(scope, pol, NULL, 0), NR_PROCS);
    for (unsigned v = 1; v < NR_VERSIONS; v++)
        CHECK_EQ(atomic_load(&progs[v].released), 1);
    CHECK_EQ(atomic_load(&progs[NR_VERSIONS].released), 0);
    bpfmm_scope_free(scope);
    for (unsigned v = 1; v <= NR_VERSIONS; v++)
        CHECK_EQ(atomic_load(&progs[v].released), 1);
    printf("%ld lookups, %ld of them during %d updates\n", atomic_load(&lookups), during,
           NR_VERSIONS - 1);
    return 0;
}
