/* One HASH and one LRU_HASH hammered by several threads (host API and a BPF program) while a
 * timer signal handler does lookups, updates and deletes on the same maps from inside whatever
 * the interrupted thread was doing, including holding a bucket lock. Checks:
 *   - a lookup of key k only ever returns a value written for k (no torn or foreign values);
 *   - a thread's own keys hold exactly what it last wrote (nobody else writes them);
 *   - updates fail only with -EBUSY (never corruption), lookups never block;
 *   - at the end the map holds exactly the keys the writers believe present, and the LRU
 *     never more than max_entries.
 * Labelled "concurrent": the TSan build runs it. */
#include "elf_common.h"

#include "elf_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

#define THREADS   3
#define KEYS      200 /* per thread */
#define ROUNDS    100000
#define SIG_BASE  100000u
#define SIG_KEYS  64
#define PROG_BASE 200000u

static bpfmm_rt_map_t *hash, *lru;
static bpfmm_rt_prog_t *prog;
static atomic_bool stop;
static atomic_ulong busy, sig_ops, lru_bad;
static bool sig_present[SIG_KEYS];
static uint64_t sig_vals[SIG_KEYS];
static volatile sig_atomic_t sig_failed;
static atomic_flag in_handler = ATOMIC_FLAG_INIT;

static uint64_t mkval(uint32_t k, uint32_t seq)
{
    return (uint64_t)k << 32 | seq;
}

static void sig_fail(const char *msg)
{
    sig_failed = 1;
    ssize_t r = write(2, msg, strlen(msg));
    (void)r;
}

/* The handler owns keys SIG_BASE..SIG_BASE+SIG_KEYS-1 (only it writes them). */
static void on_timer(int sig)
{
    static uint32_t seq;
    if (atomic_flag_test_and_set(&in_handler))
        return; /* the handler's bookkeeping is not reentrant; the maps are */
    int saved = errno;
    for (int i = 0; i < 8; i++) {
        uint32_t idx = (seq * 7 + (uint32_t)i) % SIG_KEYS, k = SIG_BASE + idx;
        uint64_t v;
        int err = bpfmm_rt_map_lookup(hash, &k, &v);
        if (err == 0 && (!sig_present[idx] || v != sig_vals[idx]))
            sig_fail("handler: lookup returned a value it never wrote\n");
        if (err == -ENOENT && sig_present[idx])
            sig_fail("handler: its key vanished\n");
        if (seq % 3 == 0 && sig_present[idx]) {
            err = bpfmm_rt_map_delete(hash, &k);
            if (err == 0)
                sig_present[idx] = false;
            else if (err != -EBUSY)
                sig_fail("handler: delete failed\n");
        } else {
            v = mkval(k, ++seq);
            err = bpfmm_rt_map_update(hash, &k, &v, 0);
            if (err == 0) {
                sig_present[idx] = true;
                sig_vals[idx] = v;
            } else if (err != -EBUSY) {
                sig_fail("handler: update failed\n");
            } else {
                atomic_fetch_add(&busy, 1);
            }
        }
        /* The LRU too: any value found must belong to its key. */
        uint32_t lk = seq % 500;
        if (bpfmm_rt_map_lookup(lru, &lk, &v) == 0 && v >> 32 != lk)
            sig_fail("handler: LRU value of another key\n");
        v = mkval(lk, seq);
        bpfmm_rt_map_update(lru, &lk, &v, 0);
    }
    atomic_fetch_add(&sig_ops, 1);
    errno = saved;
    atomic_flag_clear(&in_handler);
}

