/* One prepared program run at the same time from several threads and from a signal handler
 * interrupting them: every run gets its own registers and stack (each computes the same result),
 * and atomics on shared global data lose no update (the final counter equals the number of
 * runs). rt_vm_run allocates nothing and takes no lock, so calling it from a handler is safe. */
#include "vm_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#define THREADS 4
#define RUNS    20000

static struct rt_vm_prog *prog;
static struct rt_map *data;
static atomic_long handler_runs, bad_results;
static atomic_int stop;

static void run_once(void)
{
    uint64_t r0 = 0;
    struct bpfmm_rt_fault f;
    int err = rt_vm_run(prog, NULL, 0, NULL, &r0, NULL, &f);
    if (err || r0 != 4950)
        atomic_fetch_add(&bad_results, 1);
}

static void on_signal(int sig)
{
    int saved = errno;
    run_once();
    atomic_fetch_add(&handler_runs, 1);
    errno = saved;
}

static void *worker(void *arg)
{
    for (int k = 0; k < RUNS; k++)
        run_once();
    return NULL;
}

int main(void)
{
    data = vt_map_new(".data", 0, 8, 1, true, false);
    struct rt_map *const ms[] = {data};
    struct vt_env env = {.maps = ms, .nr_maps = 1};
    const struct bpf_insn p[] = {
        LD_MAP_VAL(1, 0, 0),
        MOV64_IMM(2, 1),
        ATOMIC(BPF_DW, RT_ATOMIC_ADD | RT_ATOMIC_FETCH, 1, 2, 0),
        MOV64_IMM(0, 0),
        MOV64_IMM(3, 0),
        /* loop: */ STX(BPF_DW, 10, 3, -8),
        LDX(BPF_DW, 4, 10, -8),
        ALU64_REG(BPF_ADD, 0, 4),
        ALU64_IMM(BPF_ADD, 3, 1),
        JMP_IMM(BPF_JLT, 3, 100, -5),
        EXIT(),
    };
    char log[256];
    prog = vt_prepare_env(p, NINSN(p), &env, log, sizeof(log));
    CHECK_MSG(prog, "%s", log);

    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);

    pthread_t t[THREADS];
    for (int k = 0; k < THREADS; k++)
        CHECK(pthread_create(&t[k], NULL, worker, NULL) == 0);
    /* interrupt the workers (and ourselves) while they run */
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < THREADS; k++)
            pthread_kill(t[k], SIGUSR1);
        raise(SIGUSR1);
        usleep(200);
    }
    for (int k = 0; k < THREADS; k++)
        CHECK(pthread_join(t[k], NULL) == 0);
    signal(SIGUSR1, SIG_IGN);

    long total = (long)THREADS * RUNS + atomic_load(&handler_runs);
    uint64_t counter = __atomic_load_n((uint64_t *)data->global_data, __ATOMIC_SEQ_CST);
    printf("runs %ld (of which %ld in signal handlers), counter %llu, bad %ld\n", total,
           atomic_load(&handler_runs), (unsigned long long)counter, atomic_load(&bad_results));
    CHECK_EQ(atomic_load(&bad_results), 0);
    CHECK_GT(atomic_load(&handler_runs), 0);
    CHECK_EQ(counter, (uint64_t)total);
    (void)stop;
    rt_vm_free(prog);
    vt_map_free(data);
    return 0;
}
