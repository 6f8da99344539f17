/*
 * The verifier's scalar domain: each scalar is an unsigned range [umin, umax] and a signed range
 * [smin, smax], kept consistent with each other (vs_sync). ALU transfer functions over-
 * approximate the interpreter's results (and fold constants exactly, with the same defined
 * results for division by zero, INT_MIN / -1 and masked shifts); branch refinement narrows the
 * ranges on each edge of a conditional jump and detects edges that cannot be taken.
 * Precision only decides whether an access is proven statically or checked at run time; every
 * function here errs towards larger ranges. Owns no pointer logic.
 */
#include "rt_verify.h"

#include <string.h>

#define U32_MAX 0xffffffffull

void vs_set_unknown(struct vreg *r)
{
    r->umin = 0;
    r->umax = UINT64_MAX;
    r->smin = INT64_MIN;
    r->smax = INT64_MAX;
}

void vs_set_const(struct vreg *r, uint64_t c)
{
    r->umin = r->umax = c;
    r->smin = r->smax = (int64_t)c;
}

void vs_set_urange(struct vreg *r, uint64_t umin, uint64_t umax)
{
    vs_set_unknown(r);
    r->umin = umin;
    r->umax = umax;
    vs_sync(r);
}

void vs_set_srange(struct vreg *r, int64_t smin, int64_t smax)
{
    vs_set_unknown(r);
    r->smin = smin;
    r->smax = smax;
    vs_sync(r);
}

bool vs_is_const(const struct vreg *r)
{
    return r->umin == r->umax;
}

static uint64_t umax64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t umin64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static int64_t smax64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t smin64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

bool vs_sync(struct vreg *r)
{
    for (int k = 0; k < 2; k++) {
        /* A signed range on one side of zero is a contiguous unsigned range. */
        if (r->smin >= 0 || r->smax < 0) {
            r->umin = umax64(r->umin, (uint64_t)r->smin);
            r->umax = umin64(r->umax, (uint64_t)r->smax);
        }
        /* An unsigned range not crossing 2^63 is a contiguous signed range. */
        if (r->umax <= (uint64_t)INT64_MAX || r->umin > (uint64_t)INT64_MAX) {
            r->smin = smax64(r->smin, (int64_t)r->umin);
            r->smax = smin64(r->smax, (int64_t)r->umax);
        }
    }
    return r->umin <= r->umax && r->smin <= r->smax;
}

/* Smallest 2^k - 1 >= x. */
static uint64_t fill_mask(uint64_t x)
{
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    x |= x >> 32;
    return x;
}

uint64_t vs_alu_eval(unsigned op, int16_t off, bool is64, uint64_t a, uint64_t b)
{
    if (!is64) {
        uint32_t x = (uint32_t)a, y = (uint32_t)b, r;
        switch (op) {
        case BPF_ADD:
            r = x + y;
            break;
        case BPF_SUB:
            r = x - y;
            break;
        case BPF_MUL:
            r = x * y;
            break;
        case BPF_DIV:
            if (off == RT_OFF_SDIV)
                r = !y ? 0 : y == UINT32_MAX ? (uint32_t)-x : (uint32_t)((int32_t)x / (int32_t)y);
            else
                r = y ? x / y : 0;
            break;
        case BPF_MOD:
            if (off == RT_OFF_SDIV)
                r = !y ? x : y == UINT32_MAX ? 0 : (uint32_t)((int32_t)x % (int32_t)y);
            else
                r = y ? x % y : x;
            break;
        case BPF_OR:
            r = x | y;
            break;
        case BPF_AND:
            r = x & y;
            break;
        case BPF_XOR:
            r = x ^ y;
            break;
        case BPF_LSH:
            r = x << (y & 31);
            break;
        case BPF_RSH:
            r = x >> (y & 31);
            break;
        case BPF_ARSH:
            r = (uint32_t)((int32_t)x >> (y & 31));
            break;
        case BPF_NEG:
            r = (uint32_t)-x;
            break;
        case BPF_MOV:
            if (off == RT_OFF_MOVSX8)
                r = (uint32_t)(int32_t)(int8_t)y;
            else if (off == RT_OFF_MOVSX16)
                r = (uint32_t)(int32_t)(int16_t)y;
            else
                r = y;
            break;
        default:
            r = 0;
        }
        return r;
    }
    switch (op) {
    case BPF_ADD:
        return a + b;
    case BPF_SUB:
        return a - b;
    case BPF_MUL:
        return a * b;
    case BPF_DIV:
        if (off == RT_OFF_SDIV)
            return !b ? 0 : b == UINT64_MAX ? -a : (uint64_t)((int64_t)a / (int64_t)b);
        return b ? a / b : 0;
    case BPF_MOD:
        if (off == RT_OFF_SDIV)
            return !b ? a : b == UINT64_MAX ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
        return b ? a % b : a;
    case BPF_OR:
        return a | b;
    case BPF_AND:
        return a & b;
    case BPF_XOR:
        return a ^ b;
    case BPF_LSH:
        return a << (b & 63);
    case BPF_RSH:
        return a >> (b & 63);
    case BPF_ARSH:
        return (uint64_t)((int64_t)a >> (b & 63));
    case BPF_NEG:
        return -a;
    case BPF_MOV:
        if (off == RT_OFF_MOVSX8)
            return (uint64_t)(int64_t)(int8_t)b;
        if (off == RT_OFF_MOVSX16)
            return (uint64_t)(int64_t)(int16_t)b;
        if (off == RT_OFF_MOVSX32)
            return (uint64_t)(int64_t)(int32_t)b;
        return b;
    default:
        return 0;
    }
}

