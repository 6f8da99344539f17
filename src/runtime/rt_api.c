/*
 * Public object and program API: load (verification of every program through rt_vm_prepare,
 * then freezing .rodata), object/program accessors, running a program with its statistics,
 * and disassembly. The open path is rt_obj.c; the host map API is rt_api_map.c.
 */
#include "rt_obj.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rt_obj_free_load_copies(struct bpfmm_rt_obj *obj)
{
    free((char *)obj->ctx_desc.name);
    if (obj->ctx_fields)
        for (unsigned i = 0; i < obj->ctx_desc.nr_fields; i++)
            free((char *)obj->ctx_fields[i].name);
    free(obj->ctx_fields);
    if (obj->helpers)
        for (unsigned i = 0; i < obj->nr_helpers; i++)
            free((char *)obj->helpers[i].name);
    free(obj->helpers);
    memset(&obj->ctx_desc, 0, sizeof(obj->ctx_desc));
    obj->ctx_fields = NULL;
    obj->helpers = NULL;
    obj->nr_helpers = 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = true;
    return d;
}

/* The caller's ctx description and helper table may be temporaries: the object keeps its own
 * copies for as long as the verified programs live. */
static int copy_load_opts(struct bpfmm_rt_obj *obj, const struct bpfmm_rt_ctx_desc *ctx,
                          const struct bpfmm_rt_helper *helpers, unsigned nr_helpers)
{
    bool fail = false;
    rt_obj_free_load_copies(obj);
    if (ctx) {
        obj->ctx_desc = *ctx;
        obj->ctx_desc.name = dup_or_null(ctx->name, &fail);
        obj->ctx_desc.fields = NULL;
        obj->ctx_desc.nr_fields = 0;
        if (ctx->fields && ctx->nr_fields) {
            obj->ctx_fields = calloc(ctx->nr_fields, sizeof(*obj->ctx_fields));
            if (!obj->ctx_fields)
                return -ENOMEM;
            obj->ctx_desc.nr_fields = ctx->nr_fields;
            for (unsigned i = 0; i < ctx->nr_fields; i++) {
                obj->ctx_fields[i] = ctx->fields[i];
                obj->ctx_fields[i].name = dup_or_null(ctx->fields[i].name, &fail);
            }
            obj->ctx_desc.fields = obj->ctx_fields;
        }
    }
    if (helpers && nr_helpers) {
        obj->helpers = calloc(nr_helpers, sizeof(*obj->helpers));
        if (!obj->helpers)
            return -ENOMEM;
        obj->nr_helpers = nr_helpers;
        for (unsigned i = 0; i < nr_helpers; i++) {
            obj->helpers[i] = helpers[i];
            obj->helpers[i].name = dup_or_null(helpers[i].name, &fail);
        }
    }
    return fail ? -ENOMEM : 0;
}

int bpfmm_rt_obj_load(bpfmm_rt_obj_t *obj, const struct bpfmm_rt_load_opts *opts)
{
    char *log = OPT(opts, log_buf, NULL);
    size_t log_size = OPT(opts, log_size, 0);
    if (log && log_size)
        log[0] = '\0';
    if (!obj)
        return -EINVAL;
    if (obj->loaded) {
        rt_log(log, log_size, "%s: already loaded", obj->name);
        return -EBUSY;
    }
    const struct bpfmm_rt_ctx_desc *ctx = OPT(opts, ctx, NULL);
    int err = copy_load_opts(obj, ctx, OPT(opts, helpers, NULL), OPT(opts, nr_helpers, 0));
    if (err) {
        rt_obj_free_load_copies(obj);
        rt_log(log, log_size, "%s: out of memory", obj->name);
        return err;
    }
    struct rt_vm_opts vo = {
        .ctx = ctx ? &obj->ctx_desc : NULL,
        .insn_budget = OPT(opts, insn_budget, 0),
        .host_helpers = obj->helpers,
        .nr_host_helpers = obj->nr_helpers,
        .host = OPT(opts, host, NULL),
        .trace = OPT(opts, trace, NULL),
        .flags = OPT(opts, flags, 0),
    };
    vo.log_size = log_size > 256 ? log_size : 256;
    vo.log = calloc(1, vo.log_size);
    if (!vo.log) {
        rt_obj_free_load_copies(obj);
        return -ENOMEM;
    }
    unsigned i;
    for (i = 0; i < obj->nr_progs; i++) {
        struct bpfmm_rt_prog *p = obj->progs[i];
        struct rt_prog_src src = {
            .name = p->name,
            .insns = p->insns,
            .nr_insns = p->nr_insns,
            .maps = obj->rt_maps,
            .nr_maps = obj->nr_maps,
            .syms = p->syms,
            .nr_syms = p->nr_syms,
        };
        vo.log[0] = '\0';
        errno = 0;
        p->vm = rt_vm_prepare(&src, &vo);
        if (!p->vm) {
            err = errno ? -errno : -EINVAL;
            rt_log(log, log_size, "%s: program '%s': %s", obj->name, p->name,
                   vo.log[0] ? vo.log : strerror(-err));
            break;
        }
    }
    free(vo.log);
    if (err) {
        for (unsigned j = 0; j < i; j++) {
            rt_vm_free(obj->progs[j]->vm);
            obj->progs[j]->vm = NULL;
        }
        rt_obj_free_load_copies(obj);
        return err;
    }
    obj->loaded = true; /* from here on, host updates of .rodata are refused */
    return 0;
}

const char *bpfmm_rt_obj_name(const bpfmm_rt_obj_t *obj)
{
    return obj ? obj->name : NULL;
}

