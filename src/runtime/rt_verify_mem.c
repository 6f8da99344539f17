/*
 * Memory rules of the verifier: every load, store and atomic goes through a register the
 * verifier knows to point into the ctx, a stack frame, or a map value (global data included).
 * An access whose offset range lies inside its region is proven and runs unchecked; one whose
 * range is certainly outside (a constant offset past the end, say) is rejected at load; any
 * other gets a run-time check against the region recorded here. Also tracks stack
 * initialisation and register spills, refuses pointer leaks (pointers stored into maps or the
 * ctx, pointer bytes read back as data) and writes to read-only memory. Helper memory arguments
 * must be proven statically. Owns no ALU or control-flow logic.
 */
#include "rt_verify.h"
#include "rt_map.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *kind_word(char kind)
{
    return kind == 'r' ? "read" : kind == 'w' ? "write" : "atomic access";
}

/* "ctx+16", "fp-8", "value+[0..60]", "ctx+<unknown>" */
static void where(char *buf, size_t size, const char *base, const struct vreg *p, int16_t off)
{
    if (!vreg_off_bounded(p)) {
        snprintf(buf, size, "%s+<unknown offset>", base);
        return;
    }
    long long lo = (long long)p->smin + off, hi = (long long)p->smax + off;
    if (lo == hi)
        snprintf(buf, size, "%s%s%lld", base, lo < 0 ? "" : "+", lo);
    else
        snprintf(buf, size, "%s+[%lld..%lld]", base, lo, hi);
}

/* The bytes an access may start at: pointer offset range plus the instruction's offset. Unbounded
 * ranges (too wide to prove anything) give false, and lo/hi are then meaningless. */
static bool access_range(const struct vreg *p, int16_t off, int64_t *lo, int64_t *hi)
{
    *lo = *hi = 0;
    if (!vreg_off_bounded(p))
        return false;
    *lo = p->smin + off;
    *hi = p->smax + off;
    return true;
}

static void set_loaded(struct vreg *out, unsigned size, bool sx)
{
    vreg_scalar_unknown(out);
    if (size == 8)
        return;
    unsigned bits = size * 8;
    if (sx)
        vs_set_srange(out, -((int64_t)1 << (bits - 1)), ((int64_t)1 << (bits - 1)) - 1);
    else
        vs_set_urange(out, 0, ((uint64_t)1 << bits) - 1);
}

static bool stored_ptr(const struct vreg *val)
{
    return val && (vreg_is_ptr(val) || val->type == VT_MIXED);
}

int vrecord_access(struct verifier *v, uint32_t i, enum rt_region region, uint32_t frame_up,
                   uint32_t map, bool checked, bool write)
{
    struct vinfo *in = &v->info[i];
    if (in->region == RT_RG_NONE) {
        in->region = (uint8_t)region;
        in->frame = (uint8_t)frame_up;
        in->map = map;
    } else if (in->region != region || (region == RT_RG_STACK && in->frame != frame_up) ||
               (region == RT_RG_MAP && in->map != map)) {
        in->conflict = 1; /* conflict: only an error if the access needs a run-time check */
    }
    if (checked)
        in->checked = 1;
    if (write)
        in->write = 1;
    return 0;
}

static void mark_ctx_read(struct verifier *v, int64_t from, int64_t to)
{
    if (!v->ctx_reads)
        return;
    if (from < 0)
        from = 0;
    if (to > (int64_t)v->ctx->size)
        to = v->ctx->size;
    for (int64_t b = from; b < to; b++)
        vbit_set(v->ctx_reads, (unsigned)b);
}

