/*
 * BTF-driven formatting of keys, values and knobs (syntax in rt_btf_value.h; parsing, the other
 * direction, is rt_btf_parse.c). libbpf's btf_dump__dump_type_data prints C initialiser syntax
 * ("(struct x){.a = 1,}"); the CLI wants the compact form that it also parses back. Never reads
 * outside the bytes it is given, whatever the BTF says. Owns no map or knob logic.
 */
#include "rt_btf_value.h"

#include "rt_btf.h"
#include "rt_obj.h"

#include <bpf/btf.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- shared ------------------------------------------------------------------------------ */

static uint64_t load_uint(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n > 8 ? 8 : n);
    return v;
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
    if (bits == 0) /* a zero-width integer (damaged BTF) */
        return 0;
    if (bits >= 64)
        return (int64_t)v;
    uint64_t m = 1ull << (bits - 1);
    v &= (1ull << bits) - 1;
    return (int64_t)((v ^ m) - m);
}

/* --- formatting -------------------------------------------------------------------------- */

struct out {
    char *buf;
    size_t size, len;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->size ? o->size - o->len : 0;
    int n = vsnprintf(o->buf + (o->len < o->size ? o->len : o->size - 1), room ? room : 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room)
        o->overflow = true;
    o->len += (size_t)n;
}

static void fmt_raw(struct out *o, const unsigned char *d, size_t size)
{
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        put(o, "%" PRIu64, load_uint(d, size));
        return;
    }
    for (size_t i = 0; i < size; i++)
        put(o, i ? " %02x" : "%02x", d[i]);
}

static void fmt_string(struct out *o, const unsigned char *d, size_t n)
{
    put(o, "\"");
    for (size_t i = 0; i < n && d[i]; i++) {
        unsigned char c = d[i];
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (isprint(c))
            put(o, "%c", c);
        else
            put(o, "\\x%02x", c);
    }
    put(o, "\"");
}

static void fmt_type(struct out *o, const struct btf *btf, uint32_t id, const unsigned char *d,
                     size_t avail, int depth);

static void fmt_int_bits(struct out *o, const struct btf_type *t, uint64_t v, unsigned bits)
{
    uint8_t enc = btf_int_encoding(t);
    if (enc & BTF_INT_BOOL)
        put(o, "%s", v ? "true" : "false");
    else if (enc & BTF_INT_SIGNED)
        put(o, "%" PRId64, sign_extend(v, bits));
    else
        put(o, "%" PRIu64, (uint64_t)(bits < 64 ? v & ((1ull << bits) - 1) : v));
}

static void fmt_members(struct out *o, const struct btf *btf, const struct btf_type *t,
                        const unsigned char *d, size_t avail, int depth)
{
    const struct btf_member *m = btf_members(t);
    unsigned n = btf_vlen(t);
    if (btf_is_union(t) && n > 1)
        n = 1; /* a union shows its first member */
    put(o, "{");
    for (unsigned i = 0; i < n; i++, m++) {
        const char *name = btf__name_by_offset(btf, m->name_off);
        uint32_t bit_off = btf_member_bit_offset(t, i);
        uint32_t bits = btf_member_bitfield_size(t, i);
        if (i)
            put(o, ",");
        if (name && *name)
            put(o, "%s=", name);
        if (bits) {
            const struct btf_type *mt = btf__type_by_id(btf, rt_btf_skip_mods(btf, m->type));
            size_t byte = bit_off / 8;
            if (bits > 64 || byte + (bit_off % 8 + bits + 7) / 8 > avail) {
                put(o, "?");
                continue;
            }
            unsigned char tmp[16] = {0};
            size_t nb = (bit_off % 8 + bits + 7) / 8;
            memcpy(tmp, d + byte, nb > 9 ? 9 : nb);
            uint64_t v = load_uint(tmp, 8) >> (bit_off % 8);
            if (nb == 9)
                v |= (uint64_t)tmp[8] << (64 - bit_off % 8);
            if (mt && btf_is_int(mt))
                fmt_int_bits(o, mt, v, bits);
            else
                put(o, "%" PRIu64, (uint64_t)(v & (bits < 64 ? (1ull << bits) - 1 : ~0ull)));
            continue;
        }
        if (bit_off / 8 > avail) {
            put(o, "?");
            continue;
        }
        fmt_type(o, btf, m->type, d + bit_off / 8, avail - bit_off / 8, depth + 1);
    }
    put(o, "}");
}

