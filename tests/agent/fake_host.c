/*
 * live_agent_fake_host: the host helpers a policy calls are the agent's - bpfmm_mem_available()
 * is /proc/meminfo's MemAvailable (read on its 1 s clock; 4000000 kB in the fake),
 * bpfmm_sysfs_thp_orders() the probe's enabled orders - and the policy's bpf_printk output
 * reaches the agent's trace callback with the policy's name. rodata knobs given to
 * live_agent_policy_add/update reach the program.
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull
#define MSEC 1000000ull

static unsigned traces;
static char last_policy[64], last_msg[256];

static pid_t last_pid;

static void on_trace(void *arg, const char *policy, pid_t pid, const char *msg)
{
    traces++;
    last_pid = pid;
    snprintf(last_policy, sizeof(last_policy), "%s", policy);
    snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 16ull << 20);
    fa_set(p, BASE, 2 * 512, FA_PRESENT);
    struct live_agent_budget off = {.sz = sizeof(off), .off = true};
    struct live_agent_opts o = fa_opts(&off);
    o.trace = on_trace;
    char err[2048], path[4096];
    live_agent_t *a = live_agent_new(&o, err, sizeof(err));
    CHECK_MSG(a, "%s", err);
    snprintf(path, sizeof(path), "%s/tests/agent/host_probe.bpf.o", test_build_dir());
    const char *need_8g[] = {"min_avail=8589934592"}, *need_1g[] = {"min_avail=1073741824"};
    uint32_t id;
    CHECK_MSG(live_agent_policy_add(a, "probe", path, need_8g, 1, &id, err, sizeof(err)) == 0, "%s",
              err);
    struct live_agent_policy_info info;
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_STR_CONTAINS(info.rodata, "min_avail=8589934592");
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 0); /* 3.8 GiB available < 8 GiB */
    CHECK_GT(traces, 0);
    CHECK_STR_CONTAINS(last_policy, "probe");
    CHECK_EQ(last_pid, 100); /* the line names the process the policy was deciding for */
    CHECK_STR_CONTAINS(last_msg, "avail 4096000000 sysfs 200");
    struct live_agent_status gs = {.sz = sizeof(gs)};
    CHECK_EQ(live_agent_status(a, &gs), 0);
    CHECK_U64_EQ(gs.mem_available, 4000000ull << 10);

    /* With 1 GiB required it collapses - unless sysfs says the PMD order is off. */
    fa_features.thp_orders_enabled = 0;
    CHECK_EQ(live_agent_policy_update(a, id, path, need_1g, 1, err, sizeof(err)), 0);
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK_EQ(fa.ncalls, 0);
    CHECK_STR_CONTAINS(last_msg, "sysfs 0");
    fa_features.thp_orders_enabled = 1u << 9;
    CHECK_EQ(live_agent_policy_update(a, id, NULL, NULL, 0, err, sizeof(err)), 0);
    CHECK_EQ(live_agent_policy_info(a, id, &info), 0);
    CHECK_STR_CONTAINS(info.rodata, "min_avail=1073741824"); /* kept by a plain reload */
    fa_run(a, fa.now + 2000 * MSEC, MSEC);
    CHECK_GT(fa.ncalls, 0);
    CHECK(fa_block_huge(p, BASE) && fa_block_huge(p, BASE + FA_PMD));
    live_agent_free(a);
    fa_fini();
    return 0;
}
