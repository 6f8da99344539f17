/* Garbage: random bytes, and good objects with random bytes flipped (headers, section table,
 * symbol table, relocations, BTF). The loader must either refuse with a message or accept an
 * object that then closes cleanly; ASan/UBSan catch any bad access. Deterministic seed. */
#include "elf_common.h"

static uint64_t rng = 0x1234567887654321ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void try_open(const unsigned char *b, size_t n, unsigned *refused, unsigned *accepted)
{
    char log[512] = "";
    struct bpfmm_rt_open_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(b, n, &o);
    if (obj) {
        (*accepted)++;
        bpfmm_rt_obj_close(obj);
    } else {
        CHECK_MSG(log[0], "refused without a message");
        (*refused)++;
    }
}

int main(void)
{
    unsigned refused = 0, accepted = 0;
    unsigned char rnd[4096];
    for (int i = 0; i < 200; i++) {
        size_t n = next() % sizeof(rnd);
        for (size_t j = 0; j < n; j++)
            rnd[j] = (unsigned char)next();
        if (i % 2 && n >= 64)
            memcpy(rnd,
                   "\x7f"
                   "ELF\x02\x01\x01",
                   7); /* get past the magic */
        try_open(rnd, n, &refused, &accepted);
    }
    CHECK_EQ(accepted, 0);

    const char *objs[] = {"maps", "globals", "calls"};
    for (unsigned k = 0; k < 3; k++) {
        size_t size;
        unsigned char *good = elf_read(objs[k], &size);
        unsigned char *b = malloc(size);
        CHECK(b);
        for (int i = 0; i < 700; i++) {
            memcpy(b, good, size);
            int flips = 1 + (int)(next() % 4);
            for (int f = 0; f < flips; f++) {
                /* Mostly the header and the section table, where damage matters most. */
                size_t pos;
                Elf64_Ehdr *eh = (Elf64_Ehdr *)good;
                switch (next() % 3) {
                case 0:
                    pos = next() % sizeof(Elf64_Ehdr);
                    break;
                case 1:
                    pos = eh->e_shoff + next() % (eh->e_shnum * sizeof(Elf64_Shdr));
                    break;
                default:
                    pos = next() % size;
                    break;
                }
                b[pos] = (unsigned char)next();
            }
            try_open(b, size, &refused, &accepted);
        }
        free(b);
        free(good);
    }
    printf("%u refused, %u accepted (and closed)\n", refused, accepted);
    CHECK_GT(refused, 0);
    return 0;
}
