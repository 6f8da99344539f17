/*
 * Program extraction and relocation (see rt_reloc.h). Call targets follow clang/libbpf:
 *   - a call carrying R_BPF_64_32 against symbol S targets instruction S.st_value / 8 + imm + 1
 *     of S's section (for a section symbol st_value is 0, so imm + 1 from the section start);
 *   - a call without relocation targets pc + imm + 1 in its own section.
 * Every relocation in an executable section is validated when the object opens, used or not,
 * so a bad object is refused whatever program is later run. Owns no map or VM logic.
 */
#include "rt_reloc.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_BPF_NONE  0
#define R_BPF_64_64 1
#define R_BPF_64_32 10

#define OP_LDDW     (BPF_LD | BPF_IMM | BPF_DW)
#define OP_CALL     (BPF_JMP | BPF_CALL)

enum rkind { RK_MAP, RK_GLOBAL, RK_CALL };

struct rreloc {
    uint32_t insn; /* in its section */
    enum rkind kind;
    uint32_t map;     /* RK_MAP / RK_GLOBAL */
    uint32_t off;     /* RK_GLOBAL */
    uint32_t t_shndx; /* RK_CALL */
    uint32_t t_insn;  /* RK_CALL */
    const char *symname;
};

struct func {
    uint32_t shndx, start, len;
    const char *name;
    bool global;
};

struct ctx {
    struct bpfmm_rt_obj *obj;
    const struct rt_elf *e;
    char *log;
    size_t log_size;
    struct rreloc **rel; /* per section, sorted by insn */
    uint32_t *nr_rel;
    struct func *funcs;
    uint32_t nr_funcs;
};

static const struct bpf_insn *sec_insns(const struct rt_elf_sec *s)
{
    return (const struct bpf_insn *)s->data;
}

static uint32_t sec_nr_insns(const struct rt_elf_sec *s)
{
    return s->data ? (uint32_t)(s->size / sizeof(struct bpf_insn)) : 0;
}

static bool is_exec(const struct rt_elf_sec *s)
{
    return s->type == SHT_PROGBITS && (s->flags & SHF_EXECINSTR);
}

static const char *sym_label(const struct rt_elf *e, const struct rt_elf_sym *s)
{
    if (s->type == STT_SECTION && s->shndx < e->nr_secs)
        return e->secs[s->shndx].name;
    return *s->name ? s->name : "(unnamed)";
}

static struct bpfmm_rt_map *map_for_section(struct bpfmm_rt_obj *obj, uint32_t shndx)
{
    for (unsigned i = 0; i < obj->nr_maps; i++)
        if (obj->maps[i]->elf_shndx == (int)shndx)
            return obj->maps[i];
    return NULL;
}

static int resolve_lddw(struct ctx *c, const struct rt_elf_sec *sec, uint32_t insn,
                        const struct rt_elf_sym *sym, struct rreloc *r)
{
    const struct rt_elf *e = c->e;
    const struct bpf_insn *ins = &sec_insns(sec)[insn];
    const struct rt_elf_sec *ts = &e->secs[sym->shndx];
    const char *sn = sym_label(e, sym);
    int32_t imm = ins->imm;

    if (strcmp(ts->name, ".maps") == 0) {
        uint64_t off = sym->value + (int64_t)imm;
        for (unsigned i = 0; i < c->obj->nr_maps; i++) {
            struct bpfmm_rt_map *m = c->obj->maps[i];
            if (!m->rt.global && m->offset == off) {
                r->kind = RK_MAP;
                r->map = m->rt.index;
                return 0;
            }
        }
        rt_log(c->log, c->log_size,
               "section '%s': insn %u: lddw refers to '%s'+%d in '.maps', which is not the start "
               "of a map definition",
               sec->name, insn, sn, imm);
        return -EINVAL;
    }
    struct bpfmm_rt_map *gm = map_for_section(c->obj, sym->shndx);
    if (gm) {
        int64_t off = (sym->type == STT_SECTION ? 0 : (int64_t)sym->value) + imm;
        if (off < 0 || (uint64_t)off > ts->size) {
            rt_log(c->log, c->log_size,
                   "section '%s': insn %u: lddw refers to offset %lld of '%s', outside the "
                   "section (%llu bytes)",
                   sec->name, insn, (long long)off, ts->name, (unsigned long long)ts->size);
            return -EINVAL;
        }
        r->kind = RK_GLOBAL;
        r->map = gm->rt.index;
        r->off = (uint32_t)off;
        return 0;
    }
    if (is_exec(ts)) {
        rt_log(c->log, c->log_size,
               "section '%s': insn %u: lddw takes the address of function '%s' (a callback): "
               "function pointers are not supported",
               sec->name, insn, sn);
        return -EOPNOTSUPP;
    }
    rt_log(c->log, c->log_size,
           "section '%s': insn %u: relocation against '%s' in section '%s', which holds no map, "
           "global data or code",
           sec->name, insn, sn, ts->name);
    return -EINVAL;
}

