/*
 * Opening and closing objects: the open path (ELF -> BTF -> license -> maps and global data in
 * a per-object arena -> programs and relocation) for ELF files, ELF buffers and raw
 * instructions, and the teardown that undoes each step. Loading (verification) and the
 * per-program and per-map API live in rt_api*.c.
 */
#include "rt_obj.h"

#include "rt_btf.h"
#include "rt_elf.h"
#include "rt_map_impl.h"
#include "rt_reloc.h"

#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RT_OBJ_MAX_FILE (256u << 20)

void rt_vlog(char *buf, size_t size, const char *fmt, va_list ap)
{
    if (!buf || size == 0 || buf[0] != '\0')
        return;
    vsnprintf(buf, size, fmt, ap);
}

void rt_log(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_vlog(buf, size, fmt, ap);
    va_end(ap);
}

struct bpfmm_rt_obj *rt_obj_alloc(const char *name)
{
    struct bpfmm_rt_obj *obj = calloc(1, sizeof(*obj));
    if (!obj)
        return NULL;
    obj->name = strdup(name ? name : "object");
    if (!obj->name) {
        free(obj);
        return NULL;
    }
    return obj;
}

void rt_prog_free(struct bpfmm_rt_prog *p)
{
    if (!p)
        return;
    if (p->vm)
        rt_vm_free(p->vm);
    if (p->sym_names)
        for (uint32_t i = 0; i < p->nr_syms; i++)
            free(p->sym_names[i]);
    free(p->sym_names);
    free(p->syms);
    free(p->insns);
    free(p->name);
    free(p->section);
    free(p);
}

void rt_obj_free(struct bpfmm_rt_obj *obj)
{
    if (!obj)
        return;
    for (unsigned i = 0; i < obj->nr_progs; i++)
        rt_prog_free(obj->progs[i]);
    free(obj->progs);
    for (unsigned i = 0; i < obj->nr_maps; i++) {
        struct bpfmm_rt_map *m = obj->maps[i];
        if (m->rt.ops && m->rt.ops->destroy)
            m->rt.ops->destroy(&m->rt);
        free(m);
    }
    free(obj->maps);
    free(obj->rt_maps);
    rt_obj_free_load_copies(obj);
    if (obj->alloc)
        bpfmm_alloc_destroy(obj->alloc);
    if (obj->btf)
        btf__free(obj->btf);
    free(obj->license);
    free(obj->name);
    free(obj);
}

int rt_obj_add_map(struct bpfmm_rt_obj *obj, struct bpfmm_rt_map *m)
{
    struct bpfmm_rt_map **maps = realloc(obj->maps, (obj->nr_maps + 1) * sizeof(*maps));
    if (!maps)
        return -ENOMEM;
    obj->maps = maps;
    struct rt_map **rt = realloc(obj->rt_maps, (obj->nr_maps + 1) * sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    obj->rt_maps = rt;
    m->obj = obj;
    m->rt.index = obj->nr_maps;
    obj->maps[obj->nr_maps] = m;
    obj->rt_maps[obj->nr_maps] = &m->rt;
    obj->nr_maps++;
    return 0;
}

int rt_obj_add_prog(struct bpfmm_rt_obj *obj, struct bpfmm_rt_prog *p)
{
    struct bpfmm_rt_prog **progs = realloc(obj->progs, (obj->nr_progs + 1) * sizeof(*progs));
    if (!progs)
        return -ENOMEM;
    obj->progs = progs;
    p->obj = obj;
    obj->progs[obj->nr_progs++] = p;
    return 0;
}

static bool is_global_data_sec(const struct rt_elf_sec *s)
{
    if (!(s->flags & SHF_ALLOC) || (s->flags & SHF_EXECINSTR))
        return false;
    if (s->type != SHT_PROGBITS && s->type != SHT_NOBITS)
        return false;
    static const char *const prefixes[] = {".data", ".bss", ".rodata"};
    for (unsigned i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s->name, prefixes[i], n) == 0 && (s->name[n] == '\0' || s->name[n] == '.'))
            return true;
    }
    return false;
}

