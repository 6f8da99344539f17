/*
 * Writes the fuzzer's seed corpus: every object given on the command line (prefixed with the
 * ELF selector byte 0x00) and every program of the conformance corpus's assembled.tsv
 * (prefixed with the raw selector 0x01). Usage: make_seeds OUT_DIR TSV|- OBJ...
 */
#include <errno.h>
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
        }
        fclose(tsv);
    }
    return 0;
}
