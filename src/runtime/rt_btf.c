/*
 * Loading the object's BTF and decoding libbpf's BTF-defined maps:
 *
 *     struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64);
 *              __uint(max_entries, 16); } m SEC(".maps");
 *
 * __uint(name, v) is encoded as `int (*name)[v]` and __type(name, T) as `T *name`, so every
 * attribute lives in BTF only; the .maps bytes are zeros. libbpf's own parser needs a bpf_object
 * (and, in 1.1, a kernel for relocation), so this file decodes the same encoding itself, using
 * libbpf's BTF accessors. Owns nothing of map memory or relocation.
 */
#include "rt_btf.h"

#include "rt_obj.h"

#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

static const char *const map_type_names[] = {
    [BPF_MAP_TYPE_UNSPEC] = "BPF_MAP_TYPE_UNSPEC",
    [BPF_MAP_TYPE_HASH] = "BPF_MAP_TYPE_HASH",
    [BPF_MAP_TYPE_ARRAY] = "BPF_MAP_TYPE_ARRAY",
    [BPF_MAP_TYPE_PROG_ARRAY] = "BPF_MAP_TYPE_PROG_ARRAY",
    [BPF_MAP_TYPE_PERF_EVENT_ARRAY] = "BPF_MAP_TYPE_PERF_EVENT_ARRAY",
    [BPF_MAP_TYPE_PERCPU_HASH] = "BPF_MAP_TYPE_PERCPU_HASH",
    [BPF_MAP_TYPE_PERCPU_ARRAY] = "BPF_MAP_TYPE_PERCPU_ARRAY",
    [BPF_MAP_TYPE_STACK_TRACE] = "BPF_MAP_TYPE_STACK_TRACE",
    [BPF_MAP_TYPE_CGROUP_ARRAY] = "BPF_MAP_TYPE_CGROUP_ARRAY",
    [BPF_MAP_TYPE_LRU_HASH] = "BPF_MAP_TYPE_LRU_HASH",
    [BPF_MAP_TYPE_LRU_PERCPU_HASH] = "BPF_MAP_TYPE_LRU_PERCPU_HASH",
    [BPF_MAP_TYPE_LPM_TRIE] = "BPF_MAP_TYPE_LPM_TRIE",
    [BPF_MAP_TYPE_ARRAY_OF_MAPS] = "BPF_MAP_TYPE_ARRAY_OF_MAPS",
    [BPF_MAP_TYPE_HASH_OF_MAPS] = "BPF_MAP_TYPE_HASH_OF_MAPS",
    [BPF_MAP_TYPE_DEVMAP] = "BPF_MAP_TYPE_DEVMAP",
    [BPF_MAP_TYPE_SOCKMAP] = "BPF_MAP_TYPE_SOCKMAP",
    [BPF_MAP_TYPE_CPUMAP] = "BPF_MAP_TYPE_CPUMAP",
    [BPF_MAP_TYPE_XSKMAP] = "BPF_MAP_TYPE_XSKMAP",
    [BPF_MAP_TYPE_SOCKHASH] = "BPF_MAP_TYPE_SOCKHASH",
    [BPF_MAP_TYPE_CGROUP_STORAGE] = "BPF_MAP_TYPE_CGROUP_STORAGE",
    [BPF_MAP_TYPE_REUSEPORT_SOCKARRAY] = "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY",
    [BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE] = "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
    [BPF_MAP_TYPE_QUEUE] = "BPF_MAP_TYPE_QUEUE",
    [BPF_MAP_TYPE_STACK] = "BPF_MAP_TYPE_STACK",
    [BPF_MAP_TYPE_SK_STORAGE] = "BPF_MAP_TYPE_SK_STORAGE",
    [BPF_MAP_TYPE_DEVMAP_HASH] = "BPF_MAP_TYPE_DEVMAP_HASH",
    [BPF_MAP_TYPE_STRUCT_OPS] = "BPF_MAP_TYPE_STRUCT_OPS",
    [BPF_MAP_TYPE_RINGBUF] = "BPF_MAP_TYPE_RINGBUF",
    [BPF_MAP_TYPE_INODE_STORAGE] = "BPF_MAP_TYPE_INODE_STORAGE",
    [BPF_MAP_TYPE_TASK_STORAGE] = "BPF_MAP_TYPE_TASK_STORAGE",
    [BPF_MAP_TYPE_BLOOM_FILTER] = "BPF_MAP_TYPE_BLOOM_FILTER",
    [BPF_MAP_TYPE_USER_RINGBUF] = "BPF_MAP_TYPE_USER_RINGBUF",
};

