/*
 * bpfmm THP hook: binds the policy runtime (runtime.h) to the THP policy ABI (thp_policy.h).
 * Opens a policy by shipped name or path, loads it with the ctx description of
 * struct bpfmm_thp_ctx and bpfmm's own helpers, and evaluates it with seed 000's semantics:
 * the result is ANDed with ctx->orders (a policy narrows, never widens) and a policy that
 * faults at run time answers ctx->orders unchanged ("no opinion"), counted and logged.
 *
 * Hosts (the live agent, `bpfmm policy run`, later the model) share this module; it knows
 * nothing of Linux processes.
 */
#ifndef BPFMM_POLICY_H
#define BPFMM_POLICY_H

#include <bpfmm/runtime.h>
#include <bpfmm/thp_policy.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bpfmm_policy bpfmm_policy_t;

/* What the host provides; every member is optional. Callbacks may run on any thread and, for
 * the helpers, inside the policy call (keep them non-blocking). */
struct bpfmm_policy_host {
    size_t sz;
    uint64_t (*mem_available)(void *arg);    /* bpfmm_mem_available() */
    uint64_t (*sysfs_thp_orders)(void *arg); /* bpfmm_sysfs_thp_orders() */
    /* trace_printk output; NULL: discarded. */
    void (*trace)(void *arg, const char *policy, const char *msg);
    /* A run-time fault; NULL: logged to stderr (rate-limited, with stdio: a host that calls
     * the hook from signal handlers sets its own). */
    void (*fault)(void *arg, const char *policy, const struct bpfmm_rt_fault *fault);
    void *arg;
};

struct bpfmm_policy_opts {
    size_t sz;
    const char *const *rodata; /* "knob=value" assignments applied before verification */
    unsigned nr_rodata;
    uint64_t insn_budget; /* 0: the runtime's default */
    const struct bpfmm_policy_host *host;
    char *log_buf; /* why open failed: path resolution, ELF, rodata, verifier */
    size_t log_size;
};

/* name_or_path: a shipped policy name ("default", "by-name", ...) or a path to a .bpf.o.
 * The object must hold exactly one program in SEC("bpfmm/thp_get_orders"). */
bpfmm_policy_t *bpfmm_policy_open(const char *name_or_path, const struct bpfmm_policy_opts *opts);
void bpfmm_policy_close(bpfmm_policy_t *p);

const char *bpfmm_policy_name(const bpfmm_policy_t *p); /* "default", or the file's base name */
const char *bpfmm_policy_path(const bpfmm_policy_t *p);
bpfmm_rt_obj_t *bpfmm_policy_obj(const bpfmm_policy_t *p);
bpfmm_rt_prog_t *bpfmm_policy_prog(const bpfmm_policy_t *p);

/* The hook. Returns prog(ctx) & ctx->orders, or ctx->orders if the program faults.
 * Thread-safe and async-signal-safe (as far as the host's callbacks are; the default fault
 * report is not, see struct bpfmm_policy_host). */
uint64_t bpfmm_policy_get_orders(bpfmm_policy_t *p, const struct bpfmm_thp_ctx *ctx);

/* True if the policy may read any byte of ctx field [off, off + size): hosts skip gathering
 * data no policy reads (e.g. nr_shared). */
bool bpfmm_policy_reads(const bpfmm_policy_t *p, uint32_t off, uint32_t size);
#define bpfmm_policy_reads_field(p, field)                                                         \
    bpfmm_policy_reads((p), offsetof(struct bpfmm_thp_ctx, field),                                 \
                       sizeof(((struct bpfmm_thp_ctx *)0)->field))

struct bpfmm_policy_stats {
    size_t sz;
    uint64_t calls, faults;
    uint32_t last_fault_insn;
};
int bpfmm_policy_get_stats(const bpfmm_policy_t *p, struct bpfmm_policy_stats *st);

/* --- Shipped policies ---------------------------------------------------------------------- */

/* Resolves a shipped name or a path to an object file. Search order for names:
 * $BPFMM_POLICY_DIR, <dir of the bpfmm executable>/policies, <that dir>/../lib/bpfmm/policies,
 * /usr/local/lib/bpfmm/policies, /usr/lib/bpfmm/policies. -ENOENT if not found. */
int bpfmm_policy_resolve(const char *name_or_path, char *path, size_t size);
/* Names of the shipped policies found by bpfmm_policy_resolve's search (sorted, unique);
 * returns the count, at most max. */
unsigned bpfmm_policy_list_shipped(char names[][64], unsigned max);

/* --- The ctx ------------------------------------------------------------------------------- */

/* The runtime's description of struct bpfmm_thp_ctx (size, read-only, named fields). */
const struct bpfmm_rt_ctx_desc *bpfmm_policy_ctx_desc(void);
/* Zeroes ctx and sets size, abi_version, type, pmd_order (9), orders (PMD order and the mTHP
 * orders 2..8) and now_ns. */
void bpfmm_policy_ctx_init(struct bpfmm_thp_ctx *ctx, enum bpfmm_thp_type type);
/* "field=value" for `bpfmm policy run --set`: numbers in any base, sizes (2M, 64K), type names,
 * vma_flags as names joined by '|' or ',' (anon|write|hugepage) or a number, orders as a mask
 * or a list of sizes/orders ("2M,64K" or "9,4"), comm/name as strings. */
int bpfmm_policy_ctx_set(struct bpfmm_thp_ctx *ctx, const char *assignment, char *err,
                         size_t err_size);
/* Field names accepted by bpfmm_policy_ctx_set, one per line with its meaning. */
void bpfmm_policy_ctx_help(FILE *out);

const char *bpfmm_policy_type_name(unsigned type);
int bpfmm_policy_type_parse(const char *text); /* name or number; -EINVAL */

/* A size: a decimal or 0x-hex number with an optional K/M/G/T suffix (powers of 1024, with
 * an optional B or iB: 2M, 2MiB, 64KB). -EINVAL for anything else, -ERANGE past 64 bits.
 * The one size syntax of every bpfmm option and configuration key. */
int bpfmm_policy_parse_size(const char *text, uint64_t *out);

/* Orders as sizes, largest first ("2M 64K"), or "none". Returns snprintf's result. */
int bpfmm_policy_format_orders(uint64_t orders, char *buf, size_t size);
/* "2M,64K", "9,4", "0x210" or "none" to a mask; -EINVAL. */
int bpfmm_policy_parse_orders(const char *text, uint64_t *orders);

#ifdef __cplusplus
}
#endif
#endif
