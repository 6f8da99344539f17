/*
 * Async-signal-safe text formatting: the rt_buf primitives used for fault messages, and
 * bpf_trace_printk's formatter. A program's format string never reaches printf: it is parsed
 * here, conversions are limited to integers, %p and %s, and %s reads only memory this run can
 * prove readable (the program's stack, the ctx, or a value of one of its maps).
 */
#include "rt_helpers.h"
#include "rt_interp.h"
#include "rt_map.h"

#include <errno.h>
#include <string.h>

#define TRACE_STR_MAX 128

void rt_buf_putc(struct rt_buf *b, char c)
{
    if (b->len + 1 < b->size) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
    }
}

void rt_buf_str(struct rt_buf *b, const char *s)
{
    while (s && *s)
        rt_buf_putc(b, *s++);
}

void rt_buf_u64(struct rt_buf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        rt_buf_putc(b, tmp[--n]);
}

void rt_buf_s64(struct rt_buf *b, int64_t v)
{
    if (v < 0) {
        rt_buf_putc(b, '-');
        rt_buf_u64(b, -(uint64_t)v);
    } else {
        rt_buf_u64(b, (uint64_t)v);
    }
}

void rt_buf_hex(struct rt_buf *b, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        rt_buf_putc(b, tmp[--n]);
}

/* Readable bytes at addr within one region this run owns, or 0. */
static size_t readable_from(struct rt_run *run, uintptr_t addr, const struct rt_map **map)
{
    *map = NULL;
    if (addr >= run->stack_lo && addr < run->stack_hi)
        return run->stack_hi - addr;
    uintptr_t c = (uintptr_t)run->ctx;
    if (run->ctx && addr >= c && addr < c + run->ctx_size)
        return c + run->ctx_size - addr;
    const struct rt_vm_prog *p = run->prog;
    for (uint32_t i = 0; i < p->nr_maps; i++) {
        const struct rt_map *m = p->maps[i];
        if (m->global && m->global_data) {
            uintptr_t g = (uintptr_t)m->global_data;
            if (addr >= g && addr < g + m->value_size)
                return g + m->value_size - addr;
        } else if (m->ops && m->ops->contains && m->ops->contains(m, addr, 1)) {
            *map = m;
            return 1; /* extended byte by byte */
        }
    }
    return 0;
}

static int put_string(struct rt_run *run, struct rt_buf *b, uint64_t arg)
{
    const struct rt_map *m;
    uintptr_t a = (uintptr_t)arg;
    size_t avail = readable_from(run, a, &m);
    if (!avail)
        return -EFAULT;
    for (size_t i = 0; i < TRACE_STR_MAX; i++) {
        if (i >= avail) {
            if (!m || !m->ops->contains(m, a + i, 1))
                break;
            avail = i + 1;
        }
        char c = ((const char *)a)[i];
        if (!c)
            break;
        rt_buf_putc(b, c);
    }
    return 0;
}

int rt_trace_format(struct rt_run *run, const char *fmt, uint32_t fmt_len, const uint64_t args[3],
                    char *out, size_t out_size, const char **why)
{
    struct rt_buf b = rt_buf_init(out, out_size);
    unsigned used = 0;
    for (uint32_t i = 0; i < fmt_len && fmt[i]; i++) {
        if (fmt[i] != '%') {
            rt_buf_putc(&b, fmt[i]);
            continue;
        }
        if (++i >= fmt_len || !fmt[i]) {
            *why = "format string ends with a lone '%'";
            return -EINVAL;
        }
        if (fmt[i] == '%') {
            rt_buf_putc(&b, '%');
            continue;
        }
        unsigned longs = 0;
        while (i < fmt_len && fmt[i] == 'l' && longs < 2) {
            longs++;
            i++;
        }
        if (i >= fmt_len) {
            *why = "format string ends inside a conversion";
            return -EINVAL;
        }
        char conv = fmt[i];
        if (used == 3) {
            *why = "more than 3 conversions in the format string";
            return -EINVAL;
        }
        uint64_t v = args[used++];
        switch (conv) {
        case 'd':
        case 'i':
            rt_buf_s64(&b, longs ? (int64_t)v : (int64_t)(int32_t)v);
            break;
        case 'u':
            rt_buf_u64(&b, longs ? v : (uint32_t)v);
            break;
        case 'x':
            rt_buf_hex(&b, longs ? v : (uint32_t)v);
            break;
        case 'p':
            if (longs)
                goto bad;
            rt_buf_str(&b, "0x");
            rt_buf_hex(&b, v);
            break;
        case 's':
            if (longs)
                goto bad;
            if (put_string(run, &b, v)) {
                *why = "%s argument does not point into the stack, the ctx or a map value";
                return -EFAULT;
            }
            break;
        default:
            goto bad;
        }
    }
    return 0;
bad:
    *why = "unsupported conversion (use %d %i %u %x with l/ll, %p, %s or %%)";
    return -EINVAL;
}
