/*
 * ELF validation and indexing for the loader. Every offset and size in the headers is checked
 * against the buffer before libelf is asked for anything, so truncated or garbage input gives a
 * message instead of an out-of-bounds read. Owns nothing about BPF semantics beyond the
 * machine/class/type checks and the relocation type names.
 */
#include "rt_elf.h"

#include "rt_obj.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef EM_BPF
#define EM_BPF 247
#endif

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_ok;

static void elf_init(void)
{
    elf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

const char *rt_elf_reloc_name(unsigned type)
{
    switch (type) {
    case 0:
        return "R_BPF_NONE";
    case 1:
        return "R_BPF_64_64";
    case 2:
        return "R_BPF_64_ABS64";
    case 3:
        return "R_BPF_64_ABS32";
    case 4:
        return "R_BPF_64_NODYLD32";
    case 10:
        return "R_BPF_64_32";
    default:
        return NULL;
    }
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_386:
        return " (x86)";
    case EM_X86_64:
        return " (x86-64)";
    case EM_AARCH64:
        return " (aarch64)";
    case EM_ARM:
        return " (arm)";
    case EM_RISCV:
        return " (riscv)";
    case EM_PPC64:
        return " (ppc64)";
    case EM_S390:
        return " (s390)";
    default:
        return "";
    }
}

static bool range_ok(uint64_t off, uint64_t len, uint64_t total)
{
    return off <= total && len <= total - off;
}

/* The raw header checks that make the later libelf calls safe. */
static int check_headers(const uint8_t *b, size_t size, char *log, size_t log_size)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;

    if (size < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0) {
        rt_log(log, log_size,
               "not an ELF object (%s): a policy is a BPF object built with "
               "clang -O2 -g -target bpf -c",
               size < SELFMAG ? "too short" : "bad magic");
        return -EINVAL;
    }
    if (b[EI_CLASS] != ELFCLASS64) {
        rt_log(log, log_size, "ELF class %s: BPF objects are ELF64 (clang -target bpf)",
               b[EI_CLASS] == ELFCLASS32 ? "ELF32" : "invalid");
        return -EINVAL;
    }
    if (b[EI_DATA] != ELFDATA2LSB) {
        rt_log(log, log_size,
               "ELF data encoding %s: bpfmm runs little-endian BPF objects; build with "
               "-target bpf (or bpfel), not bpfeb",
               b[EI_DATA] == ELFDATA2MSB ? "big-endian" : "invalid");
        return -EINVAL;
    }
    if (size < sizeof(Elf64_Ehdr)) {
        rt_log(log, log_size, "truncated ELF: %zu bytes, smaller than the ELF64 header (%zu)", size,
               sizeof(Elf64_Ehdr));
        return -EINVAL;
    }
    if (b[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT) {
        rt_log(log, log_size, "ELF version %u: expected %u", (unsigned)eh->e_version, EV_CURRENT);
        return -EINVAL;
    }
    if (eh->e_type != ET_REL) {
        rt_log(log, log_size,
               "ELF type %u (%s): expected a relocatable object (ET_REL), as clang -c produces",
               eh->e_type,
               eh->e_type == ET_EXEC  ? "executable"
               : eh->e_type == ET_DYN ? "shared object"
                                      : "not relocatable");
        return -EINVAL;
    }
    if (eh->e_machine != EM_BPF && eh->e_machine != EM_NONE) {
        rt_log(log, log_size, "ELF machine %u%s: not a BPF object (expected EM_BPF, 247)",
               eh->e_machine, machine_name(eh->e_machine));
        return -EINVAL;
    }
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr)) {
        rt_log(log, log_size,
               "ELF has no usable section header table (e_shoff %llu, "
               "e_shentsize %u)",
               (unsigned long long)eh->e_shoff, eh->e_shentsize);
        return -EINVAL;
    }
    uint64_t shnum = eh->e_shnum;
    if (!range_ok(eh->e_shoff, sizeof(Elf64_Shdr), size)) {
        rt_log(log, log_size,
               "truncated ELF: section headers at offset %llu are past the end "
               "(%zu bytes)",
               (unsigned long long)eh->e_shoff, size);
        return -EINVAL;
    }
    if (eh->e_shoff % 8) {
        rt_log(log, log_size, "corrupt ELF: misaligned section header table (offset %llu)",
               (unsigned long long)eh->e_shoff);
        return -EINVAL;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(b + eh->e_shoff);
    if (shnum == 0)
        shnum = sh[0].sh_size; /* extended numbering */
    if (shnum == 0 || shnum > 65536 || !range_ok(eh->e_shoff, shnum * sizeof(Elf64_Shdr), size)) {
        rt_log(log, log_size,
               "truncated ELF: %llu section headers at offset %llu do not fit in "
               "%zu bytes",
               (unsigned long long)shnum, (unsigned long long)eh->e_shoff, size);
        return -EINVAL;
    }
    uint64_t shstrndx = eh->e_shstrndx == SHN_XINDEX ? sh[0].sh_link : eh->e_shstrndx;
    if (shstrndx == 0 || shstrndx >= shnum || sh[shstrndx].sh_type != SHT_STRTAB) {
        rt_log(log, log_size, "corrupt ELF: section name table index %llu is invalid",
               (unsigned long long)shstrndx);
        return -EINVAL;
    }
    for (uint64_t i = 1; i < shnum; i++) {
        if (sh[i].sh_type != SHT_NOBITS && !range_ok(sh[i].sh_offset, sh[i].sh_size, size)) {
            rt_log(log, log_size,
                   "truncated ELF: section %llu (offset %llu, %llu bytes) extends "
                   "past the end of the %zu-byte object",
                   (unsigned long long)i, (unsigned long long)sh[i].sh_offset,
                   (unsigned long long)sh[i].sh_size, size);
            return -EINVAL;
        }
        if (sh[i].sh_name >= sh[shstrndx].sh_size) {
            rt_log(log, log_size, "corrupt ELF: section %llu has a name outside the name table",
                   (unsigned long long)i);
            return -EINVAL;
        }
        if (sh[i].sh_link >= shnum) {
            rt_log(log, log_size, "corrupt ELF: section %llu links to section %u of %llu",
                   (unsigned long long)i, sh[i].sh_link, (unsigned long long)shnum);
            return -EINVAL;
        }
    }
    const char *strs = (const char *)b + sh[shstrndx].sh_offset;
    if (sh[shstrndx].sh_size == 0 || strs[sh[shstrndx].sh_size - 1] != '\0') {
        rt_log(log, log_size, "corrupt ELF: the section name table is not NUL-terminated");
        return -EINVAL;
    }
    return 0;
}