const char *rt_btf_map_type_name(uint32_t type)
{
    if (type < sizeof(map_type_names) / sizeof(map_type_names[0]))
        return map_type_names[type];
    return NULL;
}

bool rt_btf_is_char(const struct btf *btf, uint32_t id)
{
    const struct btf_type *t = btf__type_by_id(btf, rt_btf_skip_mods(btf, id));
    if (!t || !btf_is_int(t) || t->size != 1)
        return false;
    const char *n = btf__name_by_offset(btf, t->name_off);
    return (btf_int_encoding(t) & BTF_INT_CHAR) ||
           (n && (strcmp(n, "char") == 0 || strcmp(n, "signed char") == 0 ||
                  strcmp(n, "unsigned char") == 0));
}

uint32_t rt_btf_skip_mods(const struct btf *btf, uint32_t id)
{
    for (int depth = 0; depth < 32; depth++) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        if (!t)
            return 0;
        switch (btf_kind(t)) {
        case BTF_KIND_TYPEDEF:
        case BTF_KIND_CONST:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG:
            id = t->type;
            break;
        default:
            return id;
        }
    }
    return 0;
}

uint32_t rt_btf_datasec(const struct btf *btf, const char *sec_name)
{
    if (!btf)
        return 0;
    int id = btf__find_by_name_kind(btf, sec_name, BTF_KIND_DATASEC);
    return id > 0 ? (uint32_t)id : 0;
}

/* clang leaves DATASEC sizes, and the offsets of global variables, at 0; the ELF symbol table
 * has them. libbpf patches its own copy the same way (btf_fixup_datasec) before load. */
