/*
 * Built-in helpers (Linux numbering) and their prototypes, which the verifier checks every call
 * against. Map helpers go through the map's ops (rt_map.h); the others read the clock, a
 * per-thread generator, or the per-run environment. All are async-signal-safe.
 * trace_printk's formatter lives in rt_helpers_printk.c. Owns no verification logic.
 */
#include "rt_helpers.h"
#include "rt_interp.h"
#include "rt_map.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t h_map_lookup(struct rt_run *run, uint64_t map, uint64_t key, uint64_t a3,
                             uint64_t a4, uint64_t a5)
{
    struct rt_map *m = (struct rt_map *)(uintptr_t)map;
    return (uintptr_t)m->ops->lookup(m, (const void *)(uintptr_t)key);
}

static uint64_t h_map_update(struct rt_run *run, uint64_t map, uint64_t key, uint64_t value,
                             uint64_t flags, uint64_t a5)
{
    struct rt_map *m = (struct rt_map *)(uintptr_t)map;
    if (!m->ops->update)
        return (uint64_t)(int64_t)-EINVAL;
    return (uint64_t)(int64_t)m->ops->update(m, (const void *)(uintptr_t)key,
                                             (const void *)(uintptr_t)value, flags);
}

static uint64_t h_map_delete(struct rt_run *run, uint64_t map, uint64_t key, uint64_t a3,
                             uint64_t a4, uint64_t a5)
{
    struct rt_map *m = (struct rt_map *)(uintptr_t)map;
    if (!m->ops->delete)
        return (uint64_t)(int64_t)-EINVAL;
    return (uint64_t)(int64_t)m->ops->delete (m, (const void *)(uintptr_t)key);
}

static uint64_t h_ktime_get_ns(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                               uint64_t a4, uint64_t a5)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t h_ktime_get_boot_ns(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                    uint64_t a4, uint64_t a5)
{
    return clock_ns(CLOCK_BOOTTIME);
}

static uint64_t h_ktime_get_coarse_ns(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                      uint64_t a4, uint64_t a5)
{
    return clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* Per-thread xorshift64*; initial-exec TLS so a signal handler never allocates it. */
static __thread uint64_t prandom_state __attribute__((tls_model("initial-exec")));

static uint64_t h_get_prandom_u32(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                  uint64_t a4, uint64_t a5)
{
    uint64_t x = prandom_state;
    if (!x) {
        uintptr_t here = (uintptr_t)&x;
        x = clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)here << 16) ^ 0x9e3779b97f4a7c15ull;
        if (!x)
            x = 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    prandom_state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static uint64_t h_get_smp_processor_id(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                       uint64_t a4, uint64_t a5)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : (uint64_t)cpu;
}

static bool env_has(const struct bpfmm_rt_run_env *env, size_t end)
{
    return env && env->sz >= end;
}

static uint64_t h_get_current_pid_tgid(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                       uint64_t a4, uint64_t a5)
{
    const struct bpfmm_rt_run_env *env = run->env;
    if (!env_has(env, offsetof(struct bpfmm_rt_run_env, pid_tgid) + sizeof(env->pid_tgid)))
        return 0;
    return env->pid_tgid;
}

/* The verifier proved buf writable for size bytes. */
static uint64_t h_get_current_comm(struct rt_run *run, uint64_t buf, uint64_t size, uint64_t a3,
                                   uint64_t a4, uint64_t a5)
{
    char *out = (char *)(uintptr_t)buf;
    const struct bpfmm_rt_run_env *env = run->env;
    const char *comm = NULL;
    if (env_has(env, offsetof(struct bpfmm_rt_run_env, comm) + sizeof(env->comm)))
        comm = env->comm;
    memset(out, 0, size);
    if (!comm)
        return (uint64_t)(int64_t)-EINVAL;
    for (uint64_t i = 0; i + 1 < size && comm[i]; i++)
        out[i] = comm[i];
    return 0;
}

static uint64_t h_trace_printk(struct rt_run *run, uint64_t fmt, uint64_t fmt_size, uint64_t a1,
                               uint64_t a2, uint64_t a3)
{
    const struct rt_vm_prog *p = run->prog;
    char out[256];
    const char *why = NULL;
    uint64_t args[3] = {a1, a2, a3};
    int err = rt_trace_format(run, (const char *)(uintptr_t)fmt, (uint32_t)fmt_size, args, out,
                              sizeof(out), &why);
    if (err) {
        struct rt_buf b = rt_buf_init(run->fault.msg, sizeof(run->fault.msg));
        rt_buf_str(&b, "bpf_trace_printk: ");
        rt_buf_str(&b, why);
        run->faulted = true;
        run->fault.kind = BPFMM_RT_FAULT_HELPER;
        run->fault.insn = run->insn;
        return (uint64_t)(int64_t)err;
    }
    if (p->trace)
        p->trace(p->host, p->name, out);
    return strlen(out);
}