static int index_symbols(struct rt_elf *e, const struct rt_elf_sec *st, char *log, size_t log_size)
{
    if (st->entsize != sizeof(Elf64_Sym) || st->size % sizeof(Elf64_Sym)) {
        rt_log(log, log_size, "corrupt ELF: symbol table '%s' has entry size %llu", st->name,
               (unsigned long long)st->entsize);
        return -EINVAL;
    }
    const struct rt_elf_sec *strs = &e->secs[st->link];
    if (strs->type != SHT_STRTAB || !strs->data || strs->size == 0 ||
        strs->data[strs->size - 1] != '\0') {
        rt_log(log, log_size, "corrupt ELF: symbol table '%s' links to an invalid string table",
               st->name);
        return -EINVAL;
    }
    e->nr_syms = st->size / sizeof(Elf64_Sym);
    e->syms = calloc(e->nr_syms ? e->nr_syms : 1, sizeof(*e->syms));
    if (!e->syms)
        return -ENOMEM;
    const Elf64_Sym *raw = (const Elf64_Sym *)st->data;
    for (size_t i = 0; i < e->nr_syms; i++) {
        Elf64_Sym s;
        memcpy(&s, &raw[i], sizeof(s));
        if (s.st_name >= strs->size) {
            rt_log(log, log_size, "corrupt ELF: symbol %zu has a name outside the string table", i);
            return -EINVAL;
        }
        if (s.st_shndx >= e->nr_secs && s.st_shndx < SHN_LORESERVE) {
            rt_log(log, log_size, "corrupt ELF: symbol %zu refers to section %u of %zu", i,
                   s.st_shndx, e->nr_secs);
            return -EINVAL;
        }
        e->syms[i] = (struct rt_elf_sym){
            .name = (const char *)strs->data + s.st_name,
            .value = s.st_value,
            .size = s.st_size,
            .shndx = s.st_shndx,
            .type = ELF64_ST_TYPE(s.st_info),
            .bind = ELF64_ST_BIND(s.st_info),
        };
    }
    return 0;
}

