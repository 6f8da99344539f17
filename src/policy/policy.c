/*
 * The THP hook (include/bpfmm/policy.h): opening a policy object, loading it with the
 * bpfmm_thp_ctx description and bpfmm's helpers, and evaluating it with seed 000's fallback
 * rule. Owns the hook's semantics; the ctx field table lives in ctx.c, name resolution in
 * resolve.c, and everything about BPF execution in src/runtime.
 */
#include <bpfmm/policy.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bpfmm_policy {
    char name[64];
    char path[4096];
    bpfmm_rt_obj_t *obj;
    bpfmm_rt_prog_t *prog;
    struct bpfmm_policy_host host;
    _Atomic uint64_t calls, faults;
    _Atomic uint32_t last_fault_insn;
    _Atomic uint64_t last_fault_log_ns;
};

__attribute__((format(printf, 3, 4))) static void logf_(char *buf, size_t size, const char *fmt,
                                                        ...)
{
    if (!buf || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

static uint64_t helper_mem_available(void *host, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                     uint64_t a5)
{
    const struct bpfmm_policy *p = host;
    return p->host.mem_available ? p->host.mem_available(p->host.arg) : 0;
}

static uint64_t helper_sysfs_thp_orders(void *host, uint64_t a1, uint64_t a2, uint64_t a3,
                                        uint64_t a4, uint64_t a5)
{
    const struct bpfmm_policy *p = host;
    return p->host.sysfs_thp_orders ? p->host.sysfs_thp_orders(p->host.arg) : 0;
}

static const struct bpfmm_rt_helper policy_helpers[] = {
    {BPFMM_HELPER_MEM_AVAILABLE, "bpfmm_mem_available", 0, helper_mem_available},
    {BPFMM_HELPER_SYSFS_THP_ORDERS, "bpfmm_sysfs_thp_orders", 0, helper_sysfs_thp_orders},
};

static void policy_trace(void *host, const char *prog, const char *msg)
{
    const struct bpfmm_policy *p = host;
    if (p->host.trace)
        p->host.trace(p->host.arg, p->name, msg);
}

/* The base name without directory and without ".bpf.o" / ".o". */
static void policy_set_name(struct bpfmm_policy *p, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strnlen(base, sizeof(p->name) - 1);
    memcpy(p->name, base, n);
    p->name[n] = '\0';
    if (n > 6 && !strcmp(p->name + n - 6, ".bpf.o"))
        p->name[n - 6] = '\0';
    else if (n > 2 && !strcmp(p->name + n - 2, ".o"))
        p->name[n - 2] = '\0';
}

static int policy_find_prog(struct bpfmm_policy *p, char *log, size_t log_size)
{
    unsigned found = 0;
    for (unsigned i = 0; i < bpfmm_rt_obj_prog_count(p->obj); i++) {
        bpfmm_rt_prog_t *prog = bpfmm_rt_obj_prog(p->obj, i);
        if (!strcmp(bpfmm_rt_prog_section(prog), BPFMM_THP_SECTION)) {
            if (!found)
                p->prog = prog;
            found++;
        }
    }
    if (found == 1)
        return 0;
    if (!found)
        logf_(log, log_size,
              "%s: no program in SEC(\"%s\"); a THP policy is one function in that section",
              p->path, BPFMM_THP_SECTION);
    else
        logf_(log, log_size,
              "%s: %u programs in SEC(\"%s\"); a THP policy object holds exactly one", p->path,
              found, BPFMM_THP_SECTION);
    return -EINVAL;
}

bpfmm_policy_t *bpfmm_policy_open(const char *name_or_path, const struct bpfmm_policy_opts *opts)
{
    static const struct bpfmm_policy_opts no_opts = {.sz = sizeof(no_opts)};
    if (!opts)
        opts = &no_opts;
    char *log = opts->log_buf;
    size_t log_size = opts->log_size;
    if (log && log_size)
        log[0] = '\0';
    if (!name_or_path || !*name_or_path) {
        logf_(log, log_size, "no policy given: name a shipped policy or a .bpf.o file");
        errno = EINVAL;
        return NULL;
    }

    struct bpfmm_policy *p = calloc(1, sizeof(*p));
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    if (opts->host)
        memcpy(&p->host, opts->host,
               opts->host->sz && opts->host->sz < sizeof(p->host) ? opts->host->sz
                                                                  : sizeof(p->host));

    int err = bpfmm_policy_resolve(name_or_path, p->path, sizeof(p->path));
    if (err) {
        char names[32][64];
        unsigned n = bpfmm_policy_list_shipped(names, 32);
        char list[1024] = "";
        size_t len = 0;
        for (unsigned i = 0; i < n && len < sizeof(list); i++)
            len +=
                (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
        logf_(log, log_size,
              "policy '%s' not found: not a readable file, and not a shipped policy (%s)",
              name_or_path, n ? list : "none found; set BPFMM_POLICY_DIR");
        free(p);
        errno = -err;
        return NULL;
    }
    policy_set_name(p, p->path);

    struct bpfmm_rt_open_opts oo = {
        .sz = sizeof(oo), .name = p->name, .log_buf = log, .log_size = log_size};
    p->obj = bpfmm_rt_obj_open_file(p->path, &oo);
    if (!p->obj) {
        err = -errno;
        goto fail;
    }
    for (unsigned i = 0; i < opts->nr_rodata; i++) {
        char knob[128];
        const char *eq = strchr(opts->rodata[i], '=');
        if (!eq || eq == opts->rodata[i] || (size_t)(eq - opts->rodata[i]) >= sizeof(knob)) {
            logf_(log, log_size, "--rodata '%s': expected KNOB=VALUE", opts->rodata[i]);
            err = -EINVAL;
            goto fail;
        }
        memcpy(knob, opts->rodata[i], (size_t)(eq - opts->rodata[i]));
        knob[eq - opts->rodata[i]] = '\0';
        err = bpfmm_rt_obj_set_rodata(p->obj, knob, eq + 1, log, log_size);
        if (err)
            goto fail;
    }
    struct bpfmm_rt_load_opts lo = {
        .sz = sizeof(lo),
        .ctx = bpfmm_policy_ctx_desc(),
        .insn_budget = opts->insn_budget,
        .helpers = policy_helpers,
        .nr_helpers = sizeof(policy_helpers) / sizeof(policy_helpers[0]),
        .host = p,
        .trace = policy_trace,
        .log_buf = log,
        .log_size = log_size,
    };
    err = bpfmm_rt_obj_load(p->obj, &lo);
    if (err)
        goto fail;
    err = policy_find_prog(p, log, log_size);
    if (err)
        goto fail;
    return p;

fail:
    if (p->obj)
        bpfmm_rt_obj_close(p->obj);
    free(p);
    errno = -err;
    return NULL;
}

void bpfmm_policy_close(bpfmm_policy_t *p)
{
    if (!p)
        return;
    bpfmm_rt_obj_close(p->obj);
    free(p);
}

const char *bpfmm_policy_name(const bpfmm_policy_t *p)
{
    return p->name;
}

const char *bpfmm_policy_path(const bpfmm_policy_t *p)
{
    return p->path;
}

bpfmm_rt_obj_t *bpfmm_policy_obj(const bpfmm_policy_t *p)
{
    return p->obj;
}

bpfmm_rt_prog_t *bpfmm_policy_prog(const bpfmm_policy_t *p)
{
    return p->prog;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Default fault report: one line per second at most, so a policy that faults on every call
 * cannot flood the log (the counter still counts every fault). */
static void policy_log_fault(struct bpfmm_policy *p, const struct bpfmm_rt_fault *f)
{
    uint64_t now = mono_ns(),
             last = atomic_load_explicit(&p->last_fault_log_ns, memory_order_relaxed);
    if (last && now - last < 1000000000ull)
        return;
    if (!atomic_compare_exchange_strong(&p->last_fault_log_ns, &last, now))
        return;
    fprintf(stderr,
            "bpfmm: policy %s faulted at insn %u: %s (answering the candidate orders; %llu "
            "faults so far)\n",
            p->name, f->insn, f->msg,
            (unsigned long long)atomic_load_explicit(&p->faults, memory_order_relaxed));
}

uint64_t bpfmm_policy_get_orders(bpfmm_policy_t *p, const struct bpfmm_thp_ctx *ctx)
{
    uint64_t ret = 0;
    struct bpfmm_rt_fault fault;

    atomic_fetch_add_explicit(&p->calls, 1, memory_order_relaxed);
    /* get_current_pid_tgid / get_current_comm report the process the question is about. */
    char comm[BPFMM_COMM_LEN + 1];
    memcpy(comm, ctx->comm, BPFMM_COMM_LEN);
    comm[BPFMM_COMM_LEN] = '\0';
    struct bpfmm_rt_run_env env = {
        .sz = sizeof(env), .pid_tgid = (uint64_t)ctx->tgid << 32 | ctx->pid, .comm = comm};

    /* The runtime never writes a read-only ctx; the cast only satisfies its generic API. */
    int err = bpfmm_rt_prog_run(p->prog, (void *)ctx, sizeof(*ctx), &env, &ret, &fault);
    if (err) {
        atomic_fetch_add_explicit(&p->faults, 1, memory_order_relaxed);
        if (err == -EFAULT) { /* only then is `fault` filled in */
            atomic_store_explicit(&p->last_fault_insn, fault.insn, memory_order_relaxed);
            if (p->host.fault)
                p->host.fault(p->host.arg, p->name, &fault);
            else
                policy_log_fault(p, &fault);
        }
        return ctx->orders;
    }
    return ret & ctx->orders;
}

bool bpfmm_policy_reads(const bpfmm_policy_t *p, uint32_t off, uint32_t size)
{
    return bpfmm_rt_prog_reads_ctx(p->prog, off, size);
}

int bpfmm_policy_get_stats(const bpfmm_policy_t *p, struct bpfmm_policy_stats *st)
{
    if (!p || !st || st->sz < sizeof(*st))
        return -EINVAL;
    st->calls = atomic_load_explicit(&p->calls, memory_order_relaxed);
    st->faults = atomic_load_explicit(&p->faults, memory_order_relaxed);
    st->last_fault_insn = atomic_load_explicit(&p->last_fault_insn, memory_order_relaxed);
    return 0;
}
