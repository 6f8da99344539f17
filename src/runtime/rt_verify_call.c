/*
 * Helper calls in the verifier: finds the helper (the host's helpers override built-ins with
 * the same number), checks each argument against its prototype (maps, key/value memory,
 * pointer + size pairs, scalars), and sets the result: a scalar, or "map value or NULL" linked
 * to later NULL checks. A callx whose register is not a known constant is allowed only for
 * helpers taking scalars, and is checked at run time. Local (bpf-to-bpf) calls are walked in
 * rt_verify_walk.c. Owns no execution.
 */
#include "rt_verify.h"
#include "rt_map.h"

#include <stdio.h>

bool vhelper_find(const struct verifier *v, uint32_t id, struct vhelper *out)
{
    const struct rt_vm_opts *o = v->opts;
    for (unsigned k = 0; k < o->nr_host_helpers; k++) {
        const struct bpfmm_rt_helper *h = &o->host_helpers[k];
        if (h->id == id && h->fn) {
            out->id = id;
            out->name = h->name ? h->name : "host helper";
            out->proto = NULL;
            out->host = h;
            return true;
        }
    }
    const struct rt_helper_proto *p = rt_helper_builtin(id);
    if (!p)
        return false;
    out->id = id;
    out->name = p->name;
    out->proto = p;
    out->host = NULL;
    return true;
}

static void clobber_args(struct vstate *s)
{
    struct vframe *F = vcur(s);
    for (unsigned r = 1; r <= 5; r++)
        vreg_uninit(&F->r[r]);
}

/* callx: the helper may take any of r1-r5; remember which hold initialised scalars on every
 * path (the run loop checks the helper it finds against that). */
static void note_callx_args(struct vinfo *info, const struct vframe *F)
{
    uint8_t mask = 0;
    for (unsigned r = 1; r <= 5; r++)
        if (F->r[r].type == VT_SCALAR)
            mask |= (uint8_t)(1u << (r - 1));
    info->callx_init &= mask;
}

static int arg_scalar(struct verifier *v, struct vstate *s, uint32_t i, const struct vhelper *h,
                      unsigned r)
{
    int err = vcheck_read(v, i, s, r);
    if (err)
        return err;
    const struct vreg *R = &vcur(s)->r[r];
    if (R->type != VT_SCALAR)
        return verr(v, i, "%s argument %u (r%u) must be a scalar; r%u is %s", h->name, r, r, r,
                    vtype_name(R));
    return 0;
}

int vcall_helper(struct verifier *v, struct vstate *s, uint32_t i, uint32_t id, bool via_callx)
{
    struct vinfo *info = &v->info[i];
    struct vhelper h;
    int err;
    if (!vhelper_find(v, id, &h)) {
        const char *ln = rt_helper_linux_name(id);
        if (ln)
            return verr(v, i, "helper %u (%s) is not supported by bpfmm", id, ln);
        return verr(v, i, "unknown helper %u", id);
    }
    if (via_callx) {
        note_callx_args(info, vcur(s));
        if (info->helper >= 0 && info->helper != (int64_t)id)
            info->callx_dyn = 1;
    }
    info->helper = id;

    if (h.host) {
        if (h.host->nr_args > 5)
            return verr(v, i, "host helper %s declares %u arguments; at most 5", h.name,
                        h.host->nr_args);
        for (unsigned r = 1; r <= h.host->nr_args; r++)
            if ((err = arg_scalar(v, s, i, &h, r)))
                return err;
        clobber_args(s);
        vreg_scalar_unknown(&vcur(s)->r[0]);
        return 0;
    }

    const struct rt_helper_proto *p = h.proto;
    struct vframe *F = vcur(s);
    uint64_t maps = 0;
    uint32_t key_size = 0, value_size = 0;
    for (unsigned k = 0; k < p->nargs; k++) {
        unsigned r = k + 1;
        const struct vreg *R = &F->r[r];
        /* RT_ARG_ANY may be left unset (bpf_printk with fewer values), as in Linux */
        if (p->args[k] != RT_ARG_SIZE && p->args[k] != RT_ARG_ANY &&
            (err = vcheck_read(v, i, s, r)))
            return err;
        switch (p->args[k]) {
        case RT_ARG_SCALAR:
            if ((err = arg_scalar(v, s, i, &h, r)))
                return err;
            break;
        case RT_ARG_ANY:
            if (R->type == VT_MIXED)
                return verr(v, i,
                            "%s argument %u (r%u) holds different kinds of values on "
                            "different paths",
                            h.name, r, r);
            break;
        case RT_ARG_MAP:
            if (R->type != VT_MAP)
                return verr(v, i,
                            "%s argument %u (r%u) must be a map (loaded with lddw); r%u is %s",
                            h.name, r, r, r, vtype_name(R));
            /* One of several maps: memory arguments must fit the largest. */
            maps = R->maps;
            for (uint64_t set = maps; set; set &= set - 1) {
                const struct rt_map *m = v->src->maps[vmap_first(set)];
                if (!m->ops || !m->ops->lookup)
                    return verr(v, i, "%s: map '%s' has no operations", h.name, m->name);
                if (p->map_write && m->prog_readonly)
                    return verr(v, i, "%s on map '%s': the map is read-only to programs", h.name,
                                m->name);
                if (m->key_size > key_size)
                    key_size = m->key_size;
                if (m->value_size > value_size)
                    value_size = m->value_size;
            }
            break;
        case RT_ARG_MAP_KEY:
            if ((err = vmem_helper_arg(v, s, i, r, "key", R, key_size, key_size, false)))
                return err;
            break;
        case RT_ARG_MAP_VALUE:
            if ((err = vmem_helper_arg(v, s, i, r, "value", R, value_size, value_size, false)))
                return err;
            break;
        case RT_ARG_MEM:
        case RT_ARG_MEM_OUT: {
            unsigned rs = r + 1;
            if ((err = arg_scalar(v, s, i, &h, rs)))
                return err;
            const struct vreg *S = &F->r[rs];
            if (S->umin == 0 || S->umax > RT_STACK_SIZE * 64)
                return verr(v, i,
                            "%s argument %u (r%u) must be a known size between 1 and %u; it is "
                            "[%llu..%llu]",
                            h.name, rs, rs, RT_STACK_SIZE * 64, (unsigned long long)S->umin,
                            (unsigned long long)S->umax);
            if ((err = vmem_helper_arg(v, s, i, r, p->args[k] == RT_ARG_MEM ? "memory" : "buffer",
                                       R, S->umax, S->umin, p->args[k] == RT_ARG_MEM_OUT)))
                return err;
            break;
        }
        default:
            break;
        }
    }
    clobber_args(s);
    F = vcur(s);
    if (p->ret == RT_RET_MAP_VALUE_OR_NULL) {
        uint32_t lid = i + 1;
        vstate_unlink_id(s, lid); /* an earlier result of this call site is a different value */
        vreg_ptr(&F->r[0], VT_MAPVAL_NULL, 0);
        F->r[0].maps = maps;
        F->r[0].id = lid;
    } else {
        vreg_scalar_unknown(&F->r[0]);
    }
    return 0;
}

int vcall_dynamic(struct verifier *v, struct vstate *s, uint32_t i)
{
    struct vinfo *info = &v->info[i];
    note_callx_args(info, vcur(s));
    info->callx_dyn = 1;
    clobber_args(s);
    vreg_scalar_unknown(&vcur(s)->r[0]);
    return 0;
}
