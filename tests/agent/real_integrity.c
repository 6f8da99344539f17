/*
 * live_agent_integrity: the target fills its memory with a pattern, the engine collapses
 * everything (default budget), and the target verifies every byte - on demand (SIGUSR1) and
 * at exit. Full and sparse regions ("always" fills a sparse range's holes with zeroes, which
 * the workload also checks).
 */
#include "agent_test.h"

struct ctx {
    struct workload *w;
};

static bool done(void *arg)
{
    struct ctx *c = arg;
    return at_huge_bytes(c->w->pid, c->w->addr, c->w->size) == c->w->size;
}

static void run(const char *size, bool sparse)
{
    struct workload w;
    if (sparse)
        workload_start(&w, "--size", size, "--sparse", "--pattern", "--hold", NULL);
    else
        workload_start(&w, "--size", size, "--pattern", "--hold", NULL);
    struct live_agent_opts o = {0};
    uint32_t id;
    live_agent_t *a = at_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, w.pid, NULL, NULL, 0), 0);
    struct ctx c = {&w};
    CHECK_MSG(at_run(a, 60, done, &c), "not everything was collapsed");
    char line[512];
    kill(w.pid, SIGUSR1);
    workload_line(&w, line, sizeof(line));
    CHECK_MSG(!strncmp(line, "verify ok", 9), "after the collapse: %s", line);
    CHECK_EQ(kv_u64(line, "bytes"), w.size);
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, w.pid, &st), 0);
    CHECK_GE(st.c.collapse_bytes, w.size); /* an ASan-built target has more */
    live_agent_free(a);
    kill(w.pid, SIGTERM);
    workload_line(&w, line, sizeof(line));
    CHECK_MSG(!strncmp(line, "verify ok", 9), "at exit: %s", line);
    CHECK_EQ(workload_stop(&w), 0);
}

int main(void)
{
    at_require("collapses a workload's memory");
    run(AT_ASAN ? "128M" : "512M", false);
    run("64M", true);
    return 0;
}