static void fmt_type(struct out *o, const struct btf *btf, uint32_t id, const unsigned char *d,
                     size_t avail, int depth)
{
    id = rt_btf_skip_mods(btf, id);
    const struct btf_type *t = btf__type_by_id(btf, id);
    int64_t sz = btf__resolve_size(btf, id);
    /* No size (damaged BTF, e.g. an array too large to resolve) or more than there is: never
     * read past the bytes given. */
    if (!t || depth > RT_BTF_MAX_DEPTH || sz < 0 || (size_t)sz > avail) {
        put(o, "?");
        return;
    }
    switch (btf_kind(t)) {
    case BTF_KIND_INT: {
        if (t->size > 8) {
            put(o, "0x");
            for (size_t i = t->size; i-- > 0;)
                put(o, "%02x", d[i]);
            return;
        }
        unsigned bits = btf_int_bits(t), off = btf_int_offset(t);
        if (off >= 64 || (!bits && !t->size)) { /* damaged BTF: show the bytes */
            fmt_raw(o, d, t->size);
            return;
        }
        fmt_int_bits(o, t, load_uint(d, t->size) >> off, bits ? bits : t->size * 8);
        return;
    }
    case BTF_KIND_PTR:
        put(o, "0x%" PRIx64, load_uint(d, 8));
        return;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
        bool sgn = btf_kflag(t);
        uint64_t v = load_uint(d, t->size);
        int64_t sv = sign_extend(v, t->size * 8);
        for (unsigned i = 0; i < btf_vlen(t); i++) {
            uint64_t ev;
            const char *name;
            if (btf_is_enum(t)) {
                const struct btf_enum *e = btf_enum(t) + i;
                ev = sgn ? (uint64_t)(int64_t)e->val : (uint64_t)(uint32_t)e->val;
                name = btf__name_by_offset(btf, e->name_off);
            } else {
                const struct btf_enum64 *e = btf_enum64(t) + i;
                ev = btf_enum64_value(e);
                name = btf__name_by_offset(btf, e->name_off);
            }
            uint64_t cmp = t->size < 8 ? ev & ((1ull << (t->size * 8)) - 1) : ev;
            if (cmp == v && name) {
                put(o, "%s", name);
                return;
            }
        }
        if (sgn)
            put(o, "%" PRId64, sv);
        else
            put(o, "%" PRIu64, v);
        return;
    }
    case BTF_KIND_FLOAT:
        if (t->size == 4) {
            float f;
            memcpy(&f, d, 4);
            put(o, "%g", (double)f);
        } else if (t->size == 8) {
            double f;
            memcpy(&f, d, 8);
            put(o, "%g", f);
        } else {
            fmt_raw(o, d, t->size);
        }
        return;
    case BTF_KIND_ARRAY: {
        const struct btf_array *a = btf_array(t);
        int64_t es = btf__resolve_size(btf, a->type);
        if (es <= 0) {
            put(o, "?");
            return;
        }
        if (rt_btf_is_char(btf, a->type)) {
            fmt_string(o, d, a->nelems);
            return;
        }
        put(o, "[");
        for (uint32_t i = 0; i < a->nelems; i++) {
            if (i)
                put(o, ",");
            fmt_type(o, btf, a->type, d + i * es, avail - i * es, depth + 1);
            if (o->overflow)
                break;
        }
        put(o, "]");
        return;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
        fmt_members(o, btf, t, d, avail, depth);
        return;
    case BTF_KIND_VAR:
        fmt_type(o, btf, t->type, d, avail, depth + 1);
        return;
    case BTF_KIND_DATASEC: {
        const struct btf_var_secinfo *vs = btf_var_secinfos(t);
        put(o, "{");
        bool first = true;
        for (unsigned i = 0; i < btf_vlen(t); i++, vs++) {
            const struct btf_type *v = btf__type_by_id(btf, vs->type);
            const char *name = v ? btf__name_by_offset(btf, v->name_off) : NULL;
            if (!v || !btf_is_var(v) || vs->offset + (uint64_t)vs->size > avail)
                continue;
            put(o, "%s%s=", first ? "" : ",", name ? name : "?");
            first = false;
            fmt_type(o, btf, v->type, d + vs->offset, vs->size, depth + 1);
        }
        put(o, "}");
        return;
    }
    default:
        fmt_raw(o, d, sz > 0 ? (size_t)sz : 0);
        return;
    }
}

int rt_btf_format(const struct btf *btf, uint32_t type_id, const void *data, size_t size, char *buf,
                  size_t bufsize)
{
    if (!buf || !bufsize)
        return -EINVAL;
    struct out o = {.buf = buf, .size = bufsize};
    buf[0] = '\0';
    /* A type id the BTF does not have (a damaged object) formats as raw bytes. */
    const struct btf_type *t = btf && type_id ? btf__type_by_id(btf, type_id) : NULL;
    int64_t sz = t ? btf__resolve_size(btf, type_id) : -1;
    if (t && (sz == (int64_t)size || btf_is_datasec(t)))
        fmt_type(&o, btf, type_id, data, size, 0);
    else
        fmt_raw(&o, data, size);
    if (o.overflow)
        return -ENOSPC;
    return (int)o.len;
}
