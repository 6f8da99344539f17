/*
 * Verifier internals shared by rt_verify*.c: the abstract state (register kinds, scalar ranges,
 * pointer offsets, stack initialisation and spills, call frames), what the verifier records per
 * instruction for the decoder, and the error reporting every rule uses ("insn N: reason").
 *
 * The verifier runs in two stages: structural checks over the instruction array
 * (rt_verify_cfg.c, and register liveness in rt_verify_live.c), then abstract interpretation of
 * each function body in the context of each call site (rt_verify_walk.c), with per-instruction
 * transfer functions in rt_verify_insn.c,
 * rt_verify_mem.c and rt_verify_call.c over the domain in rt_verify_scalar.c and
 * rt_verify_state.c. It owns no execution: rt_interp_decode.c turns its findings into code.
 */
#ifndef BPFMM_RT_VERIFY_H
#define BPFMM_RT_VERIFY_H

#include "rt_helpers.h"
#include "rt_insn.h"
#include "rt_interp.h"
#include "rt_vm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- abstract values ---------------------------------------------------------------------- */

enum vtype {
    VT_UNINIT = 0,  /* never written on some path */
    VT_SCALAR,      /* a number: unsigned and signed ranges */
    VT_CTX,         /* pointer into the ctx: offset range */
    VT_STACK,       /* pointer into frame `frame`: offset range relative to its fp */
    VT_MAPVAL,      /* pointer into a value of one of the maps `maps` (or global data) */
    VT_MAPVAL_NULL, /* bpf_map_lookup_elem result not yet compared with 0 */
    VT_MAP,         /* one of the maps `maps` itself (lddw src 1/5): for helper arguments */
    VT_MIXED,       /* different kinds on different paths: unusable except for copies/spills */
};

/* Map identities are sets (bit i = map index i) because clang selects among maps with branches:
 * `r1 = cond ? &a : &b; bpf_map_lookup_elem(r1, ...)`. Programs may use up to 64 maps. */
#define V_MAX_MAPS 64

struct vreg {
    uint8_t type;  /* enum vtype */
    uint8_t frame; /* VT_STACK */
    uint16_t pad;
    uint32_t id;         /* VT_MAPVAL_NULL: links copies of one lookup result (0: not linked) */
    uint64_t maps;       /* VT_MAPVAL, VT_MAPVAL_NULL, VT_MAP: possible maps */
    uint64_t umin, umax; /* scalars */
    int64_t smin, smax;  /* scalars: signed range; pointers: offset range */
};

#define VSLOTS (RT_STACK_SIZE / 8)

/* Byte b of a frame is fp - RT_STACK_SIZE + b. */
struct vframe {
    struct vreg r[RT_NR_REGS];
    uint32_t func; /* function index */
    uint32_t pad;
    uint64_t spilled;                   /* bit s: slot s holds a spilled register (slot[s]) */
    uint8_t init[RT_STACK_SIZE / 8];    /* bit per byte: written on every path */
    uint8_t touched[RT_STACK_SIZE / 8]; /* bit per byte: maybe written (some path, or a store
                                           at a variable offset) */
    uint8_t poison[RT_STACK_SIZE / 8];  /* bit per byte: may hold bits of a pointer */
    struct vreg slot[VSLOTS];
};

struct vstate {
    uint32_t nframes; /* the current frame is f[nframes - 1] */
    uint32_t pad;
    struct vframe f[];
};

static inline struct vframe *vcur(struct vstate *s)
{
    return &s->f[s->nframes - 1];
}

static inline size_t vstate_size(uint32_t nframes)
{
    return sizeof(struct vstate) + nframes * sizeof(struct vframe);
}

/* --- per instruction and per function records -------------------------------------------- */

#define VF_LDDW2     0x01 /* second half of lddw */
#define VF_LEADER    0x02 /* starts a basic block */
#define VF_LOOPHEAD  0x04 /* target of a backward jump */
#define VF_FUNCSTART 0x08
#define VF_REACHED   0x10 /* structurally reachable */
#define VF_EXITS     0x20 /* an exit is structurally reachable from here */

struct vinfo {
    uint8_t visited;    /* abstract interpretation reached it */
    uint8_t region;     /* memory access: enum rt_region (RT_RG_NONE until recorded) */
    uint8_t frame;      /* RT_RG_STACK: frames up from the accessing frame */
    uint8_t checked;    /* some state could not prove the access: check at run time */
    uint8_t write;      /* the access writes */
    uint8_t callx_init; /* callx: AND over states of "r1..r5 initialised scalars" */
    uint8_t callx_dyn;  /* callx: the register was not a known constant on some path */
    uint8_t conflict;   /* accesses on different paths go to different regions */
    int64_t helper;     /* call/callx: helper id (-1 unset) */
    uint32_t map;       /* RT_RG_MAP: the (global data) map */
};

