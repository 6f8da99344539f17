/*
 * Slab non-blocking variants: try_alloc returns -EAGAIN (counted as try_busy) instead of waiting
 * while the cache lock is held; free_nolock defers instead of waiting (objs_deferred counts the
 * pending frees) and the next lock holder merges them; deferred objects are not handed out
 * before they are merged, and a deferred object cannot be freed twice. When the cache is free,
 * try_alloc and free_nolock work directly, including growing the cache by a new block through
 * try_alloc_pages, and fail cleanly (-EDQUOT) when the page charge limit stops the growth.
 * Another thread inside the cache (holding one shard) does not make try_alloc fail: it uses
 * another shard.
 */
#include "alloc_test.h"
#include "alloc/alloc_testing.h"

#include <pthread.h>

static bpfmm_slab_t *S;
static pthread_barrier_t bar;

static void *hold_home_shard(void *arg)
{
    (void)arg;
    alloc_testing_slab_lock_home(S);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    alloc_testing_slab_unlock_home(S);
    return NULL;
}

#define N 600

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(1024, 10, true);
    bpfmm_slab_t *s = bpfmm_alloc_slab_create(a, "nb", 100, 0);
    CHECK(s);
    static void *obj[N];
    for (int i = 0; i < N; i++) {
        obj[i] = bpfmm_alloc_slab_try_alloc(s);
        CHECK_MSG(obj[i], "try_alloc %d: %s", i, strerror(errno));
    }
    struct bpfmm_slab_stats ss = {.sz = sizeof(ss)};
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.objs_inuse, N);

    alloc_testing_slab_lock(s);
    errno = 0;
    CHECK(bpfmm_alloc_slab_try_alloc(s) == NULL);
    CHECK_EQ(errno, EAGAIN);
    for (int i = 0; i < N; i += 2)
        CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, obj[i]), 0);
    CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, obj[0]), -EINVAL); /* deferred, not allocated */
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.try_busy, 1);
    CHECK_EQ(ss.objs_deferred, N / 2);
    CHECK_EQ(ss.deferred_frees, N / 2);
    CHECK_EQ(ss.objs_inuse, N / 2);
    CHECK_EQ(ss.bad_free, 1);
    alloc_testing_slab_unlock(s);

    /* The next lock holder merges them: all come back before new blocks are needed. */
    uint64_t pages = ss.pages;
    static void *back[N / 2];
    for (int i = 0; i < N / 2; i++) {
        back[i] = bpfmm_alloc_slab_try_alloc(s);
        CHECK(back[i]);
        int found = 0;
        for (int j = 0; j < N; j += 2)
            found |= back[i] == obj[j];
        CHECK_MSG(found, "object %d is not one of the freed ones", i);
    }
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.objs_deferred, 0);
    CHECK_EQ(ss.pages, pages);
    CHECK_EQ(ss.objs_inuse, N);

    for (int i = 0; i < N / 2; i++)
        CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, back[i]), 0);
    for (int i = 1; i < N; i += 2)
        CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, obj[i]), 0);
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.objs_inuse, 0);
    CHECK_EQ(ss.objs_deferred, 0);

    /* A thread holding its shard of the cache: try_alloc and free_nolock still work. */
    S = s;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, hold_home_shard, NULL), 0);
    pthread_barrier_wait(&bar);
    uint64_t busy0 = ss.try_busy;
    for (int i = 0; i < 100; i++) {
        back[i] = bpfmm_alloc_slab_try_alloc(s);
        CHECK_MSG(back[i], "try_alloc %d failed while one shard was held: %s", i, strerror(errno));
    }
    for (int i = 0; i < 100; i++)
        CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, back[i]), 0);
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.try_busy, busy0);
    pthread_barrier_wait(&bar);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(bpfmm_alloc_slab_free_nolock(s, bpfmm_alloc_slab_try_alloc(s)), 0); /* merges */
    CHECK_EQ(bpfmm_alloc_slab_get_stats(s, &ss), 0);
    CHECK_EQ(ss.objs_inuse, 0);

    /* Growth through try_alloc_pages stops at the charge limit. */
    CHECK_EQ(bpfmm_alloc_set_charge_limit(a, test_stats(a).charged_pages), 0);
    unsigned got = 0;
    static void *more[4096];
    for (;;) {
        void *o = bpfmm_alloc_slab_try_alloc(s);
        if (!o) {
            CHECK_EQ(errno, EDQUOT);
            break;
        }
        CHECK_LT(got, 4096);
        more[got++] = o;
    }
    CHECK_EQ(got, ss.objs_total);
    CHECK_GT(test_stats(a).fail[BPFMM_ALLOC_FAIL_CHARGE], 0);
    for (unsigned i = 0; i < got; i++)
        CHECK_EQ(bpfmm_alloc_slab_free(s, more[i]), 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_slab_destroy(s);
    CHECK_EQ(test_stats(a).charged_pages, 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
