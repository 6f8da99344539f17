/*
 * Abstract states of the verifier: registers and stack of every active frame. Owns
 * construction, copying and the join used at control-flow merges (with widening at loop heads so
 * loops converge): ranges take their hull, different kinds of value become VT_MIXED (unusable),
 * a map value joined with NULL becomes "map value or NULL", stack bytes stay initialised only if
 * they are on both paths, and a spilled pointer that is not spilled on the other path leaves
 * "poisoned" bytes that can never be read back as data.
 */
#include "rt_verify.h"

#include <stdlib.h>
#include <string.h>

void vreg_uninit(struct vreg *r)
{
    memset(r, 0, sizeof(*r));
}

void vreg_scalar_const(struct vreg *r, uint64_t c)
{
    memset(r, 0, sizeof(*r));
    r->type = VT_SCALAR;
    vs_set_const(r, c);
}

void vreg_scalar_unknown(struct vreg *r)
{
    memset(r, 0, sizeof(*r));
    r->type = VT_SCALAR;
    vs_set_unknown(r);
}

void vreg_ptr(struct vreg *r, enum vtype t, int64_t off)
{
    memset(r, 0, sizeof(*r));
    r->type = (uint8_t)t;
    r->smin = r->smax = off;
}

bool vreg_is_ptr(const struct vreg *r)
{
    return r->type >= VT_CTX && r->type <= VT_MAP;
}

bool vreg_off_const(const struct vreg *r)
{
    return r->smin == r->smax;
}

/* Offsets beyond this are treated as unknown (no static proof possible anyway). */
#define OFF_LIMIT ((int64_t)1 << 40)

bool vreg_off_bounded(const struct vreg *r)
{
    return r->smin > -OFF_LIMIT && r->smax < OFF_LIMIT;
}

void vframe_init(struct vframe *f, uint32_t func)
{
    memset(f, 0, sizeof(*f));
    f->func = func;
}

struct vstate *vstate_new(struct verifier *v, uint32_t nframes)
{
    size_t size = vstate_size(nframes);
    if (v->state_bytes + size > V_MAX_STATE_BYTES)
        return NULL;
    struct vstate *s = calloc(1, size);
    if (!s)
        return NULL;
    s->nframes = nframes;
    v->state_bytes += size;
    return s;
}

void vstate_free(struct verifier *v, struct vstate *s)
{
    if (!s)
        return;
    v->state_bytes -= vstate_size(s->nframes);
    free(s);
}

void vstate_copy(struct vstate *dst, const struct vstate *src)
{
    memcpy(dst, src, vstate_size(src->nframes));
}

bool vstate_equal(const struct vstate *a, const struct vstate *b)
{
    return a->nframes == b->nframes && !memcmp(a, b, vstate_size(a->nframes));
}

static bool is_null_const(const struct vreg *r)
{
    return r->type == VT_SCALAR && r->umin == 0 && r->umax == 0;
}

