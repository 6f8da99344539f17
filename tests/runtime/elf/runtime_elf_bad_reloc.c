/* Relocation errors in program sections are refused with the section and reason: an unknown
 * relocation type, a data relocation type in code, a symbol index past the table, a relocation
 * against an undefined (extern) symbol, R_BPF_64_64 on an instruction that is not lddw.
 * Relocations in debug sections are ignored whatever their type. */
#include "elf_common.h"

static Elf64_Rel *first_rel(unsigned char *b, const char *sec, size_t *n)
{
    Elf64_Shdr *sh = elf_section(b, sec);
    CHECK_MSG(sh, "no section %s", sec);
    *n = sh->sh_size / sizeof(Elf64_Rel);
    return (Elf64_Rel *)(b + sh->sh_offset);
}

int main(void)
{
    size_t size, n;
    unsigned char *good = elf_read("maps", &size);
    unsigned char *b = malloc(size);
    CHECK(b);
    Elf64_Rel *r;

    memcpy(b, good, size);
    r = first_rel(b, ".relbpfmm/test", &n);
    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), 77);
    elf_expect_refused(b, size, "section 'bpfmm/test': unknown relocation type 77");

    memcpy(b, good, size);
    r = first_rel(b, ".relbpfmm/test", &n);
    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), 2);
    elf_expect_refused(b, size, "R_BPF_64_ABS64 (type 2) at offset");

    memcpy(b, good, size);
    r = first_rel(b, ".relbpfmm/test", &n);
    r->r_info = ELF64_R_INFO(100000, ELF64_R_TYPE(r->r_info));
    elf_expect_refused(b, size, "refers to unknown symbol #100000");

    memcpy(b, good, size);
    r = first_rel(b, ".relbpfmm/test", &n);
    r->r_offset += 8; /* the second half of the lddw */
    elf_expect_refused(b, size, "R_BPF_64_64 relocation on an instruction that is not lddw");

    /* Debug relocations of any type are ignored. */
    memcpy(b, good, size);
    r = first_rel(b, ".rel.debug_info", &n);
    CHECK_GT(n, 0);
    for (size_t i = 0; i < n; i++)
        r[i].r_info = ELF64_R_INFO(ELF64_R_SYM(r[i].r_info), 77);
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(b, size, NULL);
    CHECK(obj);
    bpfmm_rt_obj_close(obj);
    free(b);
    free(good);

    /* A real object referring to an extern nobody defines. */
    char log[512] = "";
    obj = elf_open("extern", log, sizeof(log));
    CHECK(obj == NULL);
    CHECK_STR_CONTAINS(log, "relocation against unknown symbol 'not_defined_anywhere'");
    printf("%s\n", log);
    return 0;
}
