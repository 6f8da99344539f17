/*
 * BTF-driven parsing of keys, values and knobs from text (syntax in rt_btf_value.h; formatting
 * is rt_btf_value.c). Every level knows how many bytes it may write: BTF that places a member
 * outside its struct, or a type larger than its room, is refused as damaged before anything is
 * written. Owns no map or knob logic.
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

struct in {
    const char *text, *p;
    char *log;
    size_t log_size;
};

__attribute__((format(printf, 2, 3))) static int perr(struct in *in, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rt_log(in->log, in->log_size, "%s (at offset %td of \"%s\")", msg, in->p - in->text, in->text);
    return -EINVAL;
}

static void skip_ws(struct in *in)
{
    while (isspace((unsigned char)*in->p))
        in->p++;
}

static bool accept(struct in *in, char c)
{
    skip_ws(in);
    if (*in->p != c)
        return false;
    in->p++;
    return true;
}

/* A bare token: up to a delimiter of the aggregate syntax. */
static size_t token_len(const char *p)
{
    size_t n = 0;
    while (p[n] && !strchr(",{}[]=", p[n]) && !isspace((unsigned char)p[n]))
        n++;
    return n;
}

static int parse_int_token(struct in *in, bool sgn, unsigned bits, uint64_t *out, const char *what)
{
    if (bits == 0)
        return perr(in, "%s is a zero-width integer: damaged BTF", what);
    skip_ws(in);
    size_t n = token_len(in->p);
    if (n == 0 || n >= 80)
        return perr(in, "expected an integer for %s", what);
    char tok[80];
    memcpy(tok, in->p, n);
    tok[n] = '\0';
    char *end;
    errno = 0;
    const char *digits = tok;
    bool neg = false;
    if (*digits == '-' || *digits == '+') {
        neg = *digits == '-';
        digits++;
    }
    uint64_t mag;
    if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B'))
        mag = strtoull(digits + 2, &end, 2);
    else
        mag = strtoull(digits, &end, 0);
    if (end == digits || *end || (digits[0] == '0' && (digits[1] | 32) == 'b' && end == digits + 2))
        return perr(in, "'%s' is not an integer (for %s)", tok, what);
    if (*digits == '-' || errno == ERANGE)
        return perr(in, "%s out of range for %s", tok, what), -ERANGE;
    uint64_t v;
    if (sgn) {
        uint64_t lim = bits >= 64 ? 1ull << 63 : 1ull << (bits - 1);
        if ((neg && mag > lim) || (!neg && mag > lim - 1)) {
            perr(in, "%s out of range for %s (%u-bit signed)", tok, what, bits);
            return -ERANGE;
        }
        v = neg ? (uint64_t)(-(int64_t)(mag - 1) - 1) : mag;
    } else {
        if (neg && mag) {
            perr(in, "%s out of range for %s (unsigned)", tok, what);
            return -ERANGE;
        }
        if (bits < 64 && mag > (1ull << bits) - 1) {
            perr(in, "%s out of range for %s (%u-bit unsigned, max %llu)", tok, what, bits,
                 (unsigned long long)((1ull << bits) - 1));
            return -ERANGE;
        }
        v = mag;
    }
    in->p += n;
    *out = v;
    return 0;
}

static void store_uint(unsigned char *d, size_t n, uint64_t v)
{
    memcpy(d, &v, n > 8 ? 8 : n);
}

static int parse_raw(struct in *in, unsigned char *out, size_t size)
{
    if (size == 1 || size == 2 || size == 4 || size == 8) {
        uint64_t v;
        int err = parse_int_token(in, false, (unsigned)size * 8, &v, "the value");
        if (err)
            return err;
        store_uint(out, size, v);
        return 0;
    }
    for (size_t i = 0; i < size; i++) {
        skip_ws(in);
        if (!isxdigit((unsigned char)in->p[0]) || !isxdigit((unsigned char)in->p[1]))
            return perr(in, "expected %zu hex bytes (\"00 01 ...\"), got fewer", size);
        char tmp[3] = {in->p[0], in->p[1], 0};
        out[i] = (unsigned char)strtoul(tmp, NULL, 16);
        in->p += 2;
    }
    return 0;
}