/* 64-bit transfer for non-constant operands; sets d to a superset of the possible results. */
static void alu64_range(struct vreg *d, const struct vreg *s, unsigned op, int16_t off)
{
    struct vreg r;
    vs_set_unknown(&r);
    switch (op) {
    case BPF_ADD: {
        uint64_t lo, hi;
        if (!__builtin_add_overflow(d->umin, s->umin, &lo) &&
            !__builtin_add_overflow(d->umax, s->umax, &hi)) {
            r.umin = lo;
            r.umax = hi;
        }
        int64_t slo, shi;
        if (!__builtin_add_overflow(d->smin, s->smin, &slo) &&
            !__builtin_add_overflow(d->smax, s->smax, &shi)) {
            r.smin = slo;
            r.smax = shi;
        }
        break;
    }
    case BPF_SUB: {
        if (d->umin >= s->umax) {
            r.umin = d->umin - s->umax;
            r.umax = d->umax - s->umin;
        }
        int64_t slo, shi;
        if (!__builtin_sub_overflow(d->smin, s->smax, &slo) &&
            !__builtin_sub_overflow(d->smax, s->smin, &shi)) {
            r.smin = slo;
            r.smax = shi;
        }
        break;
    }
    case BPF_MUL:
        if (d->umax <= U32_MAX && s->umax <= U32_MAX) {
            r.umin = d->umin * s->umin;
            r.umax = d->umax * s->umax;
        }
        break;
    case BPF_DIV:
        if (off == RT_OFF_SDIV)
            break;
        if (s->umin == 0) {
            r.umax = d->umax;
        } else {
            r.umin = d->umin / s->umax;
            r.umax = d->umax / s->umin;
        }
        break;
    case BPF_MOD:
        if (off == RT_OFF_SDIV)
            break;
        r.umax = s->umin ? umin64(d->umax, s->umax - 1) : d->umax;
        break;
    case BPF_OR:
        r.umin = umax64(d->umin, s->umin);
        r.umax = fill_mask(d->umax | s->umax);
        break;
    case BPF_AND:
        r.umax = umin64(d->umax, s->umax);
        break;
    case BPF_XOR:
        r.umax = fill_mask(d->umax | s->umax);
        break;
    case BPF_LSH:
        if (vs_is_const(s)) {
            unsigned k = s->umin & 63;
            if (d->umax <= (UINT64_MAX >> k)) {
                r.umin = d->umin << k;
                r.umax = d->umax << k;
            }
        }
        break;
    case BPF_RSH:
        if (s->umax <= 63) {
            r.umin = d->umin >> s->umax;
            r.umax = d->umax >> s->umin;
        } else {
            r.umax = d->umax;
        }
        break;
    case BPF_ARSH:
        if (vs_is_const(s)) {
            unsigned k = s->umin & 63;
            r.smin = d->smin >> k;
            r.smax = d->smax >> k;
        }
        break;
    case BPF_NEG:
        if (d->smin > INT64_MIN) {
            r.smin = -d->smax;
            r.smax = -d->smin;
        }
        break;
    case BPF_MOV:
        if (off == 0) {
            r = *s;
        } else {
            int bits = off;
            int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << (bits - 1)) - 1;
            if (s->umax <= (uint64_t)hi)
                r = *s;
            else
                vs_set_srange(&r, lo, hi);
        }
        break;
    default:
        break;
    }
    if (!vs_sync(&r))
        vs_set_unknown(&r);
    d->umin = r.umin;
    d->umax = r.umax;
    d->smin = r.smin;
    d->smax = r.smax;
}

