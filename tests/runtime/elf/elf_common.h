/*
 * Helpers for the loader/map tests: paths of the BPF objects built from progs/, reading an
 * object into memory (so tests can patch its bytes), and opening with a log buffer.
 * No test logic of its own.
 */
#ifndef BPFMM_ELF_COMMON_H
#define BPFMM_ELF_COMMON_H

#include "test.h"

#include <bpfmm/runtime.h>
#include <elf.h>

static inline const char *elf_obj_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bpf.o", ELF_OBJ_DIR, name);
    return path;
}

/* The object's bytes (malloc'd); fails the test if it cannot be read. */
static inline unsigned char *elf_read(const char *name, size_t *size)
{
    const char *path = elf_obj_path(name);
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    CHECK(n > 0);
    unsigned char *buf = malloc((size_t)n);
    CHECK(buf);
    CHECK_EQ(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static inline bpfmm_rt_obj_t *elf_open(const char *name, char *log, size_t log_size)
{
    struct bpfmm_rt_open_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = log_size};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_file(elf_obj_path(name), &o);
    return obj;
}

/* Opens and fails the test with the loader's message if that does not work. */
static inline bpfmm_rt_obj_t *elf_open_ok(const char *name)
{
    char log[1024] = "";
    bpfmm_rt_obj_t *obj = elf_open(name, log, sizeof(log));
    CHECK_MSG(obj, "opening %s failed: %s", name, log);
    return obj;
}

/* Opening buf must fail with a message containing want. */
static inline void elf_expect_refused(const void *buf, size_t size, const char *want)
{
    char log[1024] = "";
    struct bpfmm_rt_open_opts o = {
        .sz = sizeof(o), .name = "t.bpf.o", .log_buf = log, .log_size = sizeof(log)};
    errno = 0;
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(buf, size, &o);
    if (obj) {
        bpfmm_rt_obj_close(obj);
        TEST_FAIL("object accepted; expected a refusal containing \"%s\"", want);
    }
    CHECK_NE(errno, 0);
    CHECK_STR_CONTAINS(log, want);
    printf("refused as expected: %s\n", log);
}

/* The section header of the named section in an object buffer. */
static inline Elf64_Shdr *elf_section(unsigned char *buf, const char *name)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
    const char *strs = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (strcmp(strs + sh[i].sh_name, name) == 0)
            return &sh[i];
    return NULL;
}

/* Loads with a writable ctx of ctx_size bytes and a trace callback (may be NULL). */
static inline int elf_load(bpfmm_rt_obj_t *obj, uint32_t ctx_size,
                           void (*trace)(void *, const char *, const char *), void *host, char *log,
                           size_t log_size)
{
    struct bpfmm_rt_ctx_desc ctx = {.name = "test ctx", .size = ctx_size, .writable = true};
    struct bpfmm_rt_load_opts lo = {.sz = sizeof(lo),
                                    .ctx = ctx_size ? &ctx : NULL,
                                    .trace = trace,
                                    .host = host,
                                    .log_buf = log,
                                    .log_size = log_size};
    return bpfmm_rt_obj_load(obj, &lo);
}

#endif