static int ctx_access(struct verifier *v, uint32_t i, const struct vreg *p, unsigned base,
                      int16_t off, unsigned size, char kind, const struct vreg *val,
                      unsigned valreg, bool sx, struct vreg *out)
{
    char at[64];
    where(at, sizeof(at), "ctx", p, off);
    if (stored_ptr(val))
        return verr(v, i, "storing pointer r%u into the ctx would leak an address", valreg);
    if (!v->ctx) { /* compat memory: size known only at run time */
        vrecord_access(v, i, RT_RG_CTX_DYN, 0, 0, true, kind != 'r');
        if (kind == 'r')
            set_loaded(out, size, sx);
        return 0;
    }
    const struct bpfmm_rt_ctx_desc *d = v->ctx;
    const char *cname = d->name ? d->name : "the ctx";
    if (kind != 'r' && !d->writable)
        return verr(v, i, "%s of %u bytes at %s: %s is read-only", kind_word(kind), size, at,
                    cname);
    int64_t lo, hi;
    bool bounded = access_range(p, off, &lo, &hi);
    bool checked = false;
    if (bounded && lo >= 0 && hi + (int64_t)size <= (int64_t)d->size) {
        if (kind == 'r')
            mark_ctx_read(v, lo, hi + size);
    } else if (bounded && (lo == hi || hi + (int64_t)size <= 0 || lo >= (int64_t)d->size)) {
        const char *field = vctx_field(v, lo < 0 ? hi : lo);
        char fpart[96] = "";
        if (field)
            snprintf(fpart, sizeof(fpart), " (field %s)", field);
        if (lo + (int64_t)size <= (int64_t)d->size && lo < 0)
            return verr(v, i, "%s of %u bytes at %s%s is before the start of %s", kind_word(kind),
                        size, at, fpart, cname);
        return verr(v, i, "%s of %u bytes at %s%s is past the end of %s (%u bytes)",
                    kind_word(kind), size, at, fpart, cname, d->size);
    } else {
        checked = true;
        if (kind == 'r') {
            if (bounded)
                mark_ctx_read(v, lo, hi + size);
            else
                v->ctx_read_all = true;
        }
    }
    if (kind == 'a' && lo == hi && bounded && lo % size)
        return verr(v, i, "misaligned atomic access of %u bytes at %s", size, at);
    vrecord_access(v, i, RT_RG_CTX, 0, 0, checked, kind != 'r');
    if (kind == 'r')
        set_loaded(out, size, sx);
    return 0;
}

static void update_depth(struct verifier *v, const struct vframe *F, int64_t lo)
{
    uint32_t need = (uint32_t)((-lo + 7) & ~7ll);
    if (need > RT_STACK_SIZE)
        need = RT_STACK_SIZE;
    if (v->funcs[F->func].depth < need)
        v->funcs[F->func].depth = need;
}

/* Slots overlapping stack bytes [from, to) (indices into the frame). */
static void slot_span(unsigned from, unsigned to, unsigned *s0, unsigned *s1)
{
    *s0 = from / 8;
    *s1 = (to + 7) / 8;
}

/* Bytes [from, to) are overwritten: spills they touch end; pointer remnants become poison. */
static void clobber_bytes(struct vframe *F, unsigned from, unsigned to, bool exact)
{
    unsigned s0, s1;
    slot_span(from, to, &s0, &s1);
    for (unsigned s = s0; s < s1; s++) {
        uint64_t bit = 1ull << s;
        if (!(F->spilled & bit))
            continue;
        bool ptr = F->slot[s].type != VT_SCALAR;
        F->spilled &= ~bit;
        vreg_uninit(&F->slot[s]);
        if (!ptr)
            continue;
        for (unsigned b = s * 8; b < s * 8 + 8; b++) {
            if (exact && b >= from && b < to)
                continue;
            vbit_clear(F->init, b);
            vbit_set(F->poison, b);
        }
    }
    for (unsigned b = from; b < to; b++) {
        vbit_set(F->touched, b);
        if (exact) {
            vbit_set(F->init, b);
            vbit_clear(F->poison, b);
        }
    }
}

static int spilled_ptr_in(const struct vframe *F, unsigned from, unsigned to, unsigned *slot)
{
    unsigned s0, s1;
    slot_span(from, to, &s0, &s1);
    for (unsigned s = s0; s < s1; s++)
        if ((F->spilled & (1ull << s)) && F->slot[s].type != VT_SCALAR) {
            *slot = s;
            return 1;
        }
    return 0;
}

/* Bytes [from, to) are read. Rejected: bytes that may hold pointer bits, and (unless the offset
 * is variable) bytes no store on any path could have written. Bytes written only on some paths
 * are allowed; the stack is then zeroed at entry, so such a read sees 0 or program data. */
