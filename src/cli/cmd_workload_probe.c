/*
 * The fault probe of `bpfmm workload`: threads that keep faulting fresh 4 KiB pages in a 2 MiB
 * block - one in the region's VMA, one in a VMA of its own as the control - and report the
 * worst fault per interval. It measures what a collapse's mmap write lock costs a target's
 * faults. The region and the blocks are set up by cmd_workload.c; this file owns the threads.
 */
#include "cli.h"
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Faults page 1, 2, ... WL_PROBE_PAGES of the probe block one at a time (each the first
 * write to an absent page: a real anonymous fault), then zaps them and starts over. Only the
 * write is timed: that is the fault a target's thread would wait for. */
static void *probe_main(void *arg)
{
    struct probe *pr = arg;
    struct wl *w = pr->w;
    struct timespec nap = {.tv_sec = w->probe_us / 1000000u,
                           .tv_nsec = (long)(w->probe_us % 1000000u) * 1000};
    uint64_t last = mono_ns(), max_ns = 0, faults = 0;
    unsigned i = 1;
    while (!atomic_load_explicit(&w->probe_stop, memory_order_relaxed)) {
        volatile char *p = pr->block + (uint64_t)i * WL_PAGE;
        uint64_t t0 = mono_ns();
        *p = 1;
        uint64_t t1 = mono_ns();
        if (t1 - t0 > max_ns)
            max_ns = t1 - t0;
        faults++;
        if (++i > WL_PROBE_PAGES) {
            madvise(pr->block + WL_PAGE, WL_PROBE_PAGES * WL_PAGE, MADV_DONTNEED);
            i = 1;
        }
        if (w->report_ms && (t1 - last) >= (uint64_t)w->report_ms * 1000000u) {
            printf("probe mono=%.3f dt=%.3f faults=%" PRIu64 " max_us=%.1f vma=%s\n",
                   (double)t1 / 1e9, (double)(t1 - last) / 1e9, faults, (double)max_ns / 1e3,
                   pr->vma);
            fflush(stdout);
            last = t1;
            max_ns = faults = 0;
        }
        nanosleep(&nap, NULL);
    }
    return NULL;
}

void wl_probe_stop(struct wl *w)
{
    atomic_store(&w->probe_stop, true);
    for (int i = 0; i < 2; i++)
        if (w->probes[i].started)
            pthread_join(w->probes[i].thread, NULL);
}

/* Starts the probes - in the region's VMA and, as a control, in a VMA of its own - with the
 * handled signals blocked, so that they reach the main thread. They run SCHED_FIFO when
 * allowed (root): they sleep between faults, so it costs nothing, and a woken fault then runs
 * at once - what is measured is the fault, not a wait for a CPU on a busy machine. */
int wl_probe_start(struct wl *w)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_attr_t attr;
    struct sched_param sp = {.sched_priority = 1};
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
    pthread_attr_setschedparam(&attr, &sp);
    int err = 0;
    w->probe_rt = true;
    for (int i = 0; i < 2 && !err; i++) {
        struct probe *pr = &w->probes[i];
        err = pthread_create(&pr->thread, w->probe_rt ? &attr : NULL, probe_main, pr);
        if (err == EPERM && w->probe_rt) {
            w->probe_rt = false;
            err = pthread_create(&pr->thread, NULL, probe_main, pr);
        }
        pr->started = err == 0;
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        cli_error("workload: cannot start the fault probe threads: %s", strerror(err));
        wl_probe_stop(w);
        return -1;
    }
    return 0;
}