struct vfunc {
    uint32_t start, end; /* [start, end) */
    uint32_t depth;      /* stack bytes used (multiple of 8), max over call sites */
    uint32_t max_chain;  /* stack of the deepest call chain starting here */
    const char *name;
};

/* A helper as the verifier sees it: built-in (proto) or host (all scalars). */
struct vhelper {
    uint32_t id;
    const char *name;
    const struct rt_helper_proto *proto; /* built-in */
    const struct bpfmm_rt_helper *host;  /* host helper (overrides a built-in) */
};

struct verifier {
    const struct rt_prog_src *src;
    const struct rt_vm_opts *opts;
    const struct bpf_insn *insns;
    uint32_t n;
    bool compat;
    const struct bpfmm_rt_ctx_desc *ctx; /* NULL: no described ctx */
    uint8_t *flags;                      /* VF_* per instruction */
    uint32_t *func_of;                   /* function index per instruction */
    struct vfunc *funcs;
    uint32_t nfuncs;
    struct vinfo *info;
    uint16_t *live;     /* per instruction: registers (bit n = rn) that may be read before set */
    uint8_t *ctx_reads; /* bitmap over ctx->size bytes */
    bool ctx_read_all;  /* a ctx read with an unknown offset */
    bool zero_stack;
    uint64_t steps;
    size_t state_bytes; /* memory held by saved states */
    /* Widening stops at these (jump constants and their neighbours), sorted signed and
     * unsigned: clang's `i != N` and `i < N` loops then converge to bounded ranges. */
    int64_t *ths;
    uint64_t *thu;
    uint32_t nth;
    int err; /* first error (negative errno) */
};

/* Limits of the analysis (documented in docs/runtime-vm.md). */
#define V_MAX_STEPS       8000000ull /* instructions interpreted abstractly */
#define V_MAX_STATE_BYTES (512ull << 20)
#define V_WIDEN_AFTER     3 /* joins into a loop head before widening */
#define V_MAX_VARIANTS    4 /* states kept apart per block leader (see vstate_join_mixes) */

/* --- errors -------------------------------------------------------------------------------- */

/* Records "insn N: <message>" (the first error only) and returns v->err (-EINVAL unless set). */
__attribute__((format(printf, 3, 4))) int verr(struct verifier *v, uint32_t insn, const char *fmt,
                                               ...);
/* Same with an explicit errno (E2BIG for size limits). */
__attribute__((format(printf, 4, 5))) int verr_code(struct verifier *v, int code, uint32_t insn,
                                                    const char *fmt, ...);

/* "r3", a short description of a register's kind ("a pointer to the stack", ...). */
const char *vtype_name(const struct vreg *r);
/* The name of the first map of a set (for messages). */
const char *vmap_name(const struct verifier *v, uint64_t maps);
static inline uint32_t vmap_first(uint64_t maps)
{
    return maps ? (uint32_t)__builtin_ctzll(maps) : 0;
}
/* Name of the ctx field containing ctx offset off, or NULL. */
const char *vctx_field(const struct verifier *v, int64_t off);

/* --- structure (rt_verify_cfg.c, rt_verify_live.c) ----------------------------------------- */
int vcfg_check(struct verifier *v);
/* Fills v->live (after vcfg_check). */
int vlive_compute(struct verifier *v);

/* --- scalar domain (rt_verify_scalar.c) --------------------------------------------------- */
void vs_set_const(struct vreg *r, uint64_t c);
void vs_set_unknown(struct vreg *r);
void vs_set_urange(struct vreg *r, uint64_t umin, uint64_t umax);
void vs_set_srange(struct vreg *r, int64_t smin, int64_t smax);
bool vs_is_const(const struct vreg *r);
bool vs_sync(struct vreg *r); /* false: the range is empty */
/* Exact result of an ALU operation, as the interpreter computes it. */
uint64_t vs_alu_eval(unsigned op, int16_t off, bool is64, uint64_t a, uint64_t b);
/* d = d op s for scalars (ALU/ALU64 op, offset selects SDIV/SMOD/MOVSX). */
void vs_alu(struct vreg *d, const struct vreg *s, unsigned op, int16_t off, bool is64);
/* Byte-order operation on a scalar (BPF_END; bswap for ALU64). */
void vs_end(struct vreg *d, bool to_be, bool bswap, int32_t width);
/* Restricts a and b to the outcome of "a op b" (jump op, 32-bit or not); false: impossible. */
bool vs_refine(struct vreg *a, struct vreg *b, unsigned op, bool is32, bool taken);

