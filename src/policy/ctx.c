/*
 * struct bpfmm_thp_ctx for hosts: the runtime's description of it (named fields, read-only),
 * initialisation, and "field=value" parsing for `bpfmm policy run --set`. Also the names of
 * THP types, VMA flags and orders. Owns no policy evaluation (policy.c).
 */
#include <bpfmm/policy.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum field_kind { F_U32, F_U64, F_SIZE, F_TYPE, F_FLAGS, F_ORDERS, F_STR, F_RESERVED };

struct field_def {
    const char *name;
    uint32_t off, size;
    enum field_kind kind;
    const char *help;
};

/* Every ctx field once: X(field, kind, help). Both tables below are generated from it. */
#define CTX_FIELDS(X)                                                                              \
    X(size, F_RESERVED, "bytes of the ctx the host provides (set by the host)")                    \
    X(abi_version, F_RESERVED, "ABI version of the host (set by the host)")                        \
    X(type, F_TYPE, "pagefault | khugepaged | forced_collapse | swapin | query")                   \
    X(flags, F_RESERVED, "reserved, 0")                                                            \
    X(orders, F_ORDERS, "candidate orders: sizes or orders, e.g. 2M,64K or 9,4, or a mask")        \
    X(address, F_U64, "faulting address or range start")                                           \
    X(vma_start, F_U64, "VMA start")                                                               \
    X(vma_end, F_U64, "VMA end (exclusive)")                                                       \
    X(vma_flags, F_FLAGS,                                                                          \
      "read|write|exec|shared|anon|file|shmem|stack|heap|hugepage|nohugepage|guard, or a number")  \
    X(pid, F_U32, "thread id")                                                                     \
    X(tgid, F_U32, "process id")                                                                   \
    X(comm, F_STR, "process name (up to 15 characters)")                                           \
    X(name, F_STR, "mapping name: [heap], [stack], a file name, [anon:name]")                      \
    X(range_start, F_U64, "start of the PMD range in question")                                    \
    X(range_pages, F_U32, "pages in the range (512), 0 when counts are unknown")                   \
    X(nr_present, F_U32, "present pages in the range")                                             \
    X(nr_swapped, F_U32, "swapped-out pages in the range")                                         \
    X(nr_huge, F_U32, "pages mapped huge in the range")                                            \
    X(nr_zero, F_U32, "zero-page mappings in the range")                                           \
    X(nr_guard, F_U32, "guard pages in the range")                                                 \
    X(nr_shared, F_U32, "present pages shared with another process")                               \
    X(pmd_order, F_U32, "order of a PMD-sized page (9)")                                           \
    X(vma_resident, F_SIZE, "resident bytes in the VMA (sizes such as 1G accepted)")               \
    X(vma_referenced, F_SIZE, "recently referenced bytes in the VMA")                              \
    X(now_ns, F_U64, "CLOCK_MONOTONIC time of the call")

#define FIELD_OFF(f)             offsetof(struct bpfmm_thp_ctx, f)
#define FIELD_SIZE(f)            sizeof(((struct bpfmm_thp_ctx *)0)->f)
#define FIELD_DEF(f, kind, help) {#f, FIELD_OFF(f), FIELD_SIZE(f), kind, help},
#define RT_FIELD(f, kind, help)  {#f, FIELD_OFF(f), FIELD_SIZE(f)},

static const struct field_def fields[] = {CTX_FIELDS(FIELD_DEF)};
static const struct bpfmm_rt_ctx_field rt_fields[] = {CTX_FIELDS(RT_FIELD)};
#define NR_FIELDS (sizeof(fields) / sizeof(fields[0]))

_Static_assert(sizeof(struct bpfmm_thp_ctx) == BPFMM_THP_CTX_SIZE_V1,
               "struct bpfmm_thp_ctx changed size: append fields and add a new SIZE_Vn");

static const struct bpfmm_rt_ctx_desc desc = {
    .name = "struct bpfmm_thp_ctx",
    .size = sizeof(struct bpfmm_thp_ctx),
    .writable = false,
    .fields = rt_fields,
    .nr_fields = NR_FIELDS,
};

const struct bpfmm_rt_ctx_desc *bpfmm_policy_ctx_desc(void)
{
    return &desc;
}

static const char *const type_names[BPFMM_THP_NR_TYPES] = {
    [BPFMM_THP_PAGEFAULT] = "pagefault",
    [BPFMM_THP_KHUGEPAGED] = "khugepaged",
    [BPFMM_THP_FORCED_COLLAPSE] = "forced_collapse",
    [BPFMM_THP_SWAPIN] = "swapin",
    [BPFMM_THP_QUERY] = "query",
};