static int add_maps(struct bpfmm_rt_obj *obj, const struct rt_elf *e, char *log, size_t log_size)
{
    struct rt_map_def *defs;
    unsigned nr;
    int err = rt_btf_map_defs(e, obj->btf, &defs, &nr, log, log_size);
    if (err)
        return err;
    for (unsigned i = 0; i < nr; i++) {
        struct bpfmm_rt_map *m = calloc(1, sizeof(*m));
        if (!m) {
            free(defs);
            return -ENOMEM;
        }
        strcpy(m->rt.name, defs[i].name);
        m->rt.type = defs[i].type;
        m->rt.key_size = defs[i].key_size;
        m->rt.value_size = defs[i].value_size;
        m->rt.max_entries = defs[i].max_entries;
        m->rt.map_flags = defs[i].map_flags;
        m->rt.prog_readonly = defs[i].map_flags & BPF_F_RDONLY_PROG;
        m->rt.btf_key_type_id = defs[i].btf_key_type_id;
        m->rt.btf_value_type_id = defs[i].btf_value_type_id;
        m->elf_shndx = -1;
        m->offset = defs[i].offset;
        err = rt_obj_add_map(obj, m);
        if (err) {
            free(m);
            free(defs);
            return err;
        }
    }
    free(defs);

    for (size_t i = 1; i < e->nr_secs; i++) {
        const struct rt_elf_sec *s = &e->secs[i];
        if (!is_global_data_sec(s) || s->size == 0)
            continue;
        if (strlen(s->name) >= sizeof(((struct rt_map *)0)->name) ||
            s->size > RT_MAP_MAX_VALUE_SIZE * 64) {
            rt_log(log, log_size,
                   "section '%s' (%llu bytes): name or size too large for global "
                   "data",
                   s->name, (unsigned long long)s->size);
            return -E2BIG;
        }
        struct bpfmm_rt_map *m = calloc(1, sizeof(*m));
        if (!m)
            return -ENOMEM;
        strcpy(m->rt.name, s->name);
        m->rt.type = BPF_MAP_TYPE_ARRAY;
        m->rt.key_size = 4;
        m->rt.value_size = (uint32_t)s->size;
        m->rt.max_entries = 1;
        m->rt.global = true;
        m->rodata = strncmp(s->name, ".rodata", 7) == 0;
        /* Linux freezes .rodata with BPF_F_RDONLY_PROG: the verifier refuses program stores. */
        m->rt.prog_readonly = m->rodata;
        m->rt.btf_value_type_id = rt_btf_datasec(obj->btf, s->name);
        m->elf_shndx = (int)s->idx;
        err = rt_obj_add_map(obj, m);
        if (err) {
            free(m);
            return err;
        }
    }
    return 0;
}

/* One arena per object, sized from all its maps before any is created (docs/runtime-loader.md:
 * "Map memory"). */
static int create_maps(struct bpfmm_rt_obj *obj, const struct rt_elf *e, char *log, size_t log_size)
{
    if (obj->nr_maps == 0)
        return 0;
    uint64_t pages = 16;
    unsigned max_order = 1;
    for (unsigned i = 0; i < obj->nr_maps; i++) {
        struct rt_map_need need;
        int err = rt_map_plan(&obj->maps[i]->rt, &need, log, log_size);
        if (err)
            return err;
        pages += need.pages;
        if (need.max_order > max_order)
            max_order = need.max_order;
    }
    if (max_order > BPFMM_ALLOC_ORDER_MAX || pages > RT_ARENA_MAX_PAGES) {
        rt_log(log, log_size,
               "the object's maps need %llu MiB, above the limit of %llu MiB per object",
               (unsigned long long)(pages >> 8), (unsigned long long)(RT_ARENA_MAX_PAGES >> 8));
        return -E2BIG;
    }
    /* Room for the largest block to be naturally aligned next to the others. */
    pages += 1ull << max_order;
    obj->alloc = rt_arena_create(pages, max_order, log, log_size);
    if (!obj->alloc)
        return -(errno ? errno : ENOMEM);
    for (unsigned i = 0; i < obj->nr_maps; i++) {
        struct bpfmm_rt_map *m = obj->maps[i];
        const void *init = NULL;
        size_t init_size = 0;
        if (m->elf_shndx >= 0) {
            init = e->secs[m->elf_shndx].data; /* NULL for .bss */
            init_size = init ? e->secs[m->elf_shndx].size : 0;
        }
        int err = rt_map_create(&m->rt, obj->alloc, init, init_size, log, log_size);
        if (err)
            return err;
    }
    return 0;
}

static int read_license(struct bpfmm_rt_obj *obj, const struct rt_elf *e)
{
    const struct rt_elf_sec *s = rt_elf_find_sec(e, "license");
    if (!s || !s->data)
        return 0;
    obj->license = strndup((const char *)s->data, s->size);
    return obj->license ? 0 : -ENOMEM;
}

/* Prefixes the object name to the reason recorded in the caller's log. */
static void prefix_log(char *log, size_t log_size, const char *name)
{
    if (!log || !log_size || !log[0])
        return;
    size_t n = strlen(log);
    char *tmp = malloc(n + 1);
    if (!tmp)
        return;
    memcpy(tmp, log, n + 1);
    snprintf(log, log_size, "%s: %s", name, tmp);
    free(tmp);
}

