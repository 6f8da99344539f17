/*
 * Runs one test of the bpf_conformance corpus (assembled.tsv) through bpfmm-bpf-plugin exactly
 * as the public runner does: memory as one hex argument (only when there is memory), the
 * program as one line of space-separated hex bytes on stdin, r0 read back in hex from stdout.
 * Passes if the plugin exits 0 and r0 matches the expected result in all 64 bits (the public
 * runner compares the low 32), or, for tests that expect an error, if it fails with that text.
 *
 *     runtime_conformance_run TSV NAME PLUGIN
 *     runtime_conformance_run --missing DIR      (corpus absent: skip, saying where we looked)
 */
#include "test.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <sys/wait.h>

#define MAX_LINE (1 << 22)

static char *slurp(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            return NULL;
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
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

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--missing"))
        test_skip("conformance corpus not found: looked for %s/assembled.tsv", argv[2]);
    if (argc != 4)
        TEST_FAIL("usage: %s TSV NAME PLUGIN", argv[0]);
    const char *tsv = argv[1], *name = argv[2], *plugin = argv[3];

    FILE *f = fopen(tsv, "r");
    if (!f)
        test_skip("cannot open %s: %s", tsv, strerror(errno));
    char *line = malloc(MAX_LINE);
    CHECK(line);
    char *fields[5] = {0};
    bool found = false;
    while (fgets(line, MAX_LINE, f)) {
        if (line[0] == '#')
            continue;
        trim(line);
        char *p = line;
        for (int k = 0; k < 5; k++) {
            fields[k] = p;
            p = p ? strchr(p, '\t') : NULL;
            if (p)
                *p++ = '\0';
        }
        if (fields[0] && !strcmp(fields[0], name)) {
            found = true;
            break;
        }
    }
    fclose(f);
    CHECK_MSG(found, "test %s is not in %s", name, tsv);
    const char *prog = fields[1], *mem = fields[2] ? fields[2] : "";
    const char *result = fields[3] ? fields[3] : "", *error = fields[4] ? fields[4] : "";

    int in[2], out[2], err[2];
    CHECK(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        if (mem[0])
            execl(plugin, plugin, mem, (char *)NULL);
        else
            execl(plugin, plugin, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", plugin, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    /* The program is small (well under a pipe buffer) but write it fully anyway. */
    size_t len = strlen(prog), done = 0;
    while (done < len) {
        ssize_t w = write(in[1], prog + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        CHECK(w > 0);
        done += (size_t)w;
    }
    CHECK(write(in[1], "\n", 1) == 1);
    close(in[1]);
    char *stdout_text = slurp(out[0]), *stderr_text = slurp(err[0]);
    CHECK(stdout_text && stderr_text);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    trim(stdout_text);
    trim(stderr_text);

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (error[0] && strstr(stdout_text[0] ? stdout_text : stderr_text, error)) {
            printf("%s: failed as expected: %s\n", name, error);
            return 0;
        }
        TEST_FAIL("%s: plugin exited with status 0x%x: %s%s", name, status, stdout_text,
                  stderr_text);
    }
    CHECK_MSG(!error[0], "%s: expected error \"%s\" but the plugin printed %s", name, error,
              stdout_text);
    char *end;
    errno = 0;
    uint64_t got = strtoull(stdout_text, &end, 16);
    CHECK_MSG(!errno && end != stdout_text && !*end, "%s: plugin printed \"%s\", not hex", name,
              stdout_text);
    uint64_t want = strtoull(result, NULL, 16);
    CHECK_MSG(got == want, "%s: r0 = 0x%" PRIx64 ", expected 0x%" PRIx64, name, got, want);
    printf("%s: r0 = 0x%" PRIx64 "\n", name, got);
    free(line);
    free(stdout_text);
    free(stderr_text);
    return 0;
}