const char *bpfmm_policy_type_name(unsigned type)
{
    return type < BPFMM_THP_NR_TYPES ? type_names[type] : "unknown";
}

int bpfmm_policy_type_parse(const char *text)
{
    for (unsigned i = 0; i < BPFMM_THP_NR_TYPES; i++) {
        if (!strcasecmp(text, type_names[i]))
            return (int)i;
        /* Accept the spelling too: FORCED_COLLAPSE, forced-collapse. */
        char alt[32];
        snprintf(alt, sizeof(alt), "%s", type_names[i]);
        for (char *c = alt; *c; c++)
            if (*c == '_')
                *c = '-';
        if (!strcasecmp(text, alt))
            return (int)i;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (!errno && *text && !*end && v < BPFMM_THP_NR_TYPES)
        return (int)v;
    return -EINVAL;
}

static const struct {
    const char *name;
    uint64_t bit;
} flag_names[] = {
    {"read", BPFMM_VMA_READ},
    {"write", BPFMM_VMA_WRITE},
    {"exec", BPFMM_VMA_EXEC},
    {"shared", BPFMM_VMA_SHARED},
    {"anon", BPFMM_VMA_ANON},
    {"file", BPFMM_VMA_FILE},
    {"shmem", BPFMM_VMA_SHMEM},
    {"stack", BPFMM_VMA_STACK},
    {"heap", BPFMM_VMA_HEAP},
    {"hugepage", BPFMM_VMA_HUGEPAGE},
    {"nohugepage", BPFMM_VMA_NOHUGEPAGE},
    {"guard", BPFMM_VMA_GUARD},
};

void bpfmm_policy_ctx_init(struct bpfmm_thp_ctx *ctx, enum bpfmm_thp_type type)
{
    struct timespec ts;
    memset(ctx, 0, sizeof(*ctx));
    ctx->size = sizeof(*ctx);
    ctx->abi_version = BPFMM_THP_ABI_VERSION;
    ctx->type = type;
    ctx->pmd_order = 9;
    /* Orders Linux can map anonymous memory with on x86-64: mTHP 16K..1M (2..8) and PMD. */
    ctx->orders = 0x3fcull | BPFMM_ORDER(9);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ctx->now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bpfmm_policy_parse_size(const char *text, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+' || isspace((unsigned char)*text))
        return -EINVAL;
    /* Hex with 0x, else decimal: a leading 0 is not octal ("010M" is ten MiB). */
    bool hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, hex ? 16 : 10);
    if (end == text || (hex && end == text + 2))
        return -EINVAL;
    if (errno)
        return -ERANGE;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    case '\0':
        break;
    default:
        return -EINVAL;
    }
    if (shift) {
        end++;
        if (*end == 'i' && end[1] == 'B')
            end += 2;
        else if (toupper((unsigned char)*end) == 'B')
            end++;
    }
    if (*end)
        return -EINVAL;
    if (shift && v > (~0ull >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

int bpfmm_policy_parse_orders(const char *text, uint64_t *orders)
{
    if (!strcasecmp(text, "none") || !strcmp(text, "0")) {
        *orders = 0;
        return 0;
    }
    if (!strncasecmp(text, "0x", 2)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 16);
        if (errno || *end)
            return -EINVAL;
        *orders = v;
        return 0;
    }
    uint64_t mask = 0;
    char buf[256];
    if (strlen(text) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, text);
    for (char *save, *tok = strtok_r(buf, ", |", &save); tok; tok = strtok_r(NULL, ", |", &save)) {
        uint64_t v;
        if (bpfmm_policy_parse_size(tok, &v))
            return -EINVAL;
        bool has_suffix = isalpha((unsigned char)tok[strlen(tok) - 1]);
        if (!has_suffix) {
            /* A bare number is an order. */
            if (v > 63)
                return -EINVAL;
            mask |= 1ull << v;
            continue;
        }
        /* A size: must be a power of two of at least one page. */
        if (v < 4096 || (v & (v - 1)))
            return -EINVAL;
        unsigned order = (unsigned)__builtin_ctzll(v) - 12;
        mask |= 1ull << order;
    }
    *orders = mask;
    return 0;
}

int bpfmm_policy_format_orders(uint64_t orders, char *buf, size_t size)
{
    if (!orders)
        return snprintf(buf, size, "none");
    size_t len = 0;
    int total = 0;
    for (int o = 63; o >= 0; o--) {
        if (!(orders & (1ull << o)))
            continue;
        char one[32];
        unsigned shift = (unsigned)o + 12;
        if (shift >= 40)
            snprintf(one, sizeof(one), "%lluT", 1ull << (shift - 40));
        else if (shift >= 30)
            snprintf(one, sizeof(one), "%lluG", 1ull << (shift - 30));
        else if (shift >= 20)
            snprintf(one, sizeof(one), "%lluM", 1ull << (shift - 20));
        else
            snprintf(one, sizeof(one), "%lluK", 1ull << (shift - 10));
        int n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0, "%s%s",
                         total ? " " : "", one);
        total += n;
        len += (size_t)n;
    }
    return total;
}

__attribute__((format(printf, 3, 4))) static int set_err(char *err, size_t size, const char *fmt,
                                                         ...)
{
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int parse_flags(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (!errno && *text && !*end) {
        *out = v;
        return 0;
    }
    char buf[256];
    if (strlen(text) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, text);
    uint64_t mask = 0;
    for (char *save, *tok = strtok_r(buf, "|, ", &save); tok; tok = strtok_r(NULL, "|, ", &save)) {
        unsigned i;
        for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
            if (!strcasecmp(tok, flag_names[i].name))
                break;
        if (i == sizeof(flag_names) / sizeof(flag_names[0]))
            return -EINVAL;
        mask |= flag_names[i].bit;
    }
    *out = mask;
    return 0;
}

int bpfmm_policy_ctx_set(struct bpfmm_thp_ctx *ctx, const char *assignment, char *err,
                         size_t err_size)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return set_err(err, err_size, "--set '%s': expected FIELD=VALUE", assignment);
    size_t nlen = (size_t)(eq - assignment);
    const char *value = eq + 1;
    const struct field_def *f = NULL;
    for (unsigned i = 0; i < NR_FIELDS; i++)
        if (strlen(fields[i].name) == nlen && !strncmp(fields[i].name, assignment, nlen))
            f = &fields[i];
    if (!f)
        return set_err(err, err_size,
                       "--set: no ctx field '%.*s'; `bpfmm policy run --help` lists them",
                       (int)nlen, assignment);
    char *dst = (char *)ctx + f->off;
    uint64_t v;
    switch (f->kind) {
    case F_RESERVED:
        return set_err(err, err_size, "--set: %s is set by the host and cannot be changed",
                       f->name);
    case F_TYPE: {
        int t = bpfmm_policy_type_parse(value);
        if (t < 0)
            return set_err(err, err_size,
                           "--set type=%s: unknown type; use pagefault, khugepaged, "
                           "forced_collapse, swapin or query",
                           value);
        ctx->type = (uint32_t)t;
        return 0;
    }
    case F_ORDERS:
        if (bpfmm_policy_parse_orders(value, &v))
            return set_err(err, err_size,
                           "--set orders=%s: expected sizes (2M,64K), orders (9,4), a hex mask "
                           "(0x200) or none",
                           value);
        ctx->orders = v;
        return 0;
    case F_FLAGS:
        if (parse_flags(value, &v))
            return set_err(err, err_size,
                           "--set vma_flags=%s: expected names joined by '|' (read, write, "
                           "exec, shared, anon, file, shmem, stack, heap, hugepage, "
                           "nohugepage, guard) or a number",
                           value);
        ctx->vma_flags = v;
        return 0;
    case F_STR: {
        size_t len = strlen(value);
        size_t max = f->size - 1; /* keep a NUL, as the kernel's comm does */
        if (len > max)
            return set_err(err, err_size, "--set %s: '%s' is longer than %zu characters", f->name,
                           value, max);
        memset(dst, 0, f->size);
        memcpy(dst, value, len);
        return 0;
    }
    case F_U32:
    case F_U64:
    case F_SIZE: {
        char *end;
        errno = 0;
        if (f->kind == F_SIZE) {
            if (bpfmm_policy_parse_size(value, &v))
                return set_err(err, err_size, "--set %s=%s: expected a size (4096, 2M, 1G)",
                               f->name, value);
        } else {
            if (*value == '-')
                return set_err(err, err_size, "--set %s=%s: expected a non-negative number",
                               f->name, value);
            v = strtoull(value, &end, 0);
            if (errno || !*value || *end)
                return set_err(err, err_size, "--set %s=%s: expected a number", f->name, value);
        }
        if (f->size == 4) {
            if (v > UINT32_MAX)
                return set_err(err, err_size, "--set %s=%s: out of range for a 32-bit field",
                               f->name, value);
            uint32_t v32 = (uint32_t)v;
            memcpy(dst, &v32, 4);
        } else {
            memcpy(dst, &v, 8);
        }
        return 0;
    }
    }
    return set_err(err, err_size, "--set: internal error for field %s", f->name);
}

void bpfmm_policy_ctx_help(FILE *out)
{
    for (unsigned i = 0; i < NR_FIELDS; i++)
        if (fields[i].kind != F_RESERVED)
            fprintf(out, "  %-15s %s\n", fields[i].name, fields[i].help);
}