static void *worker(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    bool present[KEYS] = {0};
    uint64_t vals[KEYS] = {0};
    uint64_t rng = 88172645463325252ull + t;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint32_t idx = (uint32_t)(rng % KEYS), k = t * 1000 + idx;
        uint64_t v;
        switch (rng >> 32 & 3) {
        case 0:
        case 1:
            v = mkval(k, r);
            for (;;) {
                int err = bpfmm_rt_map_update(hash, &k, &v, 0);
                if (err == -EBUSY) {
                    atomic_fetch_add(&busy, 1);
                    continue;
                }
                CHECK_EQ(err, 0);
                break;
            }
            present[idx] = true;
            vals[idx] = v;
            break;
        case 2:
            for (;;) {
                int err = bpfmm_rt_map_delete(hash, &k);
                if (err == -EBUSY) {
                    atomic_fetch_add(&busy, 1);
                    continue;
                }
                CHECK_EQ(err, present[idx] ? 0 : -ENOENT);
                break;
            }
            present[idx] = false;
            break;
        default: {
            int err = bpfmm_rt_map_lookup(hash, &k, &v);
            CHECK_EQ(err, present[idx] ? 0 : -ENOENT);
            if (!err)
                CHECK_U64_EQ(v, vals[idx]);
            /* Someone else's key: the value must be that key's. */
            uint32_t other = (t + 1) % THREADS * 1000 + idx;
            if (bpfmm_rt_map_lookup(hash, &other, &v) == 0)
                CHECK_EQ(v >> 32, other);
            break;
        }
        }
        /* LRU: heavy eviction; values always belong to their key. */
        uint32_t lk = (uint32_t)(rng >> 40) % 500;
        v = mkval(lk, r);
        int err = bpfmm_rt_map_update(lru, &lk, &v, 0);
        CHECK_MSG(err == 0 || err == -EBUSY, "LRU update: %d", err);
        if (bpfmm_rt_map_lookup(lru, &lk, &v) == 0 && v >> 32 != lk)
            atomic_fetch_add(&lru_bad, 1);
    }
    /* The final state of this thread's keys. */
    for (uint32_t idx = 0; idx < KEYS; idx++) {
        uint32_t k = t * 1000 + idx;
        uint64_t v;
        int err = bpfmm_rt_map_lookup(hash, &k, &v);
        CHECK_EQ(err, present[idx] ? 0 : -ENOENT);
        if (!err)
            CHECK_U64_EQ(v, vals[idx]);
    }
    return (void *)(uintptr_t)0;
}

/* A program doing the same through the BPF helpers on its own keys. */
static void *prog_worker(void *arg)
{
    struct elf_test_ctx c;
    for (uint32_t r = 0; !atomic_load(&stop); r++) {
        uint32_t k = PROG_BASE + r % 50;
        memset(&c, 0, sizeof(c));
        c.map = MAP_HASH;
        c.key = k;
        c.op = r % 3 == 2 ? OP_DELETE : OP_UPDATE;
        c.value = mkval(k, r);
        uint64_t ret;
        struct bpfmm_rt_fault f;
        int err = bpfmm_rt_prog_run(prog, &c, sizeof(c), NULL, &ret, &f);
        CHECK_MSG(err == 0, "program faulted: %s", f.msg);
        CHECK_MSG(c.result == 0 || c.result == -EBUSY || c.result == -ENOENT, "result %lld",
                  (long long)c.result);
        c.op = OP_LOOKUP;
        c.map = MAP_LRU;
        c.key = r % 500;
        CHECK_EQ(bpfmm_rt_prog_run(prog, &c, sizeof(c), NULL, &ret, &f), 0);
    }
    return NULL;
}

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("concurrent");
    char log[1024] = "";
    int err = elf_load(obj, sizeof(struct elf_test_ctx), NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    hash = bpfmm_rt_obj_find_map(obj, "hash");
    lru = bpfmm_rt_obj_find_map(obj, "lru");
    prog = bpfmm_rt_obj_find_prog(obj, "map_ops");
    CHECK(hash && lru && prog);

    struct sigaction sa = {.sa_handler = on_timer};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_interval = {0, 200}, .it_value = {0, 200}};
    CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);

    pthread_t th[THREADS], pt;
    CHECK_EQ(pthread_create(&pt, NULL, prog_worker, NULL), 0);
    for (unsigned t = 0; t < THREADS; t++)
        CHECK_EQ(pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t), 0);
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&stop, true);
    pthread_join(pt, NULL);
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN);

    CHECK_EQ(sig_failed, 0);
    CHECK_EQ(atomic_load(&lru_bad), 0);
    CHECK_GT(atomic_load(&sig_ops), 0);
    /* The LRU never exceeds max_entries. */
    unsigned n = 0;
    uint32_t key, next;
    const void *prev = NULL;
    while (bpfmm_rt_map_next_key(lru, prev, &next) == 0 && n < 1000) {
        n++;
        key = next;
        prev = &key;
    }
    CHECK_LE(n, 64);
    CHECK_GT(n, 0);
    /* The handler's keys are exactly as it believes. */
    for (uint32_t i = 0; i < SIG_KEYS; i++) {
        uint32_t k = SIG_BASE + i;
        uint64_t v;
        err = bpfmm_rt_map_lookup(hash, &k, &v);
        CHECK_EQ(err, sig_present[i] ? 0 : -ENOENT);
        if (!err)
            CHECK_U64_EQ(v, sig_vals[i]);
    }
    printf("signal handler ran %lu times; %lu -EBUSY retries; lru holds %u\n",
           atomic_load(&sig_ops), atomic_load(&busy), n);
    bpfmm_rt_obj_close(obj);
    return 0;
}