/* The low 32 bits of a scalar as a range within [0, 2^32). */
static void low32(struct vreg *r)
{
    if (r->umax <= U32_MAX)
        return;
    if (vs_is_const(r))
        vs_set_const(r, r->umin & U32_MAX);
    else
        vs_set_urange(r, 0, U32_MAX);
}

void vs_alu(struct vreg *d, const struct vreg *s, unsigned op, int16_t off, bool is64)
{
    if (op == BPF_NEG)
        s = d;
    if (vs_is_const(d) && vs_is_const(s)) {
        vs_set_const(d, vs_alu_eval(op, off, is64, d->umin, s->umin));
        return;
    }
    if (op == BPF_MOV && off == 0 && is64) {
        d->umin = s->umin;
        d->umax = s->umax;
        d->smin = s->smin;
        d->smax = s->smax;
        return;
    }
    if (is64) {
        alu64_range(d, s, op, off);
        return;
    }
    /* 32-bit: on operands within [0, 2^32) the 64-bit result equals the 32-bit one whenever it
     * stays below 2^32; signed operations are not tracked. */
    struct vreg a = *d, b = *s;
    low32(&a);
    low32(&b);
    if (vs_is_const(&a) && vs_is_const(&b)) {
        vs_set_const(d, vs_alu_eval(op, off, false, a.umin, b.umin));
        return;
    }
    bool signed_op = op == BPF_ARSH || op == BPF_NEG || (op == BPF_MOV && off) ||
                     ((op == BPF_DIV || op == BPF_MOD) && off == RT_OFF_SDIV);
    if (signed_op) {
        vs_set_urange(d, 0, U32_MAX);
        return;
    }
    if (op == BPF_LSH && !vs_is_const(&b)) {
        vs_set_urange(d, 0, U32_MAX);
        return;
    }
    if (op == BPF_LSH || op == BPF_RSH) {
        /* Masked count: apply the mask before the 64-bit transfer. */
        if (b.umax > 31) {
            if (vs_is_const(&b))
                vs_set_const(&b, b.umin & 31);
            else
                vs_set_urange(&b, 0, 31);
        }
    }
    alu64_range(&a, &b, op, off);
    if (a.umax > U32_MAX)
        vs_set_urange(d, 0, U32_MAX);
    else
        vs_set_urange(d, a.umin, a.umax);
}

void vs_end(struct vreg *d, bool to_be, bool bswap, int32_t width)
{
    if (vs_is_const(d)) {
        uint64_t x = d->umin;
        if (to_be || bswap)
            x = width == 16   ? __builtin_bswap16((uint16_t)x)
                : width == 32 ? __builtin_bswap32((uint32_t)x)
                              : __builtin_bswap64(x);
        else
            x = width == 16 ? (uint16_t)x : width == 32 ? (uint32_t)x : x;
        vs_set_const(d, x);
        return;
    }
    if (width == 64) {
        if (to_be || bswap)
            vs_set_unknown(d);
        return;
    }
    uint64_t lim = width == 16 ? 0xffff : U32_MAX;
    if (!to_be && !bswap && d->umax <= lim)
        return; /* truncation of a value that already fits */
    vs_set_urange(d, 0, lim);
}

static unsigned negate(unsigned op)
{
    switch (op) {
    case BPF_JEQ:
        return BPF_JNE;
    case BPF_JNE:
        return BPF_JEQ;
    case BPF_JGT:
        return BPF_JLE;
    case BPF_JLE:
        return BPF_JGT;
    case BPF_JGE:
        return BPF_JLT;
    case BPF_JLT:
        return BPF_JGE;
    case BPF_JSGT:
        return BPF_JSLE;
    case BPF_JSLE:
        return BPF_JSGT;
    case BPF_JSGE:
        return BPF_JSLT;
    case BPF_JSLT:
        return BPF_JSGE;
    default:
        return op;
    }
}