const char *bpfmm_rt_obj_license(const bpfmm_rt_obj_t *obj)
{
    return obj ? obj->license : NULL;
}

bool bpfmm_rt_obj_is_loaded(const bpfmm_rt_obj_t *obj)
{
    return obj && obj->loaded;
}

unsigned bpfmm_rt_obj_prog_count(const bpfmm_rt_obj_t *obj)
{
    return obj ? obj->nr_progs : 0;
}

bpfmm_rt_prog_t *bpfmm_rt_obj_prog(const bpfmm_rt_obj_t *obj, unsigned i)
{
    return obj && i < obj->nr_progs ? obj->progs[i] : NULL;
}

bpfmm_rt_prog_t *bpfmm_rt_obj_find_prog(const bpfmm_rt_obj_t *obj, const char *name)
{
    if (!obj || !name)
        return NULL;
    for (unsigned i = 0; i < obj->nr_progs; i++)
        if (strcmp(obj->progs[i]->name, name) == 0)
            return obj->progs[i];
    for (unsigned i = 0; i < obj->nr_progs; i++)
        if (strcmp(obj->progs[i]->section, name) == 0)
            return obj->progs[i];
    return NULL;
}

unsigned bpfmm_rt_obj_map_count(const bpfmm_rt_obj_t *obj)
{
    return obj ? obj->nr_maps : 0;
}

bpfmm_rt_map_t *bpfmm_rt_obj_map(const bpfmm_rt_obj_t *obj, unsigned i)
{
    return obj && i < obj->nr_maps ? obj->maps[i] : NULL;
}

bpfmm_rt_map_t *bpfmm_rt_obj_find_map(const bpfmm_rt_obj_t *obj, const char *name)
{
    if (!obj || !name)
        return NULL;
    for (unsigned i = 0; i < obj->nr_maps; i++)
        if (strcmp(obj->maps[i]->rt.name, name) == 0)
            return obj->maps[i];
    return NULL;
}

const char *bpfmm_rt_prog_name(const bpfmm_rt_prog_t *p)
{
    return p ? p->name : NULL;
}

const char *bpfmm_rt_prog_section(const bpfmm_rt_prog_t *p)
{
    return p ? p->section : NULL;
}

unsigned bpfmm_rt_prog_insn_count(const bpfmm_rt_prog_t *p)
{
    return p ? p->nr_insns : 0;
}

bool bpfmm_rt_prog_reads_ctx(const bpfmm_rt_prog_t *p, uint32_t off, uint32_t size)
{
    return p && p->vm && rt_vm_reads_ctx(p->vm, off, size);
}

int bpfmm_rt_prog_run(bpfmm_rt_prog_t *p, void *ctx, size_t ctx_size,
                      const struct bpfmm_rt_run_env *env, uint64_t *ret,
                      struct bpfmm_rt_fault *fault)
{
    if (!p || !p->vm)
        return -EINVAL;
    struct bpfmm_rt_fault local_fault;
    uint64_t local_ret, n = 0;
    if (!fault)
        fault = &local_fault;
    if (!ret)
        ret = &local_ret;
    int err = rt_vm_run(p->vm, ctx, ctx_size, env, ret, &n, fault);
    if (err && err != -EFAULT)
        return err; /* bad arguments: nothing ran */
    atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->insns_executed, n, memory_order_relaxed);
    if (err == -EFAULT) {
        atomic_fetch_add_explicit(&p->faults, 1, memory_order_relaxed);
        atomic_store_explicit(&p->last_fault_insn, fault->insn, memory_order_relaxed);
    }
    return err;
}

int bpfmm_rt_prog_get_stats(const bpfmm_rt_prog_t *p, struct bpfmm_rt_prog_stats *st)
{
    if (!p || !st ||
        st->sz <
            offsetof(struct bpfmm_rt_prog_stats, last_fault_insn) + sizeof(st->last_fault_insn))
        return -EINVAL;
    size_t sz = st->sz;
    memset(st, 0, sz < sizeof(*st) ? sz : sizeof(*st));
    st->sz = sz;
    /* The struct members are _Atomic but the accessors take const pointers. */
    struct bpfmm_rt_prog *q = (struct bpfmm_rt_prog *)p;
    st->runs = atomic_load_explicit(&q->runs, memory_order_relaxed);
    st->faults = atomic_load_explicit(&q->faults, memory_order_relaxed);
    st->insns = atomic_load_explicit(&q->insns_executed, memory_order_relaxed);
    st->last_fault_insn = atomic_load_explicit(&q->last_fault_insn, memory_order_relaxed);
    return 0;
}

int bpfmm_rt_prog_disasm(const bpfmm_rt_prog_t *p, FILE *out)
{
    if (!p || !out)
        return -EINVAL;
    const struct bpfmm_rt_obj *obj = p->obj;
    uint32_t s = 0;
    char buf[256];
    for (uint32_t i = 0; i < p->nr_insns;) {
        while (s < p->nr_syms && p->syms[s].insn < i)
            s++;
        if (s < p->nr_syms && p->syms[s].insn == i)
            fprintf(out, "%s:\n", p->syms[s].name);
        buf[0] = '\0';
        int n = rt_vm_disasm_insn(p->insns, i, p->nr_insns, obj->rt_maps, obj->nr_maps, buf,
                                  sizeof(buf));
        if (fprintf(out, "%6u: %s\n", i, buf) < 0)
            return -EIO;
        i += n > 0 ? (uint32_t)n : 1;
    }
    return ferror(out) ? -EIO : 0;
}