/* Index of the first threshold >= x (> x when strict) in the sorted unsigned / signed lists. */
static uint32_t th_find_u(const struct verifier *v, uint64_t x, bool strict)
{
    uint32_t lo = 0, hi = v->nth;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->thu[mid] < x || (strict && v->thu[mid] == x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t th_find_s(const struct verifier *v, int64_t x, bool strict)
{
    uint32_t lo = 0, hi = v->nth;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->ths[mid] < x || (strict && v->ths[mid] == x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Widening targets: the nearest threshold beyond the new bound, else infinity. */
static uint64_t up_u(const struct verifier *v, uint64_t x)
{
    uint32_t k = th_find_u(v, x, false);
    return k < v->nth ? v->thu[k] : UINT64_MAX;
}

static uint64_t down_u(const struct verifier *v, uint64_t x)
{
    uint32_t k = th_find_u(v, x, true);
    return k ? v->thu[k - 1] : 0;
}

static int64_t up_s(const struct verifier *v, int64_t x)
{
    uint32_t k = th_find_s(v, x, false);
    return k < v->nth ? v->ths[k] : INT64_MAX;
}

static int64_t down_s(const struct verifier *v, int64_t x)
{
    uint32_t k = th_find_s(v, x, true);
    return k ? v->ths[k - 1] : INT64_MIN;
}

/* Hull of ranges (scalars: both domains; pointers: offsets), widened if asked. */
static void join_ranges(const struct verifier *v, struct vreg *d, const struct vreg *s, bool widen,
                        bool scalar)
{
    if (scalar) {
        if (s->umin < d->umin)
            d->umin = widen ? down_u(v, s->umin) : s->umin;
        if (s->umax > d->umax)
            d->umax = widen ? up_u(v, s->umax) : s->umax;
    }
    if (s->smin < d->smin)
        d->smin = widen ? down_s(v, s->smin) : s->smin;
    if (s->smax > d->smax)
        d->smax = widen ? up_s(v, s->smax) : s->smax;
    if (scalar)
        vs_sync(d);
}

static void set_mixed(struct vreg *d)
{
    memset(d, 0, sizeof(*d));
    d->type = VT_MIXED;
}

static bool is_mapval_at0(const struct vreg *r)
{
    return (r->type == VT_MAPVAL || r->type == VT_MAPVAL_NULL) && r->smin == 0 && r->smax == 0;
}

/* Kinds that differ but join without loss of kind: a map value (at offset 0) with NULL or
 * with another lookup result gives "map value or NULL" (unlinked). */
static bool joins_to_mapval_null(const struct vreg *d, const struct vreg *s)
{
    return (is_mapval_at0(d) && (is_null_const(s) || is_mapval_at0(s))) ||
           (is_mapval_at0(s) && is_null_const(d));
}

/* True if d join s is "mixed" although neither is: different kinds of value (or stack pointers
 * into different frames) on the two paths. */
static bool join_mixes_reg(const struct vreg *d, const struct vreg *s)
{
    if (d->type == VT_UNINIT || s->type == VT_UNINIT || d->type == VT_MIXED || s->type == VT_MIXED)
        return false;
    if (d->type != s->type)
        return !joins_to_mapval_null(d, s);
    return d->type == VT_STACK && d->frame != s->frame;
}

/* d = d join s. */
static void join_reg(const struct verifier *v, struct vreg *d, const struct vreg *s, bool widen)
{
    if (d->type == VT_UNINIT || s->type == VT_UNINIT) {
        vreg_uninit(d);
        return;
    }
    if (d->type == VT_MIXED || s->type == VT_MIXED || join_mixes_reg(d, s)) {
        set_mixed(d);
        return;
    }
    if (d->type != s->type) { /* joins_to_mapval_null() */
        uint64_t maps = (d->type == VT_SCALAR ? 0 : d->maps) | (s->type == VT_SCALAR ? 0 : s->maps);
        vreg_ptr(d, VT_MAPVAL_NULL, 0);
        d->maps = maps;
        return;
    }
    switch (d->type) {
    case VT_SCALAR:
        join_ranges(v, d, s, widen, true);
        return;
    case VT_CTX:
    case VT_STACK: /* same frame: join_mixes_reg() */
        join_ranges(v, d, s, widen, false);
        return;
    case VT_MAPVAL:
        d->maps |= s->maps;
        join_ranges(v, d, s, widen, false);
        return;
    case VT_MAPVAL_NULL:
        d->maps |= s->maps;
        if (d->id != s->id)
            d->id = 0;
        return;
    case VT_MAP:
        d->maps |= s->maps;
        return;
    default:
        return;
    }
}

static void poison_slot(struct vframe *f, unsigned slot)
{
    for (unsigned b = slot * 8; b < slot * 8 + 8; b++)
        vbit_set(f->poison, b);
}

static void join_frame(const struct verifier *v, struct vframe *d, const struct vframe *s,
                       bool widen)
{
    for (unsigned r = 0; r < RT_NR_REGS; r++)
        join_reg(v, &d->r[r], &s->r[r], widen);
    for (unsigned k = 0; k < sizeof(d->init); k++) {
        d->init[k] &= s->init[k];
        d->touched[k] |= s->touched[k];
        d->poison[k] |= s->poison[k];
    }
    uint64_t both = d->spilled & s->spilled, either = d->spilled | s->spilled;
    for (unsigned slot = 0; slot < VSLOTS; slot++) {
        uint64_t bit = 1ull << slot;
        if (!(either & bit))
            continue;
        if (both & bit) {
            join_reg(v, &d->slot[slot], &s->slot[slot], widen);
            if (d->slot[slot].type == VT_UNINIT) {
                d->spilled &= ~bit;
                poison_slot(d, slot);
            }
            continue;
        }
        /* Spilled on one path only: the bytes stay data only if that spill was a scalar. */
        const struct vreg *sp = (d->spilled & bit) ? &d->slot[slot] : &s->slot[slot];
        if (sp->type != VT_SCALAR)
            poison_slot(d, slot);
        d->spilled &= ~bit;
        vreg_uninit(&d->slot[slot]);
    }
}

bool vstate_join(const struct verifier *v, struct vstate *d, const struct vstate *s, bool widen)
{
    size_t size = vstate_size(d->nframes);
    struct vstate *old = malloc(size);
    if (!old) {
        /* Without a copy we cannot tell whether anything changed: assume it did. */
        for (uint32_t k = 0; k < d->nframes; k++)
            join_frame(v, &d->f[k], &s->f[k], widen);
        return true;
    }
    memcpy(old, d, size);
    for (uint32_t k = 0; k < d->nframes; k++)
        join_frame(v, &d->f[k], &s->f[k], widen);
    bool changed = memcmp(old, d, size) != 0;
    free(old);
    return changed;
}

bool vstate_join_mixes(const struct vstate *d, const struct vstate *s, uint16_t live)
{
    for (uint32_t k = 0; k < d->nframes; k++) {
        const struct vframe *a = &d->f[k], *b = &s->f[k];
        if (k == d->nframes - 1) {
            for (unsigned r = 0; r < RT_NR_REGS; r++)
                if ((live & (1u << r)) && join_mixes_reg(&a->r[r], &b->r[r]))
                    return true;
        }
        for (uint64_t both = a->spilled & b->spilled; both; both &= both - 1) {
            unsigned slot = (unsigned)__builtin_ctzll(both);
            if (join_mixes_reg(&a->slot[slot], &b->slot[slot]))
                return true;
        }
    }
    return false;
}

static void unlink_reg(struct vreg *r, uint32_t id)
{
    if (r->type == VT_MAPVAL_NULL && r->id == id)
        r->id = 0;
}

void vstate_unlink_id(struct vstate *s, uint32_t id)
{
    if (!id)
        return;
    for (uint32_t k = 0; k < s->nframes; k++) {
        struct vframe *f = &s->f[k];
        for (unsigned r = 0; r < RT_NR_REGS; r++)
            unlink_reg(&f->r[r], id);
        for (unsigned slot = 0; slot < VSLOTS; slot++)
            if (f->spilled & (1ull << slot))
                unlink_reg(&f->slot[slot], id);
    }
}