static int fixup_datasecs(const struct rt_elf *e, struct btf *btf, char *log, size_t log_size)
{
    uint32_t n = btf__type_cnt(btf);
    for (uint32_t id = 1; id < n; id++) {
        struct btf_type *t = (struct btf_type *)btf__type_by_id(btf, id);
        if (!btf_is_datasec(t))
            continue;
        const char *sname = btf__name_by_offset(btf, t->name_off);
        const struct rt_elf_sec *sec = sname ? rt_elf_find_sec(e, sname) : NULL;
        if (!sec)
            continue; /* e.g. a DATASEC for an extern section: refused if referenced */
        if (sec->size > UINT32_MAX) {
            rt_log(log, log_size, "section '%s' is too large (%llu bytes)", sname,
                   (unsigned long long)sec->size);
            return -EINVAL;
        }
        t->size = (uint32_t)sec->size;
        struct btf_var_secinfo *vs = btf_var_secinfos(t);
        for (unsigned i = 0; i < btf_vlen(t); i++, vs++) {
            const struct btf_type *vt = btf__type_by_id(btf, vs->type);
            const char *vname = vt ? btf__name_by_offset(btf, vt->name_off) : NULL;
            if (!vt || !vname) {
                rt_log(log, log_size, "malformed BTF: DATASEC '%s' entry %u is not a variable",
                       sname, i);
                return -EINVAL;
            }
            const struct rt_elf_sym *sym = rt_elf_find_sym(e, sec->idx, vname);
            if (sym) {
                if (sym->value > UINT32_MAX) {
                    rt_log(log, log_size, "symbol '%s' in '%s' has offset %llu", vname, sname,
                           (unsigned long long)sym->value);
                    return -EINVAL;
                }
                vs->offset = (uint32_t)sym->value;
            }
            if (btf_is_var(vt)) {
                int64_t sz = btf__resolve_size(btf, vt->type);
                if (sz >= 0)
                    vs->size = (uint32_t)sz;
            }
            if ((uint64_t)vs->offset + vs->size > sec->size) {
                rt_log(log, log_size,
                       "malformed BTF: variable '%s' (offset %u, %u bytes) lies outside section "
                       "'%s' (%llu bytes)",
                       vname, vs->offset, vs->size, sname, (unsigned long long)sec->size);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int rt_btf_load(const struct rt_elf *e, struct btf **out, char *log, size_t log_size)
{
    *out = NULL;
    const struct rt_elf_sec *sec = rt_elf_find_sec(e, ".BTF");
    if (!sec || !sec->data) {
        rt_log(log, log_size,
               "no .BTF section: the object was built without -g; rebuild with clang -g "
               "(BTF describes the maps and globals)");
        return -EINVAL;
    }
    struct btf *btf = btf__new(sec->data, (uint32_t)sec->size);
    if (!btf) {
        int err = errno ? errno : EINVAL;
        rt_log(log, log_size, "malformed .BTF section (%llu bytes): libbpf refused it (%s)",
               (unsigned long long)sec->size, strerror(err));
        return -EINVAL;
    }
    int err = fixup_datasecs(e, btf, log, log_size);
    if (err) {
        btf__free(btf);
        return err;
    }
    *out = btf;
    return 0;
}

/* __uint(name, v): a pointer to an array of v elements. */
static int map_int_field(const struct btf *btf, const char *map, const struct btf_member *mb,
                         const char *fname, uint32_t *val, char *log, size_t log_size)
{
    const struct btf_type *t = btf__type_by_id(btf, rt_btf_skip_mods(btf, mb->type));
    const struct btf_type *arr = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
    if (!arr || !btf_is_array(arr)) {
        rt_log(log, log_size,
               "map '%s': field '%s' is not an integer attribute (declare it with __uint())", map,
               fname);
        return -EINVAL;
    }
    *val = btf_array(arr)->nelems;
    return 0;
}

/* __type(name, T): a pointer to T. */
static int map_type_field(const struct btf *btf, const char *map, const struct btf_member *mb,
                          const char *fname, uint32_t *type_id, uint32_t *size, char *log,
                          size_t log_size)
{
    const struct btf_type *t = btf__type_by_id(btf, rt_btf_skip_mods(btf, mb->type));
    if (!t || !btf_is_ptr(t)) {
        rt_log(log, log_size, "map '%s': field '%s' is not a type (declare it with __type())", map,
               fname);
        return -EINVAL;
    }
    int64_t sz = btf__resolve_size(btf, t->type);
    if (sz <= 0 || sz > UINT32_MAX) {
        rt_log(log, log_size, "map '%s': the %s type has no usable size", map, fname);
        return -EINVAL;
    }
    *type_id = t->type;
    *size = (uint32_t)sz;
    return 0;
}

static int parse_map_def(const struct btf *btf, const struct btf_type *var, struct rt_map_def *d,
                         char *log, size_t log_size)
{
    const char *name = d->name;
    const struct btf_type *st = btf__type_by_id(btf, rt_btf_skip_mods(btf, var->type));
    if (!st || !btf_is_struct(st)) {
        rt_log(log, log_size,
               "map '%s': malformed definition: not a struct (declare maps as struct { "
               "__uint(type, ...); ... } name SEC(\".maps\"))",
               name);
        return -EINVAL;
    }
    uint32_t key_size = 0, value_size = 0, ksz_type = 0, vsz_type = 0, unused;
    bool has_type = false;
    const struct btf_member *mb = btf_members(st);
    for (unsigned i = 0; i < btf_vlen(st); i++, mb++) {
        const char *f = btf__name_by_offset(btf, mb->name_off);
        int err = 0;
        if (!f || !*f) {
            rt_log(log, log_size, "map '%s': malformed definition: unnamed field %u", name, i);
            return -EINVAL;
        }
        if (strcmp(f, "type") == 0) {
            err = map_int_field(btf, name, mb, f, &d->type, log, log_size);
            has_type = true;
        } else if (strcmp(f, "max_entries") == 0) {
            err = map_int_field(btf, name, mb, f, &d->max_entries, log, log_size);
        } else if (strcmp(f, "map_flags") == 0) {
            err = map_int_field(btf, name, mb, f, &d->map_flags, log, log_size);
        } else if (strcmp(f, "key_size") == 0) {
            err = map_int_field(btf, name, mb, f, &key_size, log, log_size);
        } else if (strcmp(f, "value_size") == 0) {
            err = map_int_field(btf, name, mb, f, &value_size, log, log_size);
        } else if (strcmp(f, "numa_node") == 0) {
            err = map_int_field(btf, name, mb, f, &unused, log, log_size); /* no NUMA here */
        } else if (strcmp(f, "key") == 0) {
            err = map_type_field(btf, name, mb, f, &d->btf_key_type_id, &ksz_type, log, log_size);
        } else if (strcmp(f, "value") == 0) {
            err = map_type_field(btf, name, mb, f, &d->btf_value_type_id, &vsz_type, log, log_size);
        } else if (strcmp(f, "values") == 0) {
            rt_log(log, log_size, "map '%s': map-in-map ('values') is not supported", name);
            return -EOPNOTSUPP;
        } else if (strcmp(f, "pinning") == 0 || strcmp(f, "map_extra") == 0) {
            err = map_int_field(btf, name, mb, f, &unused, log, log_size);
            if (!err && unused) {
                rt_log(log, log_size, "map '%s': '%s' = %u is not supported (no bpffs here)", name,
                       f, unused);
                return -EOPNOTSUPP;
            }
        } else {
            rt_log(log, log_size, "map '%s': unknown field '%s' in the definition", name, f);
            return -EINVAL;
        }
        if (err)
            return err;
    }
    if (!has_type) {
        rt_log(log, log_size, "map '%s': malformed definition: no 'type' field", name);
        return -EINVAL;
    }
    if (d->btf_key_type_id && key_size && key_size != ksz_type) {
        rt_log(log, log_size, "map '%s': key_size %u disagrees with the key type (%u bytes)", name,
               key_size, ksz_type);
        return -EINVAL;
    }
    if (d->btf_value_type_id && value_size && value_size != vsz_type) {
        rt_log(log, log_size, "map '%s': value_size %u disagrees with the value type (%u bytes)",
               name, value_size, vsz_type);
        return -EINVAL;
    }
    d->key_size = d->btf_key_type_id ? ksz_type : key_size;
    d->value_size = d->btf_value_type_id ? vsz_type : value_size;

    if (d->type != BPF_MAP_TYPE_ARRAY && d->type != BPF_MAP_TYPE_HASH &&
        d->type != BPF_MAP_TYPE_LRU_HASH) {
        const char *tn = rt_btf_map_type_name(d->type);
        rt_log(log, log_size,
               "map '%s': map type %s (%u) is not supported; bpfmm supports "
               "BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_LRU_HASH",
               name, tn ? tn : "unknown", d->type);
        return -EOPNOTSUPP;
    }
    if (d->max_entries == 0 || d->key_size == 0 || d->value_size == 0) {
        rt_log(log, log_size,
               "map '%s': malformed definition: max_entries %u, key size %u, value size %u "
               "(all must be > 0)",
               name, d->max_entries, d->key_size, d->value_size);
        return -EINVAL;
    }
    return 0;
}

static int cmp_def(const void *a, const void *b)
{
    const struct rt_map_def *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int rt_btf_map_defs(const struct rt_elf *e, const struct btf *btf, struct rt_map_def **defs,
                    unsigned *nr, char *log, size_t log_size)
{
    *defs = NULL;
    *nr = 0;
    const struct rt_elf_sec *sec = rt_elf_find_sec(e, ".maps");
    uint32_t ds = rt_btf_datasec(btf, ".maps");
    if (!sec)
        return 0;
    /* Every symbol in .maps must be described by BTF, or its lddw could not be resolved. */
    unsigned nsyms = 0;
    for (size_t i = 1; i < e->nr_syms; i++)
        if (e->syms[i].shndx == sec->idx && e->syms[i].type == STT_OBJECT)
            nsyms++;
    if (nsyms == 0)
        return 0;
    if (!ds) {
        rt_log(log, log_size,
               "section '.maps' has no BTF description (legacy 'struct bpf_map_def' maps are not "
               "supported): declare maps with __uint()/__type() and build with clang -g");
        return -EINVAL;
    }
    const struct btf_type *t = btf__type_by_id(btf, ds);
    unsigned vlen = btf_vlen(t);
    struct rt_map_def *d = calloc(vlen ? vlen : 1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    const struct btf_var_secinfo *vs = btf_var_secinfos(t);
    int err = 0;
    for (unsigned i = 0; i < vlen; i++, vs++) {
        const struct btf_type *var = btf__type_by_id(btf, vs->type);
        const char *vname = var ? btf__name_by_offset(btf, var->name_off) : NULL;
        if (!var || !btf_is_var(var) || !vname) {
            rt_log(log, log_size, "malformed BTF: '.maps' entry %u is not a variable", i);
            err = -EINVAL;
            goto fail;
        }
        if (strlen(vname) >= sizeof(d[i].name)) {
            rt_log(log, log_size, "map '%s': name longer than %zu characters", vname,
                   sizeof(d[i].name) - 1);
            err = -ENAMETOOLONG;
            goto fail;
        }
        strcpy(d[i].name, vname);
        if (!rt_elf_find_sym(e, sec->idx, vname)) {
            rt_log(log, log_size, "map '%s': no symbol in '.maps' for its BTF definition", vname);
            err = -EINVAL;
            goto fail;
        }
        d[i].offset = vs->offset; /* fixed up from the symbol table */
        err = parse_map_def(btf, var, &d[i], log, log_size);
        if (err)
            goto fail;
    }
    if (vlen != nsyms) {
        rt_log(log, log_size, "section '.maps' has %u map symbols but BTF describes %u", nsyms,
               vlen);
        err = -EINVAL;
        goto fail;
    }
    qsort(d, vlen, sizeof(*d), cmp_def);
    *defs = d;
    *nr = vlen;
    return 0;
fail:
    free(d);
    return err;
}