static int check_readable(struct verifier *v, uint32_t i, const struct vframe *F, unsigned from,
                          unsigned to, const char *what, bool allow_uninit)
{
    unsigned slot;
    if (spilled_ptr_in(F, from, to, &slot))
        return verr(v, i, "%s reads part of the pointer spilled at fp-%u", what,
                    RT_STACK_SIZE - slot * 8);
    for (unsigned b = from; b < to; b++) {
        if (vbit(F->poison, b))
            return verr(v, i, "%s reads fp-%u, which may hold part of an overwritten pointer", what,
                        RT_STACK_SIZE - b);
        if (!vbit(F->init, b)) {
            if (!allow_uninit && !vbit(F->touched, b))
                return verr(v, i, "%s reads uninitialised stack at fp-%u", what, RT_STACK_SIZE - b);
            v->zero_stack = true;
        }
    }
    return 0;
}

static int stack_access(struct verifier *v, struct vstate *s, uint32_t i, const struct vreg *p,
                        int16_t off, unsigned size, char kind, const struct vreg *val,
                        unsigned valreg, int64_t val_imm, bool sx, struct vreg *out)
{
    struct vframe *F = &s->f[p->frame];
    uint32_t frame_up = s->nframes - 1 - p->frame;
    char at[64], what[112];
    where(at, sizeof(at), "fp", p, off);
    snprintf(what, sizeof(what), "%s of %u bytes at %s", kind_word(kind), size, at);
    int64_t lo, hi;
    bool bounded = access_range(p, off, &lo, &hi);
    const int64_t S = RT_STACK_SIZE;

    if (bounded && lo == hi) {
        if (lo < -S || lo + (int64_t)size > 0)
            return verr(v, i, "%s is outside the %d-byte stack frame", what, RT_STACK_SIZE);
        update_depth(v, F, lo);
        vrecord_access(v, i, RT_RG_STACK, frame_up, 0, false, kind != 'r');
        unsigned from = (unsigned)(lo + S), to = from + size;
        bool aligned8 = size == 8 && (from % 8) == 0;
        if (kind == 'a' && (from % size))
            return verr(v, i, "misaligned atomic access of %u bytes at %s", size, at);
        if (kind == 'r') {
            if (aligned8 && (F->spilled & (1ull << (from / 8)))) {
                *out = F->slot[from / 8];
                return 0;
            }
            int err = check_readable(v, i, F, from, to, what, false);
            if (err)
                return err;
            set_loaded(out, size, sx);
            return 0;
        }
        if (kind == 'a') {
            int err = check_readable(v, i, F, from, to, what, false);
            if (err)
                return err;
            clobber_bytes(F, from, to, true);
            return 0;
        }
        /* store */
        if (stored_ptr(val)) {
            if (!aligned8)
                return verr(v, i,
                            "pointer r%u must be stored to the stack as one aligned 8-byte "
                            "value (%s)",
                            valreg, what);
            if (val->type == VT_STACK && val->frame > p->frame)
                return verr(v, i,
                            "storing a pointer to a called function's stack into its caller's "
                            "frame (%s) would leave it dangling",
                            at);
        }
        clobber_bytes(F, from, to, true);
        if (aligned8) {
            unsigned slot = from / 8;
            F->spilled |= 1ull << slot;
            if (val)
                F->slot[slot] = *val;
            else
                vreg_scalar_const(&F->slot[slot], (uint64_t)val_imm);
        }
        return 0;
    }

    /* Variable offset: proven if the whole range is inside the frame, else checked. */
    if (bounded && (hi + (int64_t)size <= -S || lo >= 0))
        return verr(v, i, "%s is always outside the %d-byte stack frame", what, RT_STACK_SIZE);
    bool inside = bounded && lo >= -S && hi + (int64_t)size <= 0;
    int64_t from = -S, to = 0; /* bytes the access may touch, clamped to the frame */
    if (bounded) {
        from = lo < -S ? -S : lo;
        to = hi + (int64_t)size > 0 ? 0 : hi + (int64_t)size;
    }
    update_depth(v, F, inside ? lo : -S);
    vrecord_access(v, i, RT_RG_STACK, frame_up, 0, !inside, kind != 'r');
    unsigned bf = (unsigned)(from + S), bt = (unsigned)(to + S);
    if (stored_ptr(val))
        return verr(v, i, "pointer r%u cannot be stored at a variable stack offset (%s)", valreg,
                    what);
    if (kind != 'w') {
        int err = check_readable(v, i, F, bf, bt, what, true);
        if (err)
            return err;
    }
    if (kind != 'r') {
        unsigned slot;
        if (spilled_ptr_in(F, bf, bt, &slot))
            return verr(v, i, "%s may overwrite the pointer spilled at fp-%u", what,
                        RT_STACK_SIZE - slot * 8);
        clobber_bytes(F, bf, bt, false);
    }
    if (kind == 'r')
        set_loaded(out, size, sx);
    return 0;
}