/* --- state (rt_verify_state.c) ------------------------------------------------------------ */
void vreg_uninit(struct vreg *r);
void vreg_scalar_const(struct vreg *r, uint64_t c);
void vreg_scalar_unknown(struct vreg *r);
void vreg_ptr(struct vreg *r, enum vtype t, int64_t off);
bool vreg_is_ptr(const struct vreg *r);
bool vreg_off_const(const struct vreg *r);
bool vreg_off_bounded(const struct vreg *r);
struct vstate *vstate_new(struct verifier *v, uint32_t nframes);
void vstate_free(struct verifier *v, struct vstate *s);
void vstate_copy(struct vstate *dst, const struct vstate *src);
/* d = d join s; returns true if d changed. widen: push growing bounds to infinity. */
bool vstate_join(const struct verifier *v, struct vstate *d, const struct vstate *s, bool widen);
/* True if d join s would turn a value into "mixed" (different kinds on the two paths) that
 * matters: a register of the current frame in `live`, or a spilled slot of any frame. */
bool vstate_join_mixes(const struct vstate *d, const struct vstate *s, uint16_t live);
bool vstate_equal(const struct vstate *a, const struct vstate *b);
void vframe_init(struct vframe *f, uint32_t func);
/* Replaces every link to lookup id `id` (0: none) in every frame. */
void vstate_unlink_id(struct vstate *s, uint32_t id);
/* Stack byte helpers: byte index b in [0, RT_STACK_SIZE). */
static inline bool vbit(const uint8_t *map, unsigned b)
{
    return map[b >> 3] & (1u << (b & 7));
}
static inline void vbit_set(uint8_t *map, unsigned b)
{
    map[b >> 3] |= (uint8_t)(1u << (b & 7));
}
static inline void vbit_clear(uint8_t *map, unsigned b)
{
    map[b >> 3] &= (uint8_t) ~(1u << (b & 7));
}

/* --- transfer functions ------------------------------------------------------------------- */

/* Outcome of one instruction. */
struct vstep {
    bool fall; /* continues at next_insn with the (updated) state */
    uint32_t next_insn;
    bool has_target; /* jumps: target with target_state */
    uint32_t target;
    struct vstate *target_state; /* provided by the caller, filled when has_target */
    bool is_exit;
};

struct vwalk; /* one function invocation being analysed (rt_verify_walk.c) */

int vinsn_step(struct verifier *v, struct vwalk *w, struct vstate *s, uint32_t i,
               struct vstep *out);
/* Reads register r as an operand: rejects uninitialised registers. */
int vcheck_read(struct verifier *v, uint32_t i, const struct vstate *s, unsigned r);
/* Memory access through register `base` + off (rt_verify_mem.c). kind: 'r' read, 'w' write,
 * 'a' atomic. For stores, val is the stored register (NULL for an immediate, imm in val_imm).
 * For loads the loaded value is written to *out. */
int vmem_access(struct verifier *v, struct vstate *s, uint32_t i, unsigned base, int16_t off,
                unsigned size, char kind, const struct vreg *val, int64_t val_imm, bool sx,
                struct vreg *out);
/* Helper argument memory: [ptr, ptr + size) must be readable (and initialised) or writable.
 * A write is certain only for the first min_size bytes (a variable size argument): the rest is
 * "maybe written", so reading it later cannot see stale stack. */
int vmem_helper_arg(struct verifier *v, struct vstate *s, uint32_t i, unsigned argno,
                    const char *what, const struct vreg *ptr, uint64_t size, uint64_t min_size,
                    bool write);
/* Calls (rt_verify_call.c). */
int vcall_helper(struct verifier *v, struct vstate *s, uint32_t i, uint32_t id, bool via_callx);
int vcall_dynamic(struct verifier *v, struct vstate *s, uint32_t i);
bool vhelper_find(const struct verifier *v, uint32_t id, struct vhelper *out);
/* Local call: analyses the callee in this context; *returns false if it never returns. */
int vcall_local(struct verifier *v, struct vwalk *w, struct vstate *s, uint32_t i, bool *returns);

/* Analyses function `func` from entry state `entry` (rt_verify_walk.c). *exit_out receives the
 * join of its exit states (NULL if no exit is reachable); caller frees it. */
int vwalk_func(struct verifier *v, uint32_t func, const struct vstate *entry,
               struct vstate **exit_out);

/* Records a memory access region for the decoder; rejects conflicting regions. */
int vrecord_access(struct verifier *v, uint32_t i, enum rt_region region, uint32_t frame_up,
                   uint32_t map, bool checked, bool write);

#endif
