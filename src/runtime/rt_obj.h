/*
 * Internal representation of an opened BPF object (struct bpfmm_rt_obj), its programs and its
 * maps, shared by the loader files (rt_elf*, rt_btf*, rt_reloc*, rt_rodata*, rt_obj*, rt_api*).
 * The VM never sees these structs: it gets struct rt_prog_src (rt_vm.h) and struct rt_map
 * (rt_map.h). This header owns the layout and the small logging helper; parsing, relocation
 * and map implementations live in their own files.
 */
#ifndef BPFMM_RT_OBJ_H
#define BPFMM_RT_OBJ_H

#include "rt_map.h"
#include "rt_vm.h"

#include <bpfmm/alloc.h>
#include <bpfmm/runtime.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;

/* Public map handle: the VM-facing struct rt_map plus what the host API needs. */
struct bpfmm_rt_map {
    struct rt_map rt;
    struct bpfmm_rt_obj *obj;
    bool rodata;     /* a .rodata* section: host updates refused after load */
    int elf_shndx;   /* global data: its ELF section; BTF maps: -1 */
    uint32_t offset; /* BTF maps: offset of the map's symbol in .maps (definition order) */
};

struct bpfmm_rt_prog {
    struct bpfmm_rt_obj *obj;
    char *name;    /* function symbol name */
    char *section; /* ELF section name */
    struct bpf_insn *insns;
    uint32_t nr_insns;
    struct rt_sym *syms; /* function starts, sorted; names point into sym_names */
    uint32_t nr_syms;
    char **sym_names;
    struct rt_vm_prog *vm; /* NULL until load */
    _Atomic uint64_t runs, faults, insns_executed;
    _Atomic uint32_t last_fault_insn;
};

struct bpfmm_rt_obj {
    char *name;
    char *license; /* NULL when the object has no "license" section */
    struct btf *btf;
    bpfmm_alloc_t *alloc; /* backed arena for all map memory; NULL when no maps */
    struct bpfmm_rt_prog **progs;
    unsigned nr_progs;
    struct bpfmm_rt_map **maps;
    unsigned nr_maps;
    struct rt_map **rt_maps; /* &maps[i]->rt, what the VM gets */
    bool loaded;
    /* Private copies of the load options the VM may keep pointers to (rt_api.c). */
    struct bpfmm_rt_ctx_desc ctx_desc;
    struct bpfmm_rt_ctx_field *ctx_fields;
    struct bpfmm_rt_helper *helpers;
    unsigned nr_helpers;
};

void rt_obj_free_load_copies(struct bpfmm_rt_obj *obj);

/* Reads an options field only when the caller's struct (sz first) is large enough to have it. */
#define OPT(o, f, def)                                                                             \
    ((o) && (o)->sz >= offsetof(__typeof__(*(o)), f) + sizeof((o)->f) ? (o)->f : (def))

/* Appends a formatted message to a caller log buffer (never overflows, always terminated).
 * The first message wins: later calls do not overwrite a reason already recorded. */
__attribute__((format(printf, 3, 4))) void rt_log(char *buf, size_t size, const char *fmt, ...);
__attribute__((format(printf, 3, 0))) void rt_vlog(char *buf, size_t size, const char *fmt,
                                                   va_list ap);

/* Object lifetime helpers (rt_obj.c). */
struct bpfmm_rt_obj *rt_obj_alloc(const char *name);
void rt_obj_free(struct bpfmm_rt_obj *obj);
int rt_obj_add_map(struct bpfmm_rt_obj *obj, struct bpfmm_rt_map *m);
int rt_obj_add_prog(struct bpfmm_rt_obj *obj, struct bpfmm_rt_prog *p);
void rt_prog_free(struct bpfmm_rt_prog *p);

#endif