static int parse_string(struct in *in, unsigned char *out, uint32_t cap, bool top)
{
    skip_ws(in);
    size_t n = 0;
    if (*in->p == '"') {
        in->p++;
        while (*in->p && *in->p != '"') {
            int c = (unsigned char)*in->p++;
            if (c == '\\') {
                c = (unsigned char)*in->p++;
                switch (c) {
                case 'n':
                    c = '\n';
                    break;
                case 't':
                    c = '\t';
                    break;
                case '0':
                    c = 0;
                    break;
                case 'x': {
                    char tmp[3] = {0};
                    for (int k = 0; k < 2 && isxdigit((unsigned char)*in->p); k++)
                        tmp[k] = *in->p++;
                    c = (int)strtoul(tmp, NULL, 16);
                    break;
                }
                case '\0':
                    return perr(in, "unterminated string");
                default:
                    break;
                }
            }
            if (n >= cap)
                return perr(in, "string longer than the %u-byte array", cap);
            out[n++] = (unsigned char)c;
        }
        if (*in->p != '"')
            return perr(in, "unterminated string");
        in->p++;
        return 0;
    }
    /* Bare: the rest of the text at top level, else up to a delimiter. */
    size_t len = top ? strlen(in->p) : token_len(in->p);
    if (len > cap)
        return perr(in, "string of %zu characters longer than the %u-byte array", len, cap);
    memcpy(out, in->p, len);
    in->p += len;
    return 0;
}

static int parse_type(struct in *in, const struct btf *btf, uint32_t id, unsigned char *out,
                      size_t avail, bool top, int depth, const char *what);

static int parse_int_type(struct in *in, const struct btf_type *t, unsigned char *out,
                          const char *what)
{
    uint8_t enc = btf_int_encoding(t);
    skip_ws(in);
    if (enc & BTF_INT_BOOL) {
        size_t n = token_len(in->p);
        bool v;
        if ((n == 4 && !strncmp(in->p, "true", 4)) || (n == 1 && *in->p == '1'))
            v = true;
        else if ((n == 5 && !strncmp(in->p, "false", 5)) || (n == 1 && *in->p == '0'))
            v = false;
        else
            return perr(in, "expected true, false, 1 or 0 for bool %s", what);
        in->p += n;
        out[0] = v;
        return 0;
    }
    if (t->size > 8)
        return perr(in, "%u-byte integers cannot be set from text (%s)", t->size, what);
    if (t->size == 1 && in->p[0] == '\'' && in->p[1] && in->p[2] == '\'') {
        out[0] = (unsigned char)in->p[1];
        in->p += 3;
        return 0;
    }
    unsigned bits = btf_int_bits(t);
    uint64_t v;
    int err = parse_int_token(in, enc & BTF_INT_SIGNED, bits ? bits : t->size * 8, &v, what);
    if (err)
        return err;
    store_uint(out, t->size, v);
    return 0;
}

static int parse_enum(struct in *in, const struct btf *btf, const struct btf_type *t,
                      unsigned char *out, const char *what)
{
    skip_ws(in);
    size_t n = token_len(in->p);
    for (unsigned i = 0; i < btf_vlen(t); i++) {
        const char *name;
        uint64_t v;
        if (btf_is_enum(t)) {
            name = btf__name_by_offset(btf, btf_enum(t)[i].name_off);
            v = (uint64_t)(int64_t)btf_enum(t)[i].val;
        } else {
            name = btf__name_by_offset(btf, btf_enum64(t)[i].name_off);
            v = btf_enum64_value(&btf_enum64(t)[i]);
        }
        if (name && strlen(name) == n && strncmp(name, in->p, n) == 0) {
            store_uint(out, t->size, v);
            in->p += n;
            return 0;
        }
    }
    if (n && (isdigit((unsigned char)*in->p) || *in->p == '-')) {
        uint64_t v;
        int err = parse_int_token(in, btf_kflag(t) || *in->p == '-', t->size * 8, &v, what);
        if (!err)
            store_uint(out, t->size, v);
        return err;
    }
    char names[160] = "";
    for (unsigned i = 0; i < btf_vlen(t) && strlen(names) < sizeof(names) - 40; i++) {
        const char *name = btf__name_by_offset(btf, btf_is_enum(t) ? btf_enum(t)[i].name_off
                                                                   : btf_enum64(t)[i].name_off);
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                 name ? name : "?");
    }
    return perr(in, "expected one of %s (or a number) for %s", names, what);
}

