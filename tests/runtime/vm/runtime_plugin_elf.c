/* bpfmm-bpf-plugin beyond the corpus: --elf runs a clang-built object through the public loader
 * (maps and globals work; --program picks among several programs, and is required when there
 * are several), and both modes report rejections and faults on stderr with exit status 1.
 *     runtime_plugin_elf OBJECT PLUGIN */
#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/wait.h>

static char *read_all(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        CHECK(buf);
        if (n + 1 == cap)
            CHECK((buf = realloc(buf, cap *= 2)));
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return buf;
}

/* Runs the plugin with argv and stdin text; returns the exit status, output in *out / *err. */
static int plugin(const char *path, const char *const *args, const char *input, char **out,
                  char **err)
{
    int in[2], o[2], e[2];
    CHECK(pipe(in) == 0 && pipe(o) == 0 && pipe(e) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(in[1]);
        close(o[0]);
        close(e[0]);
        const char *argv[8] = {path};
        for (int k = 0; args[k] && k < 6; k++)
            argv[k + 1] = args[k];
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    close(e[1]);
    /* write stdin from a child-free loop; the plugin reads all of it before writing */
    size_t len = strlen(input), done = 0;
    while (done < len) {
        ssize_t w = write(in[1], input + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        CHECK(w > 0);
        done += (size_t)w;
    }
    close(in[1]);
    *out = read_all(o[0]);
    *err = read_all(e[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

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
    CHECK_EQ(plugin(plug, a1, obj, &out, &err), 0);
    CHECK_MSG(!strcmp(out, "0x17\n"), "sum printed \"%s\" (stderr: %s)", out, err);
    free(out), free(err);
    const char *a2[] = {"01 02 03 04", "--program", "first", "--elf", NULL};
    CHECK_EQ(plugin(plug, a2, obj, &out, &err), 0);
    CHECK_MSG(!strcmp(out, "0x4030201\n"), "first printed \"%s\" (stderr: %s)", out, err);
    free(out), free(err);
    /* several programs and no --program: a clear refusal */
    const char *a3[] = {"00", "--elf", NULL};
    CHECK_EQ(plugin(plug, a3, obj, &out, &err), 1);
    CHECK_STR_CONTAINS(err, "the object has 2 programs; name one with --program NAME");
    free(out), free(err);
    /* first reads 4 bytes: with 2 bytes of memory it faults at run time */
    const char *a4[] = {"01 02", "--elf", "--program", "first", NULL};
    CHECK_EQ(plugin(plug, a4, obj, &out, &err), 1);
    CHECK_STR_CONTAINS(err, "fault at insn 0: out-of-bounds read of 4 bytes at ctx+0 (the ctx is 2 "
                            "bytes)");
    free(out), free(err);
    /* not an ELF object */
    const char *a5[] = {"--elf", NULL};
    CHECK_EQ(plugin(plug, a5, "b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err), 1);
    CHECK_STR_CONTAINS(err, "cannot open the ELF object");
    free(out), free(err);

    /* raw mode: success, rejection (with the verifier's message) and bad hex */
    const char *none[] = {NULL};
    CHECK_EQ(plugin(plug, none, "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err),
             0);
    CHECK(!strcmp(out, "0x2a\n"));
    free(out), free(err);
    CHECK_EQ(plugin(plug, none, "bf 30 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n", &out, &err),
             1);
    CHECK_STR_CONTAINS(err, "rejected: insn 0: r3 is read before it is initialised");
    free(out), free(err);
    CHECK_EQ(plugin(plug, none, "zz\n", &out, &err), 1);
    CHECK_STR_CONTAINS(err, "not hex bytes");
    free(out), free(err);
    free(obj);
    printf("plugin: ok\n");
    return 0;
}
