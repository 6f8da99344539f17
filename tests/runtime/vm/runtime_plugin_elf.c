/* bpfmm-bpf-plugin beyond the corpus: --elf runs a clang-built object through the public loader
 * (maps and globals work; --program picks among several programs, and is required when there
 * are several), and both modes report rejections and faults on stderr with exit status 1.
 *     runtime_plugin_elf OBJECT PLUGIN */
#include "plugin_exec.h"

#include <stdbool.h>

static char *hex_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f, "cannot open %s: %s", path, strerror(errno));
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    rewind(f);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    char *hex = malloc((size_t)size * 3 + 2);
    CHECK(hex);
    for (long k = 0; k < size; k++)
        sprintf(hex + 3 * k, "%02x ", bytes[k]);
    hex[3 * size] = '\n';
    hex[3 * size + 1] = '\0';
    free(bytes);
    return hex;
}

int main(int argc, char **argv)
{
    CHECK_MSG(argc == 3, "usage: %s OBJECT PLUGIN", argv[0]);
    const char *plug = argv[2];
    char *obj = hex_file(argv[1]), *out, *err;

    /* mem[0] = 5: 5 * scale(3) + bias(7) + hits(1 after the increment) = 23 */
    const char *a1[] = {"05 00 00 00", "--elf", "--program", "sum", NULL};
    CHECK_EQ(plugin_exec(plug, a1, obj, &out, &err), 0);
    CHECK_MSG(!strcmp(out, "0x17\n"), "sum printed \"%s\" (stderr: %s)", out, err);
    free(out), free(err);
    const char *a2[] = {"01 02 03 04", "--program", "first", "--elf", NULL};
    CHECK_EQ(plugin_exec(plug, a2, obj, &out, &err), 0);
    CHECK_MSG(!strcmp(out, "0x4030201\n"), "first printed \"%s\" (stderr: %s)", out, err);
    free(out), free(err);
    /* several programs and no --program: a clear refusal */
    const char *a3[] = {"00", "--elf", NULL};
    CHECK_EQ(plugin_exec(plug, a3, obj, &out, &err), 1);
    CHECK_STR_CONTAINS(err, "the object has 2 programs; name one with --program NAME");
    free(out), free(err);
    /* first reads 4 bytes: with 2 bytes of memory it faults at run time */
    const char *a4[] = {"01 02", "--elf", "--program", "first", NULL};
    CHECK_EQ(plugin_exec(plug, a4, obj, &out, &err), 1);
    CHECK_STR_CONTAINS(err, "fault at insn 0: out-of-bounds read of 4 bytes at ctx+0 (the ctx is 2 "
                            "bytes)");
    free(out), free(err);
    /* not an ELF object */
    const char *a5[] = {"--elf", NULL};
    CHECK_EQ(plugin_exec(plug, a5, "b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err),
             1);
    CHECK_STR_CONTAINS(err, "cannot open the ELF object");
    free(out), free(err);

    /* raw mode: success, rejection (with the verifier's message) and bad hex */
    const char *none[] = {NULL};
    CHECK_EQ(
        plugin_exec(plug, none, "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err),
        0);
    CHECK(!strcmp(out, "0x2a\n"));
    free(out), free(err);
    CHECK_EQ(
        plugin_exec(plug, none, "bf 30 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err),
        1);
    CHECK_STR_CONTAINS(err, "rejected: insn 0: r3 is read before it is initialised");
    free(out), free(err);
    CHECK_EQ(plugin_exec(plug, none, "zz\n", &out, &err), 1);
    CHECK_STR_CONTAINS(err, "not hex bytes");
    free(out), free(err);
    free(obj);
    printf("plugin: ok\n");
    return 0;
}