int rt_elf_open(struct rt_elf *e, const void *buf, size_t size, char *log, size_t log_size)
{
    memset(e, 0, sizeof(*e));
    pthread_once(&elf_once, elf_init);
    if (!elf_ok) {
        rt_log(log, log_size, "libelf initialisation failed: %s", elf_errmsg(-1));
        return -EINVAL;
    }
    if (!buf || size == 0) {
        rt_log(log, log_size, "empty object: 0 bytes");
        return -EINVAL;
    }
    /* Validate the private copy, not the caller's bytes: malloc's alignment makes the header
     * structs safe to read whatever alignment the caller's buffer has. */
    e->buf = malloc(size);
    if (!e->buf)
        return -ENOMEM;
    memcpy(e->buf, buf, size);
    e->size = size;
    int err = check_headers((const void *)e->buf, size, log, log_size);
    if (err) {
        free(e->buf);
        e->buf = NULL;
        return err;
    }
    e->elf = elf_memory(e->buf, size);
    if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
        rt_log(log, log_size, "libelf cannot read the object: %s", elf_errmsg(-1));
        err = -EINVAL;
        goto fail;
    }
    size_t shnum, shstrndx;
    if (elf_getshdrnum(e->elf, &shnum) || elf_getshdrstrndx(e->elf, &shstrndx)) {
        rt_log(log, log_size, "libelf cannot read the section headers: %s", elf_errmsg(-1));
        err = -EINVAL;
        goto fail;
    }
    e->secs = calloc(shnum, sizeof(*e->secs));
    if (!e->secs) {
        err = -ENOMEM;
        goto fail;
    }
    e->nr_secs = shnum;
    int symtab = -1;
    for (size_t i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(e->elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh)) {
            rt_log(log, log_size, "libelf cannot read section %zu: %s", i, elf_errmsg(-1));
            err = -EINVAL;
            goto fail;
        }
        struct rt_elf_sec *s = &e->secs[i];
        s->name = elf_strptr(e->elf, shstrndx, sh.sh_name);
        if (!s->name) {
            rt_log(log, log_size, "corrupt ELF: section %zu has no readable name", i);
            err = -EINVAL;
            goto fail;
        }
        s->idx = i;
        s->type = sh.sh_type;
        s->flags = sh.sh_flags;
        s->size = sh.sh_size;
        s->link = sh.sh_link;
        s->info = sh.sh_info;
        s->entsize = sh.sh_entsize;
        if (sh.sh_type != SHT_NOBITS && sh.sh_size) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d || d->d_size != sh.sh_size || !d->d_buf) {
                rt_log(log, log_size, "cannot read the data of section '%s': %s", s->name,
                       d ? "size mismatch" : elf_errmsg(-1));
                err = -EINVAL;
                goto fail;
            }
            s->data = d->d_buf;
            /* Instructions are read as struct bpf_insn in place; clang aligns code to 8
             * bytes, so a misaligned code section is a damaged object, not one to read with
             * unaligned (undefined-behaviour) accesses. */
            if ((sh.sh_flags & SHF_EXECINSTR) && ((uintptr_t)s->data % 8 || sh.sh_size % 8)) {
                rt_log(log, log_size,
                       "corrupt ELF: code section '%s' is not a whole number of 8-byte "
                       "instructions at an 8-byte aligned offset (offset 0x%llx, size %llu)",
                       s->name, (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size);
                err = -EINVAL;
                goto fail;
            }
        }
        if (sh.sh_type == SHT_SYMTAB) {
            if (symtab >= 0) {
                rt_log(log, log_size, "corrupt ELF: more than one symbol table");
                err = -EINVAL;
                goto fail;
            }
            symtab = (int)i;
        }
    }
    e->secs[0].name = "";
    if (symtab < 0) {
        rt_log(log, log_size,
               "ELF object has no symbol table (.symtab): was it stripped? "
               "Programs and maps are found through their symbols");
        err = -EINVAL;
        goto fail;
    }
    err = index_symbols(e, &e->secs[symtab], log, log_size);
    if (err)
        goto fail;
    return 0;
fail:
    rt_elf_close(e);
    return err;
}

void rt_elf_close(struct rt_elf *e)
{
    if (e->elf)
        elf_end(e->elf);
    free(e->buf);
    free(e->secs);
    free(e->syms);
    memset(e, 0, sizeof(*e));
}

const struct rt_elf_sec *rt_elf_find_sec(const struct rt_elf *e, const char *name)
{
    for (size_t i = 1; i < e->nr_secs; i++)
        if (strcmp(e->secs[i].name, name) == 0)
            return &e->secs[i];
    return NULL;
}

const struct rt_elf_sym *rt_elf_find_sym(const struct rt_elf *e, unsigned shndx, const char *name)
{
    for (size_t i = 1; i < e->nr_syms; i++) {
        const struct rt_elf_sym *s = &e->syms[i];
        if (s->shndx == shndx && s->type != STT_SECTION && strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}
