/*
 * Error reporting for the allocator. Bad frees and bad orders can be reported from signal
 * handlers, so their messages are built without stdio or malloc and written with write(2).
 * Creation errors (never in a handler) are formatted with vsnprintf into a thread-local buffer
 * that bpfmm_alloc_last_error() returns. Owns message text only, no allocator state.
 */
#include "alloc_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void msg_str(struct msg *m, const char *s)
{
    while (*s && m->n < sizeof(m->buf) - 2)
        m->buf[m->n++] = *s++;
}

void msg_u64(struct msg *m, uint64_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0 && m->n < sizeof(m->buf) - 2)
        m->buf[m->n++] = tmp[--i];
}

void msg_emit(struct msg *m)
{
    m->buf[m->n++] = '\n';
    ssize_t r = write(STDERR_FILENO, m->buf, m->n);
    (void)r;
}

static const char *kind_name(enum frame_kind k)
{
    switch (k) {
    case FK_FREE:
        return "free";
    case FK_ALLOC:
        return "allocated";
    case FK_PCP:
        return "free (in a thread cache)";
    case FK_FREEING:
        return "being freed";
    case FK_DEFERRED:
        return "free (on the deferred list)";
    default:
        return "?";
    }
}

void msg_where(struct msg *m, const struct bpfmm_alloc *a, uint32_t pfn)
{
    uint32_t s = fstate(&a->frames[pfn]);
    if (fs_kind(s) != FK_TAIL) {
        msg_str(m, "pfn ");
        msg_u64(m, pfn);
        msg_str(m, " heads an order-");
        msg_u64(m, fs_order(s));
        msg_str(m, " block that is ");
        msg_str(m, kind_name(fs_kind(s)));
        return;
    }
    /* A tail: its block's head is the nearest aligned head below with a large enough order. */
    for (unsigned o = 1; o <= a->max_order; o++) {
        uint32_t h = pfn & ~((1u << o) - 1);
        uint32_t hs = fstate(&a->frames[h]);
        if (fs_kind(hs) != FK_TAIL && fs_order(hs) >= o) {
            msg_str(m, "pfn ");
            msg_u64(m, pfn);
            msg_str(m, " is a tail page of the order-");
            msg_u64(m, fs_order(hs));
            msg_str(m, " block at pfn ");
            msg_u64(m, h);
            msg_str(m, ", which is ");
            msg_str(m, kind_name(fs_kind(hs)));
            return;
        }
    }
    msg_str(m, "pfn ");
    msg_u64(m, pfn);
    msg_str(m, " is inside no block");
}

static __thread char last_error[256];

void alloc_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
#ifdef BPFMM_DEBUG
    fprintf(stderr, "bpfmm alloc: %s\n", last_error);
#endif
}

const char *bpfmm_alloc_last_error(void)
{
    return last_error;
}
