/*
 * ELF reading for the loader: validates that a buffer is an ELF64 little-endian relocatable BPF
 * object (bounds of every header, section and symbol checked before use) and exposes its
 * sections and symbols through libelf. Knows nothing of BTF, maps or programs (rt_btf*,
 * rt_reloc*). Section data pointers stay valid until rt_elf_close().
 */
#ifndef BPFMM_RT_ELF_H
#define BPFMM_RT_ELF_H

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_elf_sec {
    const char *name;
    uint32_t idx;
    uint32_t type; /* SHT_* */
    uint64_t flags;
    const uint8_t *data; /* NULL for SHT_NOBITS and empty sections */
    uint64_t size;
    uint32_t link, info;
    uint64_t entsize;
};

struct rt_elf_sym {
    const char *name; /* "" when unnamed */
    uint64_t value, size;
    uint16_t shndx;
    uint8_t type, bind; /* STT_*, STB_* */
};

struct rt_elf {
    Elf *elf;
    char *buf; /* private copy of the object bytes (libelf reads from it) */
    size_t size;
    struct rt_elf_sec *secs;
    size_t nr_secs;
    struct rt_elf_sym *syms;
    size_t nr_syms;
};

/* Validates and indexes the object. On failure returns -EINVAL (bad object) or -ENOMEM with
 * the reason in log, and leaves nothing to close. */
int rt_elf_open(struct rt_elf *e, const void *buf, size_t size, char *log, size_t log_size);
void rt_elf_close(struct rt_elf *e);

const struct rt_elf_sec *rt_elf_find_sec(const struct rt_elf *e, const char *name);
/* A named symbol defined in section shndx (any binding), or NULL. */
const struct rt_elf_sym *rt_elf_find_sym(const struct rt_elf *e, unsigned shndx, const char *name);
/* "R_BPF_64_64" etc., or NULL for a number BPF does not define. */
const char *rt_elf_reloc_name(unsigned type);

#endif
