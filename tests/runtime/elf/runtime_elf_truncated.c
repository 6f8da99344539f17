/* Every prefix of a good object (stepping through headers, sections and tables) is refused
 * with a message, never a crash or an out-of-bounds read (run under ASan). */
#include "elf_common.h"

int main(void)
{
    size_t size;
    unsigned char *good = elf_read("globals", &size);
    unsigned refused = 0;
    for (size_t n = 0; n < size; n += (n < 128 ? 1 : 7)) {
        /* A private copy of exactly n bytes, so ASan sees any read past it. */
        unsigned char *b = malloc(n ? n : 1);
        CHECK(b);
        memcpy(b, good, n);
        char log[512] = "";
        struct bpfmm_rt_open_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = sizeof(log)};
        bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(b, n, &o);
        CHECK_MSG(!obj, "a %zu-byte prefix of a %zu-byte object was accepted", n, size);
        CHECK_MSG(log[0], "no message for a %zu-byte prefix", n);
        if (n == 40)
            CHECK_STR_CONTAINS(log, "truncated ELF");
        refused++;
        free(b);
    }
    printf("%u truncations refused\n", refused);
    free(good);
    return 0;
}