/* Smallest value size of a set of maps (what static proofs must respect), the map that has it,
 * and a map of the set that is read-only to programs (or NULL). */
static uint32_t maps_min_value(const struct verifier *v, uint64_t maps, const struct rt_map **small,
                               const struct rt_map **ro)
{
    uint32_t vs = UINT32_MAX;
    *small = *ro = NULL;
    for (uint64_t set = maps; set; set &= set - 1) {
        const struct rt_map *m = v->src->maps[vmap_first(set)];
        if (m->value_size < vs) {
            vs = m->value_size;
            *small = m;
        }
        if (m->prog_readonly && !*ro)
            *ro = m;
    }
    return *small ? vs : 0;
}

/* Map values: accesses must be proven inside the value, except in global data, where a run-time
 * check is exact (one value). For other maps contains() could only say "inside some value of
 * this map", which does not stop an overflow into a neighbouring value. */
static int map_access(struct verifier *v, uint32_t i, const struct vreg *p, int16_t off,
                      unsigned size, char kind, const struct vreg *val, unsigned valreg, bool sx,
                      struct vreg *out)
{
    const struct rt_map *m, *ro;
    int64_t vs = maps_min_value(v, p->maps, &m, &ro);
    char at[64];
    where(at, sizeof(at), "value", p, off);
    if (!m)
        return verr(v, i, "r%u points into no known map", v->insns[i].dst_reg);
    if (kind != 'r' && ro)
        return verr(v, i, "%s of %u bytes at %s of map '%s': the map is read-only to programs",
                    kind_word(kind), size, at, ro->name);
    if (stored_ptr(val))
        return verr(v, i, "storing pointer r%u into a value of map '%s' would leak an address",
                    valreg, m->name);
    int64_t lo, hi;
    bool bounded = access_range(p, off, &lo, &hi);
    bool checked = false;
    if (bounded && lo >= 0 && hi + (int64_t)size <= vs) {
        /* proven */
    } else if (bounded && (lo == hi || hi + (int64_t)size <= 0 || lo >= vs)) {
        return verr(v, i, "%s of %u bytes at %s of map '%s' is outside the value (%u bytes)",
                    kind_word(kind), size, at, m->name, m->value_size);
    } else if ((p->maps & (p->maps - 1)) == 0 && m->global && m->global_data) {
        checked = true;
    } else {
        return verr(v, i,
                    "%s of %u bytes at %s of map '%s' may be outside the value (%u bytes): "
                    "bound the offset (e.g. if (idx < N)) before the access",
                    kind_word(kind), size, at, m->name, m->value_size);
    }
    if (kind == 'a' && bounded && lo == hi && lo % size)
        return verr(v, i, "misaligned atomic access of %u bytes at %s of map '%s'", size, at,
                    m->name);
    vrecord_access(v, i, RT_RG_MAP, 0, vmap_first(p->maps), checked, kind != 'r');
    if (kind == 'r')
        set_loaded(out, size, sx);
    return 0;
}

