/*
 * An independent reference for the eBPF ALU, byte-order and jump semantics, written from the ISA
 * text (RFC 9669; ../shared/reference/ebpf.md) for the soundness tests, which check the
 * interpreter and the verifier's value tracking against it. Owns no test logic.
 */
#ifndef BPFMM_ISA_REF_H
#define BPFMM_ISA_REF_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>

/* --- reference semantics, from the ISA text (RFC 9669; ../shared/reference/ebpf.md) ---------
 * Deliberately not the VM's formulation: values are w-bit words (w = 32 or 64) held in a uint64_t
 * and masked after every step; multiplication is shift-and-add, division is bitwise long
 * division, signed division and modulo go through sign and magnitude, shifts are repeated
 * single-bit steps, sign extension ORs in the high bits, jump conditions compare by the highest
 * differing bit (signed: after flipping the sign bit). C's signed '/', '%', '>>' and casts to
 * signed types are not used, so a mistake shared with the interpreter (or with the verifier's
 * constant folding) is unlikely. */

static inline uint64_t wmask(unsigned w)
{
    return w == 64 ? ~0ull : (1ull << w) - 1;
}

static inline uint64_t topbit(unsigned w)
{
    return 1ull << (w - 1);
}

static inline uint64_t wneg(uint64_t x, unsigned w)
{
    return (~x + 1) & wmask(w);
}

static inline uint64_t wmul(uint64_t a, uint64_t b, unsigned w)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < w; i++)
        if ((b >> i) & 1)
            r += a << i;
    return r & wmask(w);
}

/* Unsigned long division of w-bit words, b != 0. */
static inline void wdivmod(uint64_t a, uint64_t b, unsigned w, uint64_t *q, uint64_t *r)
{
    uint64_t quo = 0, rem = 0;
    for (int i = (int)w - 1; i >= 0; i--) {
        bool carry = rem >> 63; /* the shifted-out bit keeps rem's true value >= 2^64 > b */
        rem = (rem << 1) | ((a >> i) & 1);
        if (carry || rem >= b) {
            rem -= b;
            quo |= 1ull << i;
        }
    }
    *q = quo;
    *r = rem;
}

static inline uint64_t wabs(uint64_t x, unsigned w)
{
    return (x & topbit(w)) ? wneg(x, w) : x;
}

static inline uint64_t wshift(uint64_t x, unsigned n, unsigned w,
                              int dir) /* -1 left, 0 right, 1 arith */
{
    for (unsigned i = 0; i < n; i++) {
        if (dir < 0)
            x = (x + x) & wmask(w);
        else
            x = (x >> 1) | (dir > 0 ? (x & topbit(w)) : 0);
    }
    return x;
}

static inline uint64_t wsext(uint64_t x, unsigned from, unsigned w)
{
    x &= wmask(from);
    if (x & topbit(from))
        x |= ~wmask(from);
    return x & wmask(w);
}

static inline uint64_t wbits(uint64_t a, uint64_t b, unsigned w, int op) /* 0 and, 1 or, 2 xor */
{
    uint64_t r = 0;
    for (unsigned i = 0; i < w; i++) {
        unsigned x = (a >> i) & 1, y = (b >> i) & 1;
        unsigned z = op == 0 ? (x & y) : op == 1 ? (x | y) : (x != y);
        r |= (uint64_t)z << i;
    }
    return r;
}

static inline uint64_t wswap(uint64_t x, unsigned bits)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < bits / 8; i++)
        r |= ((x >> (8 * i)) & 0xff) << (bits - 8 - 8 * i);
    return r;
}

/* dst = dst op src for ALU (w = 32, result zero-extended) or ALU64 (w = 64). */
static inline uint64_t ref_alu(unsigned op, int16_t off, bool is64, uint64_t a, uint64_t b)
{
    unsigned w = is64 ? 64 : 32;
    uint64_t m = wmask(w), q, r;
    a &= m;
    b &= m;
    bool sgn = off == 1; /* SDIV / SMOD */
    switch (op) {
    case BPF_ADD:
        return (a + b) & m;
    case BPF_SUB:
        return (a + wneg(b, w)) & m;
    case BPF_MUL:
        return wmul(a, b, w);
    case BPF_DIV:
        if (b == 0)
            return 0;
        wdivmod(sgn ? wabs(a, w) : a, sgn ? wabs(b, w) : b, w, &q, &r);
        if (sgn && ((a ^ b) & topbit(w)))
            q = wneg(q, w); /* quotient truncated toward zero */
        return q;
    case BPF_MOD:
        if (b == 0)
            return a;
        wdivmod(sgn ? wabs(a, w) : a, sgn ? wabs(b, w) : b, w, &q, &r);
        if (sgn && (a & topbit(w)))
            r = wneg(r, w); /* the remainder takes the dividend's sign */
        return r;
    case BPF_AND:
        return wbits(a, b, w, 0);
    case BPF_OR:
        return wbits(a, b, w, 1);
    case BPF_XOR:
        return wbits(a, b, w, 2);
    case BPF_LSH:
        return wshift(a, (unsigned)(b % w), w, -1);
    case BPF_RSH:
        return wshift(a, (unsigned)(b % w), w, 0);
    case BPF_ARSH:
        return wshift(a, (unsigned)(b % w), w, 1);
    case BPF_NEG:
        return wneg(a, w);
    case BPF_MOV:
        return off ? wsext(b, (unsigned)off, w) : b;
    }
    return 0;
}

/* BPF_END: ALU64 always swaps (BSWAP); ALU swaps for TO_BE and truncates for TO_LE (the host
 * is little-endian); either way the result is the low `width` bits, zero-extended. */
static inline uint64_t ref_end(bool is64, bool to_be, unsigned width, uint64_t v)
{
    v &= wmask(width);
    return (is64 || to_be) ? wswap(v, width) : v;
}

/* -1, 0 or 1 as the w-bit words a and b compare unsigned: the highest differing bit decides. */
static inline int wcmp(uint64_t a, uint64_t b, unsigned w)
{
    for (int i = (int)w - 1; i >= 0; i--) {
        unsigned x = (a >> i) & 1, y = (b >> i) & 1;
        if (x != y)
            return x ? 1 : -1;
    }
    return 0;
}

static inline bool ref_cond(unsigned op, bool is32, uint64_t a, uint64_t b)
{
    unsigned w = is32 ? 32 : 64;
    int u = wcmp(a, b, w);
    int sg = wcmp(a ^ topbit(w), b ^ topbit(w), w); /* signed order as unsigned order */
    switch (op) {
    case BPF_JEQ:
        return u == 0;
    case BPF_JNE:
        return u != 0;
    case BPF_JGT:
        return u > 0;
    case BPF_JGE:
        return u >= 0;
    case BPF_JLT:
        return u < 0;
    case BPF_JLE:
        return u <= 0;
    case BPF_JSGT:
        return sg > 0;
    case BPF_JSGE:
        return sg >= 0;
    case BPF_JSLT:
        return sg < 0;
    case BPF_JSLE:
        return sg <= 0;
    case BPF_JSET:
        return wbits(a, b, w, 0) != 0;
    }
    return false;
}

#endif
