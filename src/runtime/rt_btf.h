/*
 * BTF side of the loader: loads the object's .BTF with libbpf (no kernel needed), fixes the
 * DATASEC sizes and offsets clang leaves at 0 (from the ELF symbol table, as libbpf does at
 * load), and decodes libbpf-style map definitions from the ".maps" DATASEC. Knows nothing of
 * map implementations (rt_map_*.c) or relocation (rt_reloc*).
 */
#ifndef BPFMM_RT_BTF_H
#define BPFMM_RT_BTF_H

#include "rt_elf.h"

#include <stdbool.h>
#include <stdint.h>

struct btf;

struct rt_map_def {
    char name[64];
    uint32_t offset; /* of the map's symbol in .maps */
    uint32_t type, key_size, value_size, max_entries, map_flags;
    uint32_t btf_key_type_id, btf_value_type_id;
};

/* Loads and fixes up the object's BTF. -EINVAL with "built without -g" when there is none. */
int rt_btf_load(const struct rt_elf *e, struct btf **out, char *log, size_t log_size);

/* Decodes every map in ".maps" (sorted by offset). *defs is malloc'd (NULL when none). */
int rt_btf_map_defs(const struct rt_elf *e, const struct btf *btf, struct rt_map_def **defs,
                    unsigned *nr, char *log, size_t log_size);

/* Linux's name for a map type ("BPF_MAP_TYPE_RINGBUF"), or NULL. */
const char *rt_btf_map_type_name(uint32_t type);

/* The DATASEC for an ELF section name, or 0. */
uint32_t rt_btf_datasec(const struct btf *btf, const char *sec_name);

/* Skips typedefs and const/volatile/restrict/type_tag; returns the resolved id. */
uint32_t rt_btf_skip_mods(const struct btf *btf, uint32_t id);
/* True for a 1-byte integer of char type (char arrays are strings in text form). */
bool rt_btf_is_char(const struct btf *btf, uint32_t id);

#endif
