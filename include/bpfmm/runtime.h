/*
 * bpfmm policy runtime: loads clang-built BPF objects (libbpf conventions), verifies every
 * program before it can run, and runs it in an interpreter whose memory accesses cannot leave
 * the ctx, the stack, map values or global data. Maps are shared by the host and programs and
 * are safe against concurrent callers and signal handlers.
 *
 * The runtime knows nothing of THP or of processes: the host describes the ctx
 * (struct bpfmm_rt_ctx_desc), supplies extra helpers, and interprets the return value.
 *
 * Errors: 0 or a negative errno; pointer-returning functions return NULL and set errno.
 * Messages (what, where - instruction index or ELF section - and why) go to the caller's
 * log buffer in the options.
 */
#ifndef BPFMM_RUNTIME_H
#define BPFMM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfmm_rt_obj bpfmm_rt_obj_t;
typedef struct bpfmm_rt_prog bpfmm_rt_prog_t;
typedef struct bpfmm_rt_map bpfmm_rt_map_t;

/* --- What the host tells the runtime ---------------------------------------------------- */

struct bpfmm_rt_ctx_field {
    const char *name;
    uint32_t off, size;
};

/* The memory r1 points to at entry. Loads past `size` are rejected at load time (with the
 * offset and the field named); stores are rejected unless `writable`. */
struct bpfmm_rt_ctx_desc {
    const char *name; /* e.g. "struct bpfmm_thp_ctx" */
    uint32_t size;
    bool writable;
    const struct bpfmm_rt_ctx_field *fields; /* for messages and "ctx fields used" */
    unsigned nr_fields;
};

