/*
 * The agent's defaults for what the OS layer (os.h) does not cover: listing /proc (a
 * directory read: the table has no getdents entry), the calling thread's CPU clock, our own
 * pid. Tests replace the first two through struct live_agent_opts.
 */
#include "agent_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int agent_sys_list_pids(void *arg, pid_t *pids, size_t cap)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v <= 0 || end == de->d_name)
            continue;
        if (n < cap)
            pids[n] = (pid_t)v;
        n++;
    }
    closedir(d);
    return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

uint64_t agent_sys_cpu_ns(void *arg)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

pid_t agent_sys_self(void)
{
    return getpid();
}
