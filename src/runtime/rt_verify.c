/*
 * rt_vm_prepare: the verifier's entry point. Runs the structural checks, walks the program
 * abstractly from its entry state (r1 = ctx or compat memory, r10 = frame pointer), applies the
 * checks that need the whole walk (one region per run-time checked access), sizes every stack
 * frame, and hands the findings to the decoder. Also owns the verifier's error reporting and
 * message vocabulary, and the small queries on a prepared program (rt_vm_reads_ctx, rt_vm_free).
 */
#include "rt_verify.h"
#include "rt_map.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vdecode(struct verifier *v, struct rt_vm_prog *p);

static int vlog(struct verifier *v, int code, uint32_t insn, const char *fmt, va_list ap)
{
    if (v->err)
        return v->err;
    v->err = code;
    char *log = v->opts->log;
    size_t size = v->opts->log_size;
    if (log && size) {
        int n = snprintf(log, size, "insn %u: ", insn);
        if (n >= 0 && (size_t)n < size)
            vsnprintf(log + n, size - (size_t)n, fmt, ap);
    }
    return code;
}

int verr(struct verifier *v, uint32_t insn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vlog(v, -EINVAL, insn, fmt, ap);
    va_end(ap);
    return r;
}

int verr_code(struct verifier *v, int code, uint32_t insn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vlog(v, code, insn, fmt, ap);
    va_end(ap);
    return r;
}

const char *vtype_name(const struct vreg *r)
{
    switch (r->type) {
    case VT_UNINIT:
        return "uninitialised";
    case VT_SCALAR:
        return "a scalar";
    case VT_CTX:
        return "a pointer to the ctx";
    case VT_STACK:
        return "a pointer to the stack";
    case VT_MAPVAL:
        return "a pointer to a map value";
    case VT_MAPVAL_NULL:
        return "a map value pointer that may be NULL";
    case VT_MAP:
        return "a map";
    default:
        return "a mix of kinds (different on different paths)";
    }
}

const char *vmap_name(const struct verifier *v, uint64_t maps)
{
    uint32_t map = vmap_first(maps);
    return map < v->src->nr_maps ? v->src->maps[map]->name : "?";
}

const char *vctx_field(const struct verifier *v, int64_t off)
{
    const struct bpfmm_rt_ctx_desc *d = v->ctx;
    if (!d)
        return NULL;
    for (unsigned k = 0; k < d->nr_fields; k++) {
        const struct bpfmm_rt_ctx_field *f = &d->fields[k];
        if (f->name && off >= f->off && off < (int64_t)f->off + f->size)
            return f->name;
    }
    return NULL;
}

/* Stack of the deepest call chain starting at f (depths are known after the walk). */
static uint32_t chain_stack(struct verifier *v, uint32_t f, uint8_t *done)
{
    if (done[f])
        return v->funcs[f].max_chain;
    uint32_t best = 0;
    for (uint32_t i = v->funcs[f].start; i < v->funcs[f].end; i++) {
        const struct bpf_insn *in = &v->insns[i];
        if ((v->flags[i] & VF_LDDW2) || in->code != (BPF_JMP | BPF_CALL) ||
            in->src_reg != RT_CALL_LOCAL)
            continue;
        uint32_t g = v->func_of[(int64_t)i + 1 + in->imm];
        uint32_t c = chain_stack(v, g, done);
        if (c > best)
            best = c;
    }
    done[f] = 1;
    v->funcs[f].max_chain = v->funcs[f].depth + best;
    return v->funcs[f].max_chain;
}

static int cmp_s64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Widening thresholds: every constant a conditional jump compares with, and its neighbours. */
static int collect_thresholds(struct verifier *v)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if (!(v->flags[i] & VF_LDDW2) && rt_is_jmp(rt_class(v->insns[i].code)) &&
            rt_srcbit(v->insns[i].code) == BPF_K && rt_op(v->insns[i].code) != BPF_CALL)
            n += 3;
    v->ths = malloc((n + 1) * sizeof(*v->ths));
    v->thu = malloc((n + 1) * sizeof(*v->thu));
    if (!v->ths || !v->thu)
        return verr_code(v, -ENOMEM, 0, "out of memory");
    n = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        const struct bpf_insn *in = &v->insns[i];
        if ((v->flags[i] & VF_LDDW2) || !rt_is_jmp(rt_class(in->code)) ||
            rt_srcbit(in->code) != BPF_K || rt_op(in->code) == BPF_CALL)
            continue;
        int64_t c = rt_class(in->code) == BPF_JMP32 ? (int64_t)(uint32_t)in->imm : in->imm;
        v->ths[n++] = c - 1;
        v->ths[n++] = c;
        v->ths[n++] = c + 1;
    }
    qsort(v->ths, n, sizeof(*v->ths), cmp_s64);
    uint32_t u = 0;
    for (uint32_t k = 0; k < n; k++)
        if (!u || v->ths[k] != v->ths[u - 1])
            v->ths[u++] = v->ths[k];
    for (uint32_t k = 0; k < u; k++)
        v->thu[k] = (uint64_t)v->ths[k];
    qsort(v->thu, u, sizeof(*v->thu), cmp_u64);
    v->nth = u;
    return 0;
}

static void verifier_free(struct verifier *v)
{
    free(v->ths);
    free(v->thu);
    free(v->flags);
    free(v->func_of);
    free(v->funcs);
    free(v->info);
    free(v->live);
    free(v->ctx_reads);
}