bpfmm_rt_obj_t *bpfmm_rt_obj_open_mem(const void *buf, size_t size,
                                      const struct bpfmm_rt_open_opts *opts)
{
    char *log = OPT(opts, log_buf, NULL);
    size_t log_size = OPT(opts, log_size, 0);
    const char *name = OPT(opts, name, NULL);
    if (log && log_size)
        log[0] = '\0';
    struct bpfmm_rt_obj *obj = rt_obj_alloc(name ? name : "object");
    if (!obj) {
        errno = ENOMEM;
        return NULL;
    }
    struct rt_elf e;
    int err = rt_elf_open(&e, buf, size, log, log_size);
    if (err)
        goto fail_noelf;
    err = rt_btf_load(&e, &obj->btf, log, log_size);
    if (!err)
        err = read_license(obj, &e);
    if (!err)
        err = add_maps(obj, &e, log, log_size);
    if (!err)
        err = create_maps(obj, &e, log, log_size);
    if (!err)
        err = rt_reloc_build_progs(obj, &e, log, log_size);
    rt_elf_close(&e);
    if (!err)
        return obj;
fail_noelf:
    if (err == -ENOMEM)
        rt_log(log, log_size, "out of memory");
    prefix_log(log, log_size, obj->name);
    rt_obj_free(obj);
    errno = -err;
    return NULL;
}

bpfmm_rt_obj_t *bpfmm_rt_obj_open_file(const char *path, const struct bpfmm_rt_open_opts *opts)
{
    char *log = OPT(opts, log_buf, NULL);
    size_t log_size = OPT(opts, log_size, 0);
    if (log && log_size)
        log[0] = '\0';
    if (!path) {
        rt_log(log, log_size, "no file name given");
        errno = EINVAL;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int err = errno;
        rt_log(log, log_size, "%s: cannot open: %s", path, strerror(err));
        if (fd >= 0)
            close(fd);
        errno = err;
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > RT_OBJ_MAX_FILE) {
        rt_log(log, log_size, "%s: %s", path,
               S_ISREG(st.st_mode) ? "larger than 256 MiB: not a policy object"
                                   : "not a regular file");
        close(fd);
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    struct bpfmm_rt_open_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = log_size};
    const char *name = OPT(opts, name, NULL);
    if (!name) {
        const char *slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
    }
    o.name = name;
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(buf, got, &o);
    int err = errno;
    free(buf);
    errno = err;
    return obj;
}

bpfmm_rt_obj_t *bpfmm_rt_obj_open_insns(const void *insns, size_t size,
                                        const struct bpfmm_rt_open_opts *opts)
{
    char *log = OPT(opts, log_buf, NULL);
    size_t log_size = OPT(opts, log_size, 0);
    const char *name = OPT(opts, name, NULL);
    if (log && log_size)
        log[0] = '\0';
    if (!insns || size == 0 || size % sizeof(struct bpf_insn) ||
        size / sizeof(struct bpf_insn) > RT_PROG_MAX_INSNS) {
        rt_log(log, log_size,
               "raw program of %zu bytes: must be a non-empty multiple of 8 bytes and at most "
               "%u instructions",
               size, RT_PROG_MAX_INSNS);
        errno = size / sizeof(struct bpf_insn) > RT_PROG_MAX_INSNS ? E2BIG : EINVAL;
        return NULL;
    }
    struct bpfmm_rt_obj *obj = rt_obj_alloc(name ? name : "main");
    struct bpfmm_rt_prog *p = calloc(1, sizeof(*p));
    if (!obj || !p)
        goto nomem;
    p->name = strdup("main");
    p->section = strdup("");
    p->insns = malloc(size);
    p->syms = calloc(1, sizeof(*p->syms));
    p->sym_names = calloc(1, sizeof(*p->sym_names));
    if (!p->name || !p->section || !p->insns || !p->syms || !p->sym_names)
        goto nomem;
    p->nr_syms = 1;
    p->sym_names[0] = strdup("main");
    if (!p->sym_names[0])
        goto nomem;
    memcpy(p->insns, insns, size);
    p->nr_insns = (uint32_t)(size / sizeof(struct bpf_insn));
    p->syms[0] = (struct rt_sym){.insn = 0, .name = p->sym_names[0]};
    if (rt_obj_add_prog(obj, p))
        goto nomem;
    return obj;
nomem:
    rt_prog_free(p);
    rt_obj_free(obj);
    rt_log(log, log_size, "out of memory");
    errno = ENOMEM;
    return NULL;
}

void bpfmm_rt_obj_close(bpfmm_rt_obj_t *obj)
{
    rt_obj_free(obj);
}
