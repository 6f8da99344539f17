/*
 * Writes the fuzzer's seed corpus: every object given on the command line (prefixed with the
 * ELF selector byte 0x00), every program of the conformance corpus's assembled.tsv (prefixed
 * with the raw selector 0x01, and again with the map-template selector 0x03), and a few
 * programs using the template's maps and global data (0x03). Usage: make_seeds OUT_DIR TSV|-
 * OBJ...
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int write_seed(const char *dir, const char *name, unsigned char sel, const void *buf,
                      size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(&sel, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len) {
        fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

#define I(CODE, DST, SRC, OFF, IMM)                                                                \
    ((struct bpf_insn){                                                                            \
        .code = (CODE), .dst_reg = (DST), .src_reg = (SRC), .off = (OFF), .imm = (IMM)})
#define LD_MAP(D, IDX)      I(BPF_LD | BPF_DW | BPF_IMM, D, 5, 0, IDX), I(0, 0, 0, 0, 0)
#define LD_VAL(D, IDX, OFF) I(BPF_LD | BPF_DW | BPF_IMM, D, 6, 0, IDX), I(0, 0, 0, 0, OFF)
#define FP_PTR(D, OFF)                                                                             \
    I(BPF_ALU64 | BPF_MOV | BPF_X, D, 10, 0, 0), I(BPF_ALU64 | BPF_ADD | BPF_K, D, 0, 0, OFF)
#define EXIT I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Programs for the map template (template.bpf.c): maps 0 arr, 1 tbl, 2 lru, 3 .data, 4 .rodata,
 * 5 .bss. */
static int template_seeds(const char *dir)
{
    const struct bpf_insn arr[] = {I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 1),
                                   LD_MAP(1, 0),
                                   FP_PTR(2, -4),
                                   I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
                                   I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0),
                                   I(BPF_LDX | BPF_MEM | BPF_DW, 0, 0, 8, 0),
                                   EXIT,
                                   I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
                                   EXIT};
    const struct bpf_insn tbl[] = {I(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 60, 0),
                                   I(BPF_STX | BPF_MEM | BPF_DW, 10, 3, -8, 0),
                                   I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 42),
                                   LD_MAP(1, 1),
                                   FP_PTR(2, -8),
                                   FP_PTR(3, -16),
                                   I(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
                                   I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
                                   LD_MAP(1, 1),
                                   FP_PTR(2, -8),
                                   I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
                                   I(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0),
                                   I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
                                   EXIT,
                                   I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 1),
                                   I(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 3, 0, BPF_ADD),
                                   I(BPF_LDX | BPF_MEM | BPF_DW, 0, 0, 0, 0),
                                   EXIT};
    const struct bpf_insn globals[] = {LD_VAL(1, 3, 0),
                                       I(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 0),
                                       LD_VAL(2, 5, 8),
                                       I(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0),
                                       I(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 24),
                                       I(BPF_ALU64 | BPF_ADD | BPF_X, 2, 3, 0, 0),
                                       I(BPF_STX | BPF_MEM | BPF_DW, 2, 0, 0, 0),
                                       LD_VAL(1, 4, 0),
                                       I(BPF_LDX | BPF_MEM | BPF_DW, 1, 1, 0, 0),
                                       I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 0),
                                       EXIT};
    const struct bpf_insn lru[] = {I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 3),
                                   I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -8, 9),
                                   LD_MAP(1, 2),
                                   FP_PTR(2, -4),
                                   FP_PTR(3, -8),
                                   I(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
                                   I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
                                   EXIT};
    return write_seed(dir, "template-arr", 3, arr, sizeof(arr)) ||
           write_seed(dir, "template-tbl", 3, tbl, sizeof(tbl)) ||
           write_seed(dir, "template-globals", 3, globals, sizeof(globals)) ||
           write_seed(dir, "template-lru", 3, lru, sizeof(lru));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: make_seeds OUT_DIR TSV|- OBJ...\n");
        return 2;
    }
    mkdir(argv[1], 0755);
    for (int i = 3; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "make_seeds: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        static unsigned char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        const char *base = strrchr(argv[i], '/');
        if (write_seed(argv[1], base ? base + 1 : argv[i], 0, buf, n))
            return 1;
    }
    if (strcmp(argv[2], "-")) {
        FILE *tsv = fopen(argv[2], "r");
        if (!tsv) {
            fprintf(stderr, "make_seeds: %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
        static char line[1 << 16];
        unsigned char prog[1 << 14];
        while (fgets(line, sizeof(line), tsv)) {
            if (line[0] == '#')
                continue;
            char *name = strtok(line, "\t"), *hex = strtok(NULL, "\t");
            if (!name || !hex)
                continue;
            size_t n = 0;
            for (char *t = strtok(hex, " "); t && n < sizeof(prog); t = strtok(NULL, " "))
                prog[n++] = (unsigned char)strtoul(t, NULL, 16);
            char seed[300];
            snprintf(seed, sizeof(seed), "conformance-%s", name);
            if (write_seed(argv[1], seed, 1, prog, n))
                return 1;
            snprintf(seed, sizeof(seed), "template-conformance-%s", name);
            if (write_seed(argv[1], seed, 3, prog, n))
                return 1;
        }
        fclose(tsv);
    }
    return template_seeds(argv[1]) ? 1 : 0;
}