static struct rt_vm_prog *fail(struct verifier *v, struct rt_vm_prog *p, int err)
{
    rt_vm_free(p);
    verifier_free(v);
    errno = -err;
    return NULL;
}

struct rt_vm_prog *rt_vm_prepare(const struct rt_prog_src *src, const struct rt_vm_opts *opts)
{
    struct verifier v = {0};
    struct rt_vm_prog *p = NULL;
    int err;

    if (!src || !opts || (!src->insns && src->nr_insns) || (src->nr_maps && !src->maps)) {
        errno = EINVAL;
        return NULL;
    }
    if (opts->log && opts->log_size)
        opts->log[0] = '\0';
    v.src = src;
    v.opts = opts;
    v.insns = src->insns;
    v.n = src->nr_insns;
    v.compat = opts->flags & BPFMM_RT_LOAD_COMPAT;
    v.ctx = opts->ctx;
    for (uint32_t k = 0; k < src->nr_maps; k++)
        if (!src->maps[k])
            return fail(&v, NULL, verr(&v, 0, "map %u is missing", k));
    if (v.n == 0 || v.n > RT_MAX_INSNS)
        return fail(&v, NULL, vcfg_check(&v));

    v.flags = calloc(v.n, 1);
    v.func_of = calloc(v.n, sizeof(*v.func_of));
    v.info = calloc(v.n, sizeof(*v.info));
    if (v.ctx && v.ctx->size)
        v.ctx_reads = calloc((v.ctx->size + 7) / 8, 1);
    if (!v.flags || !v.func_of || !v.info || (v.ctx && v.ctx->size && !v.ctx_reads))
        return fail(&v, NULL, verr_code(&v, -ENOMEM, 0, "out of memory"));
    for (uint32_t i = 0; i < v.n; i++) {
        v.info[i].helper = -1;
        v.info[i].callx_init = 0x1f;
    }

    if ((err = vcfg_check(&v)) || (err = vlive_compute(&v)) || (err = collect_thresholds(&v)))
        return fail(&v, NULL, err);

    /* Entry state: r1 = ctx (or compat memory, or a scalar), r2 = its size in compat mode. */
    struct vstate *entry = vstate_new(&v, 1), *exit = NULL;
    if (!entry)
        return fail(&v, NULL, verr_code(&v, -ENOMEM, 0, "out of memory"));
    struct vframe *f0 = &entry->f[0];
    vframe_init(f0, 0);
    if (v.ctx || v.compat)
        vreg_ptr(&f0->r[1], VT_CTX, 0);
    else
        vreg_scalar_unknown(&f0->r[1]);
    if (v.compat)
        vreg_scalar_unknown(&f0->r[2]);
    vreg_ptr(&f0->r[RT_REG_FP], VT_STACK, 0);
    err = vwalk_func(&v, 0, entry, &exit);
    vstate_free(&v, entry);
    vstate_free(&v, exit);
    if (err)
        return fail(&v, NULL, err);

    for (uint32_t i = 0; i < v.n; i++)
        if (v.info[i].checked && v.info[i].conflict)
            return fail(&v, NULL,
                        verr(&v, i,
                             "this access reaches different memory regions (or stack frames) on "
                             "different paths and its offset is not known: it cannot be "
                             "checked; use one region per instruction"));

    p = calloc(1, sizeof(*p));
    if (!p)
        return fail(&v, NULL, verr_code(&v, -ENOMEM, 0, "out of memory"));
    uint8_t *done = calloc(v.nfuncs, 1);
    if (!done)
        return fail(&v, p, verr_code(&v, -ENOMEM, 0, "out of memory"));
    p->stack_size = chain_stack(&v, 0, done);
    free(done);
    snprintf(p->name, sizeof(p->name), "%s", src->name ? src->name : "prog");
    p->nr_insns = v.n;
    p->maps = src->maps;
    p->nr_maps = src->nr_maps;
    p->main_depth = v.funcs[0].depth;
    p->zero_stack = v.zero_stack;
    /* The run loop counts in bytes of decoded code (budget * 16): cap so that cannot wrap. */
    p->budget = opts->insn_budget ? opts->insn_budget : 1000000;
    if (p->budget > UINT64_MAX / sizeof(struct rt_dinsn))
        p->budget = UINT64_MAX / sizeof(struct rt_dinsn);
    p->compat = v.compat;
    p->has_ctx = v.ctx || v.compat;
    p->ctx_size = v.ctx ? v.ctx->size : 0;
    p->host = opts->host;
    p->trace = opts->trace;
    if (v.ctx_reads) {
        if (v.ctx_read_all)
            memset(v.ctx_reads, 0xff, (v.ctx->size + 7) / 8);
        p->ctx_reads = v.ctx_reads;
        v.ctx_reads = NULL;
    }
    if ((err = vdecode(&v, p)))
        return fail(&v, p, err);
    verifier_free(&v);
    return p;
}

void rt_vm_free(struct rt_vm_prog *p)
{
    if (!p)
        return;
    free(p->code);
    free(p->aux);
    free(p->calls);
    free(p->dyn);
    free(p->ctx_reads);
    free(p);
}

bool rt_vm_reads_ctx(const struct rt_vm_prog *p, uint32_t off, uint32_t size)
{
    if (!p || !p->ctx_reads)
        return false;
    for (uint64_t b = off; b < (uint64_t)off + size && b < p->ctx_size; b++)
        if (vbit(p->ctx_reads, (unsigned)b))
            return true;
    return false;
}