/* A host helper: all arguments and the result are scalars. */
struct bpfmm_rt_helper {
    uint32_t id; /* >= 0x10000 (BPFMM_HELPER_BASE) for bpfmm's own */
    const char *name;
    unsigned nr_args; /* 0..5 */
    uint64_t (*fn)(void *host, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
};

/* Per-call information the Linux-flavoured helpers report (get_current_pid_tgid,
 * get_current_comm). All optional. */
struct bpfmm_rt_run_env {
    size_t sz;
    uint64_t pid_tgid; /* tgid << 32 | pid */
    const char *comm;
};

/* --- Objects ----------------------------------------------------------------------------- */

struct bpfmm_rt_open_opts {
    size_t sz;
    const char *name; /* object name for messages; default: the file name */
    char *log_buf;    /* receives the reason when open fails */
    size_t log_size;
};

/* An ELF64 little-endian ET_REL object with EM_BPF (or EM_NONE), built with -g (BTF). Parses
 * programs, maps and global data and applies relocations; nothing runs until load. */
bpfmm_rt_obj_t *bpfmm_rt_obj_open_file(const char *path, const struct bpfmm_rt_open_opts *opts);
bpfmm_rt_obj_t *bpfmm_rt_obj_open_mem(const void *buf, size_t size,
                                      const struct bpfmm_rt_open_opts *opts);
/* Raw instructions (8-byte units): one program named "main", no maps. */
bpfmm_rt_obj_t *bpfmm_rt_obj_open_insns(const void *insns, size_t size,
                                        const struct bpfmm_rt_open_opts *opts);
void bpfmm_rt_obj_close(bpfmm_rt_obj_t *obj);

/* Sets a `const volatile` global in .rodata before load, parsing value per its BTF type
 * (integers in any C base or 0b binary, range-checked; bool as true/false/0/1; enums by name or
 * number; char arrays as strings; structs {a=1,b=2}; arrays [1,2]). -ENOENT for an unknown name
 * (the message lists the knobs), -ERANGE / -EINVAL for a bad value, -EBUSY after load. */
int bpfmm_rt_obj_set_rodata(bpfmm_rt_obj_t *obj, const char *name, const char *value, char *log_buf,
                            size_t log_size);
/* Knobs in definition order: the i-th knob's name, or NULL past the last. */
const char *bpfmm_rt_obj_knob_name(const bpfmm_rt_obj_t *obj, unsigned i);
/* Formats a knob's current value; returns its length, -ENOENT, or -ENOSPC (truncated). */
int bpfmm_rt_obj_get_rodata(const bpfmm_rt_obj_t *obj, const char *name, char *buf, size_t size);

#define BPFMM_RT_LOAD_COMPAT (1u << 0) /* conformance mode: r1 = memory, r2 = its length */

struct bpfmm_rt_load_opts {
    size_t sz;
    const struct bpfmm_rt_ctx_desc *ctx; /* NULL: r1 is an unknown scalar */
    uint64_t insn_budget;                /* instructions per call; 0: 1,000,000 */
    const struct bpfmm_rt_helper *helpers;
    unsigned nr_helpers;
    void *host; /* passed to host helpers and to trace */
    /* trace_printk output (helper 6); NULL: discarded. May be called from any thread. */
    void (*trace)(void *host, const char *prog, const char *msg);
    unsigned flags; /* BPFMM_RT_LOAD_* */
    char *log_buf;  /* receives the verifier's reason when load fails */
    size_t log_size;
};

/* Verifies every program; after success .rodata is frozen and programs can run. */
int bpfmm_rt_obj_load(bpfmm_rt_obj_t *obj, const struct bpfmm_rt_load_opts *opts);

const char *bpfmm_rt_obj_name(const bpfmm_rt_obj_t *obj);
bool bpfmm_rt_obj_is_loaded(const bpfmm_rt_obj_t *obj);
/* The "license" section's string, or NULL when there is none (programs load either way). */
const char *bpfmm_rt_obj_license(const bpfmm_rt_obj_t *obj);

unsigned bpfmm_rt_obj_prog_count(const bpfmm_rt_obj_t *obj);
bpfmm_rt_prog_t *bpfmm_rt_obj_prog(const bpfmm_rt_obj_t *obj, unsigned i);
/* By function name or by section name. */
bpfmm_rt_prog_t *bpfmm_rt_obj_find_prog(const bpfmm_rt_obj_t *obj, const char *name);

unsigned bpfmm_rt_obj_map_count(const bpfmm_rt_obj_t *obj);
bpfmm_rt_map_t *bpfmm_rt_obj_map(const bpfmm_rt_obj_t *obj, unsigned i);
bpfmm_rt_map_t *bpfmm_rt_obj_find_map(const bpfmm_rt_obj_t *obj, const char *name);

/* --- Programs ---------------------------------------------------------------------------- */

const char *bpfmm_rt_prog_name(const bpfmm_rt_prog_t *p);
const char *bpfmm_rt_prog_section(const bpfmm_rt_prog_t *p);
unsigned bpfmm_rt_prog_insn_count(const bpfmm_rt_prog_t *p);
/* After load: true if the program may read any byte of ctx[off, off + size). */
bool bpfmm_rt_prog_reads_ctx(const bpfmm_rt_prog_t *p, uint32_t off, uint32_t size);
/* Disassembly of the relocated program, one instruction per line with its index. */
int bpfmm_rt_prog_disasm(const bpfmm_rt_prog_t *p, FILE *out);

enum bpfmm_rt_fault_kind {
    BPFMM_RT_FAULT_NONE,
    BPFMM_RT_FAULT_MEM,    /* out-of-bounds or forbidden access caught at run time */
    BPFMM_RT_FAULT_BUDGET, /* instruction budget exhausted (endless or too long loop) */
    BPFMM_RT_FAULT_HELPER, /* a helper refused its arguments */
};

struct bpfmm_rt_fault {
    enum bpfmm_rt_fault_kind kind;
    uint32_t insn; /* index of the faulting instruction */
    char msg[160];
};

/* Runs the program once. Returns 0 with *ret = r0, or -EFAULT when the program faulted (see
 * *fault; the host falls back to "no opinion"), or -EINVAL for bad arguments (not loaded,
 * ctx_size below the ctx description). Thread-safe and async-signal-safe. */
int bpfmm_rt_prog_run(bpfmm_rt_prog_t *p, void *ctx, size_t ctx_size,
                      const struct bpfmm_rt_run_env *env, uint64_t *ret,
                      struct bpfmm_rt_fault *fault);

struct bpfmm_rt_prog_stats {
    size_t sz;
    uint64_t runs, faults, insns; /* insns: total executed */
    uint32_t last_fault_insn;
};
int bpfmm_rt_prog_get_stats(const bpfmm_rt_prog_t *p, struct bpfmm_rt_prog_stats *st);

/* --- Maps (host side) ------------------------------------------------------------------ */

/* Linux map type numbers. */
enum bpfmm_rt_map_type {
    BPFMM_RT_MAP_HASH = 1,
    BPFMM_RT_MAP_ARRAY = 2,
    BPFMM_RT_MAP_LRU_HASH = 9,
};

const char *bpfmm_rt_map_name(const bpfmm_rt_map_t *m);
uint32_t bpfmm_rt_map_type(const bpfmm_rt_map_t *m);
uint32_t bpfmm_rt_map_key_size(const bpfmm_rt_map_t *m);
uint32_t bpfmm_rt_map_value_size(const bpfmm_rt_map_t *m);
uint32_t bpfmm_rt_map_max_entries(const bpfmm_rt_map_t *m);
/* Global-data maps (.data, .bss, .rodata) are single-entry arrays named after their section. */
bool bpfmm_rt_map_is_global(const bpfmm_rt_map_t *m);

/* Host-side map calls go through the same code as programs' helpers: async-signal-safe and
 * never waiting for a lock (-EBUSY when a bucket stays locked, e.g. by the thread a signal
 * handler interrupted). Errors: -ENOENT absent, -EEXIST (BPF_NOEXIST), -E2BIG full HASH or
 * index past the end, -ENOMEM, -EINVAL (bad flags; array delete), -EPERM (.rodata after load). */

/* Copies the value out. -ENOENT if absent. */
int bpfmm_rt_map_lookup(bpfmm_rt_map_t *m, const void *key, void *value);
/* flags: Linux's BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2. */
int bpfmm_rt_map_update(bpfmm_rt_map_t *m, const void *key, const void *value, uint64_t flags);
int bpfmm_rt_map_delete(bpfmm_rt_map_t *m, const void *key);
/* key NULL: first key. -ENOENT after the last. */
int bpfmm_rt_map_next_key(bpfmm_rt_map_t *m, const void *key, void *next_key);
/* What an error from the calls above means for this map, for messages (static string). */
const char *bpfmm_rt_map_strerror(const bpfmm_rt_map_t *m, int err);

/* Parse/format keys and values as the map's BTF types describe them (integers, char arrays as
 * strings, structs as {a=1,b=2}); for `bpfmm` to show and edit maps. */
int bpfmm_rt_map_parse_key(const bpfmm_rt_map_t *m, const char *text, void *key, char *log_buf,
                           size_t log_size);
int bpfmm_rt_map_parse_value(const bpfmm_rt_map_t *m, const char *text, void *value, char *log_buf,
                             size_t log_size);
int bpfmm_rt_map_format_key(const bpfmm_rt_map_t *m, const void *key, char *buf, size_t size);
int bpfmm_rt_map_format_value(const bpfmm_rt_map_t *m, const void *value, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