static int parse_one(struct ctx *c, const struct rt_elf_sec *sec, const struct rt_elf_sec *rs,
                     const Elf64_Rel *rel, struct rreloc *r)
{
    const struct rt_elf *e = c->e;
    unsigned type = (unsigned)ELF64_R_TYPE(rel->r_info);
    uint64_t symi = ELF64_R_SYM(rel->r_info);
    const char *tn = rt_elf_reloc_name(type);

    if (type != R_BPF_64_64 && type != R_BPF_64_32) {
        if (tn)
            rt_log(c->log, c->log_size,
                   "section '%s': relocation %s (type %u) at offset 0x%llx is not valid in a "
                   "program section",
                   sec->name, tn, type, (unsigned long long)rel->r_offset);
        else
            rt_log(c->log, c->log_size,
                   "section '%s': unknown relocation type %u at offset 0x%llx (in '%s'); "
                   "bpfmm handles R_BPF_64_64 and R_BPF_64_32",
                   sec->name, type, (unsigned long long)rel->r_offset, rs->name);
        return -EINVAL;
    }
    if (rel->r_offset % 8 || rel->r_offset >= sec->size) {
        rt_log(c->log, c->log_size, "section '%s': relocation offset 0x%llx is not an instruction",
               sec->name, (unsigned long long)rel->r_offset);
        return -EINVAL;
    }
    if (symi == 0 || symi >= e->nr_syms) {
        rt_log(c->log, c->log_size,
               "section '%s': relocation at offset 0x%llx refers to unknown symbol #%llu",
               sec->name, (unsigned long long)rel->r_offset, (unsigned long long)symi);
        return -EINVAL;
    }
    const struct rt_elf_sym *sym = &e->syms[symi];
    uint32_t insn = (uint32_t)(rel->r_offset / 8);
    r->insn = insn;
    r->symname = sym_label(e, sym);
    if (sym->shndx == SHN_UNDEF || sym->shndx >= e->nr_secs) {
        rt_log(c->log, c->log_size,
               "section '%s': insn %u: relocation against unknown symbol '%s' (undefined or "
               "extern: externs, kfuncs and kconfig are not supported)",
               sec->name, insn, r->symname);
        return -EINVAL;
    }
    const struct bpf_insn *ins = &sec_insns(sec)[insn];
    if (type == R_BPF_64_64) {
        if (ins->code != OP_LDDW || insn + 1 >= sec_nr_insns(sec)) {
            rt_log(c->log, c->log_size,
                   "section '%s': insn %u: R_BPF_64_64 relocation on an instruction that is not "
                   "lddw (opcode 0x%02x)",
                   sec->name, insn, ins->code);
            return -EINVAL;
        }
        return resolve_lddw(c, sec, insn, sym, r);
    }
    /* R_BPF_64_32: a bpf-to-bpf call. */
    if (ins->code != OP_CALL || ins->src_reg != BPF_PSEUDO_CALL) {
        rt_log(c->log, c->log_size,
               "section '%s': insn %u: R_BPF_64_32 relocation on an instruction that is not a "
               "local call (opcode 0x%02x src %u)",
               sec->name, insn, ins->code, ins->src_reg);
        return -EINVAL;
    }
    const struct rt_elf_sec *ts = &e->secs[sym->shndx];
    int64_t t = (int64_t)(sym->type == STT_SECTION ? 0 : sym->value / 8) + ins->imm + 1;
    if (!is_exec(ts) || t < 0 || t >= sec_nr_insns(ts)) {
        rt_log(c->log, c->log_size,
               "section '%s': insn %u: call to '%s'%+d, outside the code of section '%s'",
               sec->name, insn, r->symname, ins->imm, ts->name);
        return -EINVAL;
    }
    r->kind = RK_CALL;
    r->t_shndx = sym->shndx;
    r->t_insn = (uint32_t)t;
    return 0;
}