/* The outcome of "a op b" for known operands (JMP32: on the low 32 bits, signed as int32). */
static bool eval_cond(unsigned op, bool is32, uint64_t a, uint64_t b, bool *known)
{
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    if (is32) {
        a = (uint32_t)a;
        b = (uint32_t)b;
        sa = (int32_t)a;
        sb = (int32_t)b;
    }
    *known = true;
    switch (op) {
    case BPF_JEQ:
        return a == b;
    case BPF_JNE:
        return a != b;
    case BPF_JGT:
        return a > b;
    case BPF_JGE:
        return a >= b;
    case BPF_JLT:
        return a < b;
    case BPF_JLE:
        return a <= b;
    case BPF_JSGT:
        return sa > sb;
    case BPF_JSGE:
        return sa >= sb;
    case BPF_JSLT:
        return sa < sb;
    case BPF_JSLE:
        return sa <= sb;
    case BPF_JSET:
        return (a & b) != 0;
    }
    *known = false;
    return false;
}

/* a > b (strict) unsigned. */
static bool refine_ugt(struct vreg *a, struct vreg *b)
{
    if (b->umin == UINT64_MAX || a->umax == 0)
        return false;
    a->umin = umax64(a->umin, b->umin + 1);
    b->umax = umin64(b->umax, a->umax - 1);
    return true;
}

static void refine_uge(struct vreg *a, struct vreg *b)
{
    a->umin = umax64(a->umin, b->umin);
    b->umax = umin64(b->umax, a->umax);
}

static bool refine_sgt(struct vreg *a, struct vreg *b)
{
    if (b->smin == INT64_MAX || a->smax == INT64_MIN)
        return false;
    a->smin = smax64(a->smin, b->smin + 1);
    b->smax = smin64(b->smax, a->smax - 1);
    return true;
}

static void refine_sge(struct vreg *a, struct vreg *b)
{
    a->smin = smax64(a->smin, b->smin);
    b->smax = smin64(b->smax, a->smax);
}

bool vs_refine(struct vreg *a, struct vreg *b, unsigned op, bool is32, bool taken)
{
    if (!taken)
        op = negate(op);
    if (vs_is_const(a) && vs_is_const(b)) {
        bool known;
        bool r = eval_cond(op, is32, a->umin, b->umin, &known);
        if (op == BPF_JSET && !taken)
            r = !eval_cond(BPF_JSET, is32, a->umin, b->umin, &known);
        return !known || r;
    }
    if (op == BPF_JSET) {
        /* taken: some common bit; not taken: none. Only zero ranges are decidable. */
        if (taken && (a->umax == 0 || b->umax == 0))
            return false;
        return true;
    }
    if (is32) {
        bool fits_u = a->umax <= U32_MAX && b->umax <= U32_MAX;
        bool fits_s = a->umax <= (uint64_t)INT32_MAX && b->umax <= (uint64_t)INT32_MAX;
        bool sop = op == BPF_JSGT || op == BPF_JSGE || op == BPF_JSLT || op == BPF_JSLE;
        if (!(sop ? fits_s : fits_u))
            return true; /* upper bits unknown: no refinement */
    }
    switch (op) {
    case BPF_JEQ:
        a->umin = b->umin = umax64(a->umin, b->umin);
        a->umax = b->umax = umin64(a->umax, b->umax);
        a->smin = b->smin = smax64(a->smin, b->smin);
        a->smax = b->smax = smin64(a->smax, b->smax);
        break;
    case BPF_JNE:
        if (vs_is_const(b)) {
            if (a->umin == b->umin)
                a->umin++;
            else if (a->umax == b->umin)
                a->umax--;
            if (a->smin == b->smin)
                a->smin++;
            else if (a->smax == b->smin)
                a->smax--;
        } else if (vs_is_const(a)) {
            return vs_refine(b, a, BPF_JNE, false, true);
        }
        break;
    case BPF_JGT:
        if (!refine_ugt(a, b))
            return false;
        break;
    case BPF_JGE:
        refine_uge(a, b);
        break;
    case BPF_JLT:
        if (!refine_ugt(b, a))
            return false;
        break;
    case BPF_JLE:
        refine_uge(b, a);
        break;
    case BPF_JSGT:
        if (!refine_sgt(a, b))
            return false;
        break;
    case BPF_JSGE:
        refine_sge(a, b);
        break;
    case BPF_JSLT:
        if (!refine_sgt(b, a))
            return false;
        break;
    case BPF_JSLE:
        refine_sge(b, a);
        break;
    default:
        return true;
    }
    return vs_sync(a) && vs_sync(b);
}