int vmem_access(struct verifier *v, struct vstate *s, uint32_t i, unsigned base, int16_t off,
                unsigned size, char kind, const struct vreg *val, int64_t val_imm, bool sx,
                struct vreg *out)
{
    const struct vreg p = vcur(s)->r[base];
    unsigned valreg = v->insns[i].src_reg;
    switch (p.type) {
    case VT_SCALAR:
        return verr(v, i, "r%u is a scalar, not a pointer: it cannot be dereferenced", base);
    case VT_MAP:
        return verr(v, i,
                    "r%u is map '%s' itself, not a pointer to a value: use "
                    "bpf_map_lookup_elem()",
                    base, vmap_name(v, p.maps));
    case VT_MAPVAL_NULL:
        return verr(v, i,
                    "r%u may be NULL (result of bpf_map_lookup_elem() on map '%s'): compare it "
                    "with 0 before dereferencing it",
                    base, vmap_name(v, p.maps));
    case VT_MIXED:
        return verr(v, i,
                    "r%u holds different kinds of values on different paths: it cannot be "
                    "dereferenced",
                    base);
    case VT_CTX:
        return ctx_access(v, i, &p, base, off, size, kind, val, valreg, sx, out);
    case VT_STACK:
        return stack_access(v, s, i, &p, off, size, kind, val, valreg, val_imm, sx, out);
    case VT_MAPVAL:
        return map_access(v, i, &p, off, size, kind, val, valreg, sx, out);
    default:
        return verr(v, i, "r%u is read before it is initialised", base);
    }
}

int vmem_helper_arg(struct verifier *v, struct vstate *s, uint32_t i, unsigned argno,
                    const char *what, const struct vreg *p, uint64_t size, uint64_t min_size,
                    bool write)
{
    char arg[96];
    snprintf(arg, sizeof(arg), "argument %u (%s, r%u)", argno, what, argno);
    switch (p->type) {
    case VT_CTX:
    case VT_STACK:
    case VT_MAPVAL:
        break;
    case VT_MAPVAL_NULL:
        return verr(v, i, "%s may be NULL: compare it with 0 first", arg);
    default:
        return verr(v, i, "%s must point to memory; r%u is %s", arg, argno, vtype_name(p));
    }
    if (!vreg_off_bounded(p) || size > RT_MAX_INSNS)
        return verr(v, i, "%s: the pointer's offset is not known; use a constant offset", arg);
    int64_t lo = p->smin, hi = p->smax + (int64_t)size;
    if (p->type == VT_CTX) {
        if (!v->ctx)
            return verr(v, i, "%s points into memory whose size is only known at run time", arg);
        if (write && !v->ctx->writable)
            return verr(v, i, "%s: the ctx is read-only", arg);
        if (lo < 0 || hi > (int64_t)v->ctx->size)
            return verr(v, i, "%s: ctx+[%lld..%lld) is outside the ctx (%u bytes)", arg,
                        (long long)lo, (long long)hi, v->ctx->size);
        if (!write)
            mark_ctx_read(v, lo, hi);
        return 0;
    }
    if (p->type == VT_MAPVAL) {
        const struct rt_map *m, *ro;
        int64_t vs = maps_min_value(v, p->maps, &m, &ro);
        if (!m)
            return verr(v, i, "%s points into no known map", arg);
        if (write && ro)
            return verr(v, i, "%s: map '%s' is read-only to programs", arg, ro->name);
        if (lo < 0 || hi > vs)
            return verr(v, i, "%s: value+[%lld..%lld) is outside the value of map '%s' (%u bytes)",
                        arg, (long long)lo, (long long)hi, m->name, m->value_size);
        return 0;
    }
    /* stack */
    struct vframe *F = &s->f[p->frame];
    const int64_t S = RT_STACK_SIZE;
    if (lo != p->smax)
        return verr(v, i, "%s: a stack pointer passed to a helper needs a constant offset", arg);
    if (lo < -S || hi > 0)
        return verr(v, i, "%s: fp%lld..fp%lld is outside the %d-byte stack frame", arg,
                    (long long)lo, (long long)hi, RT_STACK_SIZE);
    if (size == 0)
        return 0;
    update_depth(v, F, lo);
    unsigned from = (unsigned)(lo + S), to = (unsigned)(hi + S);
    if (write) {
        unsigned certain = from + (unsigned)(min_size < size ? min_size : size);
        clobber_bytes(F, from, certain, true);
        clobber_bytes(F, certain, to, false); /* the helper may stop short of the maximum */
        return 0;
    }
    char desc[192];
    snprintf(desc, sizeof(desc), "%s (%llu bytes at fp%lld)", arg, (unsigned long long)size,
             (long long)lo);
    return check_readable(v, i, F, from, to, desc, false);
}
