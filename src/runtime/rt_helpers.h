/*
 * Helpers callable from programs: the prototype table the verifier checks calls against, the
 * per-run state built-in helpers see (struct rt_run, shared with the interpreter), and small
 * async-signal-safe formatting primitives (trace_printk output and fault messages). Owns the
 * built-in helpers (rt_helpers.c, rt_helpers_printk.c); host helpers come from the host.
 */
#ifndef BPFMM_RT_HELPERS_H
#define BPFMM_RT_HELPERS_H

#include "rt_insn.h"

#include <bpfmm/runtime.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_vm_prog;
struct rt_map;

/* State of one run, on the C stack of rt_vm_run. Frame bounds let helpers and run-time checks
 * tell which stack bytes belong to which frame. */
struct rt_run {
    const struct rt_vm_prog *prog;
    uint8_t *ctx;
    size_t ctx_size; /* what run-time ctx checks allow */
    const struct bpfmm_rt_run_env *env;
    uintptr_t stack_lo, stack_hi; /* the whole BPF stack of this run */
    unsigned depth;               /* current frame, 0 = main */
    uintptr_t frame_lo[RT_MAX_FRAMES], frame_hi[RT_MAX_FRAMES];
    uint32_t insn; /* the instruction calling a helper */
    bool faulted;
    struct bpfmm_rt_fault fault;
};

typedef uint64_t (*rt_builtin_fn)(struct rt_run *run, uint64_t a1, uint64_t a2, uint64_t a3,
                                  uint64_t a4, uint64_t a5);
typedef uint64_t (*rt_host_fn)(void *host, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                               uint64_t a5);

enum rt_arg_type {
    RT_ARG_NONE = 0,
    RT_ARG_SCALAR,    /* initialised scalar */
    RT_ARG_ANY,       /* initialised scalar or pointer (trace_printk's values) */
    RT_ARG_MAP,       /* a map loaded with lddw (src 1/5) */
    RT_ARG_MAP_KEY,   /* readable, initialised, key_size bytes of the map in arg 1 */
    RT_ARG_MAP_VALUE, /* readable, initialised, value_size bytes of the map in arg 1 */
    RT_ARG_MEM,       /* readable, initialised memory; size in the next argument */
    RT_ARG_MEM_OUT,   /* writable memory, filled by the helper; size in the next argument */
    RT_ARG_SIZE,      /* constant (or bounded) size > 0 of the previous argument */
};

enum rt_ret_type {
    RT_RET_SCALAR = 0,
    RT_RET_MAP_VALUE_OR_NULL, /* pointer to a value of the map in arg 1, or NULL */
};

struct rt_helper_proto {
    uint32_t id;
    const char *name;
    uint8_t ret; /* enum rt_ret_type */
    uint8_t nargs;
    uint8_t args[5]; /* enum rt_arg_type */
    bool map_write;  /* modifies the map in arg 1: refused on read-only maps */
    rt_builtin_fn fn;
};

/* Built-in helper by Linux id, or NULL. */
const struct rt_helper_proto *rt_helper_builtin(uint32_t id);
/* Name of a Linux helper bpfmm does not provide (for messages), or NULL. */
const char *rt_helper_linux_name(uint32_t id);
/* True if the built-in takes only scalars (callable through a register). */
bool rt_helper_scalar_only(const struct rt_helper_proto *h);

/* Records a helper fault; the interpreter stops after the call returns. */
void rt_run_fault(struct rt_run *run, enum bpfmm_rt_fault_kind kind, const char *msg);

/* --- async-signal-safe formatting ------------------------------------------------------- */

struct rt_buf {
    char *p;
    size_t size, len; /* p[len] is always NUL when size > 0 */
};

static inline struct rt_buf rt_buf_init(char *p, size_t size)
{
    struct rt_buf b = {p, size, 0};
    if (size)
        p[0] = '\0';
    return b;
}

void rt_buf_putc(struct rt_buf *b, char c);
void rt_buf_str(struct rt_buf *b, const char *s);
void rt_buf_u64(struct rt_buf *b, uint64_t v);
void rt_buf_s64(struct rt_buf *b, int64_t v);
void rt_buf_hex(struct rt_buf *b, uint64_t v); /* lowercase, no prefix */

/* trace_printk formatting: %d %i %u %x %ld %li %lu %lx %lld %lli %llu %llx %p %s %% with at most
 * three conversions. %s arguments are read only where the run proves them readable (the
 * program's stack, the ctx, or a map value). Returns 0 or a negative errno with the reason in
 * *why (static text). */
int rt_trace_format(struct rt_run *run, const char *fmt, uint32_t fmt_len, const uint64_t args[3],
                    char *out, size_t out_size, const char **why);

#endif