static int parse_bitfield(struct in *in, const struct btf *btf, const struct btf_member *m,
                          uint32_t bit_off, uint32_t bits, unsigned char *out, const char *what)
{
    if (bits > 64)
        return perr(in, "a %u-bit bitfield of %s: damaged BTF", bits, what);
    const struct btf_type *mt = btf__type_by_id(btf, rt_btf_skip_mods(btf, m->type));
    bool sgn = mt && btf_is_int(mt) && (btf_int_encoding(mt) & BTF_INT_SIGNED);
    uint64_t v;
    int err = parse_int_token(in, sgn, bits, &v, what);
    if (err)
        return err;
    if (bits < 64)
        v &= (1ull << bits) - 1;
    for (uint32_t b = 0; b < bits; b++) {
        uint32_t pos = bit_off + b;
        if (v >> b & 1)
            out[pos / 8] |= (unsigned char)(1u << (pos % 8));
        else
            out[pos / 8] &= (unsigned char)~(1u << (pos % 8));
    }
    return 0;
}

/* A member or variable stored at [off, off + len) of the avail bytes at out: hostile BTF can
 * place one outside its struct (libbpf does not check), which must not become a stray write. */
static int member_fits(struct in *in, uint64_t off, uint64_t len, size_t avail, const char *what)
{
    if (off > avail || len > avail - off)
        return perr(in, "a field of %s lies outside it (bytes %llu..%llu of %zu): damaged BTF",
                    what, (unsigned long long)off, (unsigned long long)(off + len), avail);
    return 0;
}

static int parse_struct(struct in *in, const struct btf *btf, const struct btf_type *t,
                        unsigned char *out, size_t avail, bool top, int depth, const char *what)
{
    skip_ws(in);
    /* A one-member struct (e.g. struct { char comm[16]; }) also takes the member's syntax. */
    if (*in->p != '{' && btf_vlen(t) == 1 && !btf_is_datasec(t) &&
        !btf_member_bitfield_size(t, 0)) {
        uint32_t off = btf_member_bit_offset(t, 0) / 8;
        int err = member_fits(in, off, 0, avail, what);
        return err ? err
                   : parse_type(in, btf, btf_members(t)[0].type, out + off, avail - off, top,
                                depth + 1, what);
    }
    if (!accept(in, '{'))
        return perr(in, "expected '{' for %s", what);
    unsigned next = 0, n = btf_vlen(t);
    bool datasec = btf_is_datasec(t);
    if (accept(in, '}'))
        return 0;
    for (;;) {
        skip_ws(in);
        size_t tl = token_len(in->p);
        const char *eq = in->p + tl;
        while (isspace((unsigned char)*eq))
            eq++;
        unsigned idx = next;
        if (tl && *eq == '=') {
            idx = n;
            for (unsigned i = 0; i < n; i++) {
                const struct btf_type *var =
                    datasec ? btf__type_by_id(btf, btf_var_secinfos(t)[i].type) : NULL;
                if (datasec && !var)
                    continue; /* a variable of a type id the BTF lacks: not selectable */
                uint32_t name_off = datasec ? var->name_off : btf_members(t)[i].name_off;
                const char *name = btf__name_by_offset(btf, name_off);
                if (name && strlen(name) == tl && !strncmp(name, in->p, tl)) {
                    idx = i;
                    break;
                }
            }
            if (idx == n)
                return perr(in, "%s has no field '%.*s'", what, (int)tl, in->p);
            in->p = eq + 1;
        } else if (idx >= n) {
            return perr(in, "too many values for %s (%u fields)", what, n);
        }
        int err;
        if (datasec) {
            const struct btf_var_secinfo *vs = &btf_var_secinfos(t)[idx];
            err = member_fits(in, vs->offset, vs->size, avail, what);
            if (!err)
                err = parse_type(in, btf, vs->type, out + vs->offset, vs->size, false, depth + 1,
                                 what);
        } else {
            const struct btf_member *m = &btf_members(t)[idx];
            uint32_t bit_off = btf_member_bit_offset(t, idx);
            uint32_t bits = btf_member_bitfield_size(t, idx);
            if (bits) {
                err = member_fits(in, bit_off / 8, (bit_off % 8 + bits + 7) / 8, avail, what);
                if (!err)
                    err = parse_bitfield(in, btf, m, bit_off, bits, out, what);
            } else {
                err = member_fits(in, bit_off / 8, 0, avail, what);
                if (!err)
                    err = parse_type(in, btf, m->type, out + bit_off / 8, avail - bit_off / 8,
                                     false, depth + 1, what);
            }
        }
        if (err)
            return err;
        next = idx + 1;
        if (accept(in, '}'))
            return 0;
        if (!accept(in, ','))
            return perr(in, "expected ',' or '}' in %s", what);
    }
}