static int cmp_rel(const void *a, const void *b)
{
    const struct rreloc *x = a, *y = b;
    return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static int collect_relocs(struct ctx *c)
{
    const struct rt_elf *e = c->e;
    for (size_t i = 1; i < e->nr_secs; i++) {
        const struct rt_elf_sec *rs = &e->secs[i];
        if (rs->type != SHT_REL && rs->type != SHT_RELA)
            continue;
        if (rs->info == 0 || rs->info >= e->nr_secs) {
            rt_log(c->log, c->log_size, "relocation section '%s' applies to invalid section %u",
                   rs->name, rs->info);
            return -EINVAL;
        }
        const struct rt_elf_sec *sec = &e->secs[rs->info];
        if (!is_exec(sec)) {
            if (strcmp(sec->name, ".maps") == 0 && rs->size) {
                rt_log(c->log, c->log_size,
                       "section '%s': relocations in '.maps' (map-in-map initialisation) are "
                       "not supported",
                       rs->name);
                return -EOPNOTSUPP;
            }
            continue; /* debug info, BTF.ext: R_BPF_64_ABS64/ABS32/NODYLD32, ignored */
        }
        if (rs->type == SHT_RELA) {
            rt_log(c->log, c->log_size,
                   "section '%s': RELA relocations for program section '%s' are not supported "
                   "(clang emits REL)",
                   rs->name, sec->name);
            return -EINVAL;
        }
        if (rs->entsize != sizeof(Elf64_Rel) || rs->size % sizeof(Elf64_Rel)) {
            rt_log(c->log, c->log_size, "corrupt relocation section '%s' (entry size %llu)",
                   rs->name, (unsigned long long)rs->entsize);
            return -EINVAL;
        }
        size_t n = rs->size / sizeof(Elf64_Rel);
        size_t have = c->nr_rel[sec->idx];
        struct rreloc *arr = realloc(c->rel[sec->idx], (have + n + 1) * sizeof(*arr));
        if (!arr)
            return -ENOMEM;
        c->rel[sec->idx] = arr;
        for (size_t j = 0; j < n; j++) {
            Elf64_Rel rel;
            memcpy(&rel, rs->data + j * sizeof(rel), sizeof(rel));
            if (ELF64_R_TYPE(rel.r_info) == R_BPF_NONE)
                continue;
            struct rreloc r = {0};
            int err = parse_one(c, sec, rs, &rel, &r);
            if (err)
                return err;
            arr[c->nr_rel[sec->idx]++] = r;
        }
        qsort(arr, c->nr_rel[sec->idx], sizeof(*arr), cmp_rel);
    }
    return 0;
}

static const struct rreloc *find_rel(const struct ctx *c, uint32_t shndx, uint32_t insn)
{
    const struct rreloc *a = c->rel[shndx];
    uint32_t lo = 0, hi = c->nr_rel[shndx];
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (a[mid].insn < insn)
            lo = mid + 1;
        else if (a[mid].insn > insn)
            hi = mid;
        else
            return &a[mid];
    }
    return NULL;
}