#define A(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
static const struct rt_helper_proto builtins[] = {
    {BPF_FUNC_map_lookup_elem, "bpf_map_lookup_elem", RT_RET_MAP_VALUE_OR_NULL, 2,
     A(RT_ARG_MAP, RT_ARG_MAP_KEY), false, h_map_lookup},
    {BPF_FUNC_map_update_elem, "bpf_map_update_elem", RT_RET_SCALAR, 4,
     A(RT_ARG_MAP, RT_ARG_MAP_KEY, RT_ARG_MAP_VALUE, RT_ARG_SCALAR), true, h_map_update},
    {BPF_FUNC_map_delete_elem, "bpf_map_delete_elem", RT_RET_SCALAR, 2,
     A(RT_ARG_MAP, RT_ARG_MAP_KEY), true, h_map_delete},
    {BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns", RT_RET_SCALAR, 0, A(0), false, h_ktime_get_ns},
    {BPF_FUNC_trace_printk, "bpf_trace_printk", RT_RET_SCALAR, 5,
     A(RT_ARG_MEM, RT_ARG_SIZE, RT_ARG_ANY, RT_ARG_ANY, RT_ARG_ANY), false, h_trace_printk},
    {BPF_FUNC_get_prandom_u32, "bpf_get_prandom_u32", RT_RET_SCALAR, 0, A(0), false,
     h_get_prandom_u32},
    {BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id", RT_RET_SCALAR, 0, A(0), false,
     h_get_smp_processor_id},
    {BPF_FUNC_get_current_pid_tgid, "bpf_get_current_pid_tgid", RT_RET_SCALAR, 0, A(0), false,
     h_get_current_pid_tgid},
    {BPF_FUNC_get_current_comm, "bpf_get_current_comm", RT_RET_SCALAR, 2,
     A(RT_ARG_MEM_OUT, RT_ARG_SIZE), false, h_get_current_comm},
    {BPF_FUNC_ktime_get_boot_ns, "bpf_ktime_get_boot_ns", RT_RET_SCALAR, 0, A(0), false,
     h_ktime_get_boot_ns},
    {BPF_FUNC_ktime_get_coarse_ns, "bpf_ktime_get_coarse_ns", RT_RET_SCALAR, 0, A(0), false,
     h_ktime_get_coarse_ns},
};

const struct rt_helper_proto *rt_helper_builtin(uint32_t id)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (builtins[i].id == id)
            return &builtins[i];
    return NULL;
}

bool rt_helper_scalar_only(const struct rt_helper_proto *h)
{
    for (unsigned i = 0; i < h->nargs; i++)
        if (h->args[i] != RT_ARG_SCALAR)
            return false;
    return h->ret == RT_RET_SCALAR;
}

/* Linux helpers a policy author might reach for, named in "not supported" messages. */
static const struct {
    uint32_t id;
    const char *name;
} linux_names[] = {
    {4, "bpf_probe_read"},
    {9, "bpf_skb_store_bytes"},
    {12, "bpf_tail_call"},
    {13, "bpf_clone_redirect"},
    {15, "bpf_get_current_uid_gid"},
    {25, "bpf_perf_event_output"},
    {27, "bpf_get_stackid"},
    {35, "bpf_get_current_task"},
    {45, "bpf_probe_read_str"},
    {51, "bpf_redirect_map"},
    {87, "bpf_spin_lock"},
    {88, "bpf_spin_unlock"},
    {112, "bpf_probe_read_user"},
    {113, "bpf_probe_read_kernel"},
    {114, "bpf_probe_read_user_str"},
    {115, "bpf_probe_read_kernel_str"},
    {118, "bpf_jiffies64"},
    {130, "bpf_ringbuf_output"},
    {131, "bpf_ringbuf_reserve"},
    {164, "bpf_for_each_map_elem"},
    {165, "bpf_snprintf"},
    {181, "bpf_loop"},
};

const char *rt_helper_linux_name(uint32_t id)
{
    for (size_t i = 0; i < sizeof(linux_names) / sizeof(linux_names[0]); i++)
        if (linux_names[i].id == id)
            return linux_names[i].name;
    return NULL;
}

void rt_run_fault(struct rt_run *run, enum bpfmm_rt_fault_kind kind, const char *msg)
{
    struct rt_buf b = rt_buf_init(run->fault.msg, sizeof(run->fault.msg));
    rt_buf_str(&b, msg);
    run->faulted = true;
    run->fault.kind = kind;
    run->fault.insn = run->insn;
}
