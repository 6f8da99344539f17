/* Wrong ELF class, endianness, machine, type, magic and version, made by patching the bytes of
 * a good object: each is refused with a message naming what is wrong. */
#include "elf_common.h"

int main(void)
{
    size_t size;
    unsigned char *good = elf_read("maps", &size);
    unsigned char *b = malloc(size);
    CHECK(b);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;

#define RESET() memcpy(b, good, size)
    RESET();
    b[EI_CLASS] = ELFCLASS32;
    elf_expect_refused(b, size, "ELF class ELF32: BPF objects are ELF64");

    RESET();
    b[EI_DATA] = ELFDATA2MSB;
    elf_expect_refused(b, size, "big-endian");

    RESET();
    eh->e_machine = EM_X86_64;
    elf_expect_refused(b, size, "ELF machine 62 (x86-64): not a BPF object");

    RESET();
    eh->e_type = ET_EXEC;
    elf_expect_refused(b, size, "expected a relocatable object (ET_REL");

    RESET();
    eh->e_type = ET_DYN;
    elf_expect_refused(b, size, "shared object");

    RESET();
    b[1] = 'X';
    elf_expect_refused(b, size, "not an ELF object (bad magic)");

    RESET();
    eh->e_version = 7;
    elf_expect_refused(b, size, "ELF version 7");

    RESET();
    eh->e_shentsize = 32;
    elf_expect_refused(b, size, "no usable section header table");

    RESET();
    eh->e_shstrndx = 0;
    elf_expect_refused(b, size, "section name table index");

    /* EM_NONE is accepted (some toolchains leave it). */
    RESET();
    eh->e_machine = EM_NONE;
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(b, size, NULL);
    CHECK(obj);
    bpfmm_rt_obj_close(obj);

    /* Empty buffer. */
    elf_expect_refused(b, 0, "empty object");
    free(b);
    free(good);
    return 0;
}