static int cmp_func(const void *a, const void *b)
{
    const struct func *x = a, *y = b;
    if (x->shndx != y->shndx)
        return x->shndx < y->shndx ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int collect_funcs(struct ctx *c)
{
    const struct rt_elf *e = c->e;
    c->funcs = calloc(e->nr_syms ? e->nr_syms : 1, sizeof(*c->funcs));
    if (!c->funcs)
        return -ENOMEM;
    for (size_t i = 1; i < e->nr_syms; i++) {
        const struct rt_elf_sym *s = &e->syms[i];
        if (s->type != STT_FUNC || s->shndx == SHN_UNDEF || s->shndx >= e->nr_secs)
            continue;
        const struct rt_elf_sec *sec = &e->secs[s->shndx];
        if (!is_exec(sec))
            continue;
        uint32_t n = sec_nr_insns(sec);
        if (s->value % 8 || s->size % 8 || s->value / 8 > n || s->size / 8 > n - s->value / 8) {
            rt_log(c->log, c->log_size,
                   "function '%s' (offset %llu, %llu bytes) does not fit section '%s'", s->name,
                   (unsigned long long)s->value, (unsigned long long)s->size, sec->name);
            return -EINVAL;
        }
        c->funcs[c->nr_funcs++] = (struct func){
            .shndx = s->shndx,
            .start = (uint32_t)(s->value / 8),
            .len = (uint32_t)(s->size / 8),
            .name = *s->name ? s->name : sec->name,
            .global = s->bind == STB_GLOBAL || s->bind == STB_WEAK,
        };
    }
    qsort(c->funcs, c->nr_funcs, sizeof(*c->funcs), cmp_func);
    /* Size-less symbols (hand-written assembly) extend to the next function or section end. */
    for (uint32_t i = 0; i < c->nr_funcs; i++) {
        struct func *f = &c->funcs[i];
        if (f->len)
            continue;
        uint32_t end = sec_nr_insns(&e->secs[f->shndx]);
        if (i + 1 < c->nr_funcs && c->funcs[i + 1].shndx == f->shndx)
            end = c->funcs[i + 1].start;
        f->len = end - f->start;
    }
    return 0;
}

static const struct func *func_at(const struct ctx *c, uint32_t shndx, uint32_t insn, bool *inside)
{
    *inside = false;
    for (uint32_t i = 0; i < c->nr_funcs; i++) {
        const struct func *f = &c->funcs[i];
        if (f->shndx != shndx || insn < f->start || insn >= f->start + f->len)
            continue;
        if (f->start == insn && f->len)
            return f;
        *inside = true;
    }
    return NULL;
}

struct build {
    const struct func **fs; /* functions of this program, in layout order */
    uint32_t *pos;          /* first instruction of each in the program */
    uint32_t nr, cap;
    uint32_t total;
};

static int add_func(struct build *b, const struct func *f, uint32_t *idx)
{
    for (uint32_t i = 0; i < b->nr; i++)
        if (b->fs[i] == f) {
            *idx = i;
            return 0;
        }
    if (b->total + f->len > RT_PROG_MAX_INSNS)
        return -E2BIG;
    if (b->nr == b->cap) {
        uint32_t nc = b->cap ? b->cap * 2 : 8;
        const struct func **fs = realloc(b->fs, nc * sizeof(*fs));
        if (!fs)
            return -ENOMEM;
        b->fs = fs;
        uint32_t *pos = realloc(b->pos, nc * sizeof(*pos));
        if (!pos)
            return -ENOMEM;
        b->pos = pos;
        b->cap = nc;
    }
    b->fs[b->nr] = f;
    b->pos[b->nr] = b->total;
    b->total += f->len;
    *idx = b->nr++;
    return 0;
}

/* Call target (section, insn) of the call at f->start + i. */
static void call_target(const struct ctx *c, const struct func *f, uint32_t i,
                        const struct bpf_insn *ins, uint32_t *tsh, int64_t *tinsn)
{
    const struct rreloc *r = find_rel(c, f->shndx, f->start + i);
    if (r && r->kind == RK_CALL) {
        *tsh = r->t_shndx;
        *tinsn = r->t_insn;
    } else {
        *tsh = f->shndx;
        *tinsn = (int64_t)f->start + i + ins->imm + 1;
    }
}

static int build_prog(struct ctx *c, const struct func *main, struct bpfmm_rt_prog *p)
{
    const struct rt_elf *e = c->e;
    struct build b = {0};
    uint32_t dummy;
    int err = add_func(&b, main, &dummy);
    /* Discover sub-programs breadth-first; b.nr grows while we iterate. */
    for (uint32_t fi = 0; !err && fi < b.nr; fi++) {
        const struct func *f = b.fs[fi];
        const struct bpf_insn *in = sec_insns(&e->secs[f->shndx]) + f->start;
        for (uint32_t i = 0; !err && i < f->len; i++) {
            if (in[i].code != OP_CALL || in[i].src_reg != BPF_PSEUDO_CALL)
                continue;
            uint32_t tsh;
            int64_t t;
            call_target(c, f, i, &in[i], &tsh, &t);
            if (tsh == f->shndx && t >= f->start && t < (int64_t)f->start + f->len)
                continue; /* recursion into its own body: left to the verifier */
            bool inside = false;
            const struct func *tf =
                t >= 0 && t <= UINT32_MAX ? func_at(c, tsh, (uint32_t)t, &inside) : NULL;
            if (!tf) {
                rt_log(c->log, c->log_size,
                       "program '%s': insn %u of '%s' calls instruction %lld of section '%s', "
                       "which is %s",
                       main->name, i, f->name, (long long)t, e->secs[tsh].name,
                       inside ? "inside a function, not at its start"
                              : "not the start of a known function");
                err = -EINVAL;
                break;
            }
            err = add_func(&b, tf, &dummy);
            if (err == -E2BIG)
                rt_log(c->log, c->log_size,
                       "program '%s': more than %u instructions with its sub-programs", main->name,
                       RT_PROG_MAX_INSNS);
        }
    }
    if (err)
        goto out;

    p->insns = calloc(b.total ? b.total : 1, sizeof(*p->insns));
    p->syms = calloc(b.nr, sizeof(*p->syms));
    p->sym_names = calloc(b.nr, sizeof(*p->sym_names));
    if (!p->insns || !p->syms || !p->sym_names) {
        err = -ENOMEM;
        goto out;
    }
    p->nr_insns = b.total;
    p->nr_syms = b.nr;
    for (uint32_t fi = 0; fi < b.nr; fi++) {
        const struct func *f = b.fs[fi];
        p->sym_names[fi] = strdup(f->name);
        if (!p->sym_names[fi]) {
            err = -ENOMEM;
            goto out;
        }
        p->syms[fi] = (struct rt_sym){.insn = b.pos[fi], .name = p->sym_names[fi]};
        struct bpf_insn *out = p->insns + b.pos[fi];
        const struct bpf_insn *in = sec_insns(&e->secs[f->shndx]) + f->start;
        memcpy(out, in, f->len * sizeof(*out));
        for (uint32_t i = 0; i < f->len; i++) {
            const struct rreloc *r = find_rel(c, f->shndx, f->start + i);
            if (r && r->kind == RK_MAP) {
                out[i].src_reg = BPF_PSEUDO_MAP_IDX;
                out[i].imm = (int32_t)r->map;
            } else if (r && r->kind == RK_GLOBAL) {
                if (i + 1 >= f->len) {
                    rt_log(c->log, c->log_size,
                           "program '%s': lddw at the end of function '%s' is cut in half",
                           main->name, f->name);
                    err = -EINVAL;
                    goto out;
                }
                out[i].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
                out[i].imm = (int32_t)r->map;
                out[i + 1].imm = (int32_t)r->off;
            }
            if (in[i].code == OP_CALL && in[i].src_reg == BPF_PSEUDO_CALL) {
                uint32_t tsh;
                int64_t t;
                call_target(c, f, i, &in[i], &tsh, &t);
                int64_t target;
                if (tsh == f->shndx && t >= f->start && t < (int64_t)f->start + f->len) {
                    target = b.pos[fi] + (t - f->start);
                } else {
                    bool inside;
                    const struct func *tf = func_at(c, tsh, (uint32_t)t, &inside);
                    uint32_t ti = 0;
                    add_func(&b, tf, &ti); /* already present: returns its index */
                    target = b.pos[ti];
                }
                out[i].imm = (int32_t)(target - ((int64_t)b.pos[fi] + i + 1));
            }
        }
    }
out:
    free(b.fs);
    free(b.pos);
    return err;
}

static int make_progs(struct ctx *c)
{
    const struct rt_elf *e = c->e;
    for (size_t si = 1; si < e->nr_secs; si++) {
        const struct rt_elf_sec *sec = &e->secs[si];
        if (!is_exec(sec) || strcmp(sec->name, ".text") == 0 || sec->size == 0)
            continue;
        unsigned found = 0;
        for (uint32_t i = 0; i < c->nr_funcs; i++) {
            const struct func *f = &c->funcs[i];
            if (f->shndx != si || !f->global)
                continue;
            found++;
            struct bpfmm_rt_prog *p = calloc(1, sizeof(*p));
            if (!p)
                return -ENOMEM;
            p->obj = c->obj;
            p->name = strdup(f->name);
            p->section = strdup(sec->name);
            int err = p->name && p->section ? build_prog(c, f, p) : -ENOMEM;
            if (!err)
                err = rt_obj_add_prog(c->obj, p);
            if (err) {
                rt_prog_free(p);
                return err;
            }
        }
        if (!found) {
            rt_log(c->log, c->log_size,
                   "section '%s' has code but no global function: a program is a non-static "
                   "function in a SEC() section",
                   sec->name);
            return -EINVAL;
        }
    }
    if (c->obj->nr_progs == 0) {
        rt_log(c->log, c->log_size,
               "no programs: the object has no function in a SEC(\"...\") section (functions in "
               ".text are only sub-programs)");
        return -ENOENT;
    }
    return 0;
}

int rt_reloc_build_progs(struct bpfmm_rt_obj *obj, const struct rt_elf *e, char *log,
                         size_t log_size)
{
    struct ctx c = {.obj = obj, .e = e, .log = log, .log_size = log_size};
    c.rel = calloc(e->nr_secs, sizeof(*c.rel));
    c.nr_rel = calloc(e->nr_secs, sizeof(*c.nr_rel));
    int err = c.rel && c.nr_rel ? 0 : -ENOMEM;
    if (!err)
        err = collect_funcs(&c);
    if (!err)
        err = collect_relocs(&c);
    if (!err)
        err = make_progs(&c);
    if (c.rel)
        for (size_t i = 0; i < e->nr_secs; i++)
            free(c.rel[i]);
    free(c.rel);
    free(c.nr_rel);
    free(c.funcs);
    return err;
}
