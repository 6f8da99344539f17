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
#include "plugin_exec.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>

#define MAX_LINE (1 << 22)

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

    /* The memory is one hex argument, only when there is memory; the program one line. */
    const char *args[] = {mem[0] ? mem : NULL, NULL};
    char *input = malloc(strlen(prog) + 2);
    CHECK(input);
    sprintf(input, "%s\n", prog);
    char *stdout_text, *stderr_text;
    int status = plugin_exec(plugin, args, input, &stdout_text, &stderr_text);
    free(input);
    trim(stdout_text);
    trim(stderr_text);

    if (status != 0) {
        if (error[0] && strstr(stdout_text[0] ? stdout_text : stderr_text, error)) {
            printf("%s: failed as expected: %s\n", name, error);
            return 0;
        }
        TEST_FAIL("%s: plugin exited with status %d: %s%s", name, status, stdout_text, stderr_text);
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