/* The array fits in out: parse_type checked its whole size. */
static int parse_array(struct in *in, const struct btf *btf, const struct btf_type *t,
                       unsigned char *out, bool top, int depth, const char *what)
{
    const struct btf_array *a = btf_array(t);
    if (rt_btf_is_char(btf, a->type))
        return parse_string(in, out, a->nelems, top);
    int64_t es = btf__resolve_size(btf, a->type);
    if (es <= 0)
        return perr(in, "array element of %s has no size", what);
    char close;
    if (accept(in, '['))
        close = ']';
    else if (accept(in, '{'))
        close = '}';
    else
        return perr(in, "expected '[' for array %s", what);
    if (accept(in, close))
        return 0;
    for (uint32_t i = 0;; i++) {
        if (i >= a->nelems)
            return perr(in, "more than %u elements for %s", a->nelems, what);
        int err = parse_type(in, btf, a->type, out + i * es, (size_t)es, false, depth + 1, what);
        if (err)
            return err;
        if (accept(in, close))
            return 0;
        if (!accept(in, ','))
            return perr(in, "expected ',' or '%c' in %s", close, what);
    }
}

/* Parses a value of type id into out, which has avail bytes; a type larger than that (or of no
 * size) is refused before anything is written. */
static int parse_type(struct in *in, const struct btf *btf, uint32_t id, unsigned char *out,
                      size_t avail, bool top, int depth, const char *what)
{
    id = rt_btf_skip_mods(btf, id);
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!t || depth > RT_BTF_MAX_DEPTH)
        return perr(in, "unusable BTF type for %s", what);
    int64_t sz = btf__resolve_size(btf, id);
    if (sz < 0 || (uint64_t)sz > avail)
        return perr(in,
                    "the BTF type of %s (%lld bytes) does not fit in its %zu bytes: damaged BTF",
                    what, (long long)sz, avail);
    switch (btf_kind(t)) {
    case BTF_KIND_INT:
        return parse_int_type(in, t, out, what);
    case BTF_KIND_PTR: {
        uint64_t v;
        int err = parse_int_token(in, false, (unsigned)(sz < 8 ? sz : 8) * 8, &v, what);
        if (!err)
            store_uint(out, (size_t)sz, v);
        return err;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
        return parse_enum(in, btf, t, out, what);
    case BTF_KIND_FLOAT: {
        skip_ws(in);
        char *end;
        double d = strtod(in->p, &end);
        if (end == in->p)
            return perr(in, "expected a number for %s", what);
        in->p = end;
        if (t->size == 4) {
            float f = (float)d;
            memcpy(out, &f, 4);
        } else if (t->size == 8) {
            memcpy(out, &d, 8);
        } else {
            return perr(in, "%u-byte floats are not supported (%s)", t->size, what);
        }
        return 0;
    }
    case BTF_KIND_ARRAY:
        return parse_array(in, btf, t, out, top, depth, what);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_DATASEC:
        return parse_struct(in, btf, t, out, avail, top, depth, what);
    case BTF_KIND_VAR:
        return parse_type(in, btf, t->type, out, avail, top, depth + 1, what);
    default:
        return perr(in, "values of BTF kind %u cannot be parsed (%s)", btf_kind(t), what);
    }
}

int rt_btf_parse(const struct btf *btf, uint32_t type_id, const char *text, void *out, size_t size,
                 char *log, size_t log_size)
{
    struct in in = {.text = text, .p = text, .log = log, .log_size = log_size};
    memset(out, 0, size);
    int err;
    const struct btf_type *t = btf && type_id ? btf__type_by_id(btf, type_id) : NULL;
    int64_t sz = t ? btf__resolve_size(btf, type_id) : -1;
    if (t && (sz == (int64_t)size || btf_is_datasec(t)))
        err = parse_type(&in, btf, type_id, out, size, true, 0, "the value");
    else
        err = parse_raw(&in, out, size);
    if (err)
        return err;
    skip_ws(&in);
    if (*in.p)
        return perr(&in, "unexpected trailing text '%s'", in.p);
    return 0;
}
