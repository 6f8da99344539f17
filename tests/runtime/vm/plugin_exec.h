/*
 * Running bpfmm-bpf-plugin as the public conformance runner does: arguments, the program text
 * on stdin, stdout and stderr captured. Shared by the conformance driver and the plugin tests;
 * owns no assertions about what the plugin answers.
 */
#ifndef BPFMM_PLUGIN_EXEC_H
#define BPFMM_PLUGIN_EXEC_H

#include "test.h"

#include <errno.h>
#include <sys/wait.h>

/* Everything fd delivers until EOF, NUL-terminated (fails the test when out of memory). */
static inline char *plugin_read_all(int fd)
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

/* Runs `path args...` with `input` on stdin; returns the exit status (128 + signal when killed)
 * and the output in *out and *err (malloc'd). */
static inline int plugin_exec(const char *path, const char *const *args, const char *input,
                              char **out, char **err)
{
    int in[2], o[2], e[2];
    CHECK(pipe(in) == 0 && pipe(o) == 0 && pipe(e) == 0);
    fflush(NULL);
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
        fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(o[1]);
    close(e[1]);
    /* The plugin reads all of stdin before it writes, so writing first cannot deadlock. */
    size_t len = strlen(input), done = 0;
    while (done < len) {
        ssize_t w = write(in[1], input + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        CHECK(w > 0);
        done += (size_t)w;
    }
    close(in[1]);
    *out = plugin_read_all(o[0]);
    *err = plugin_read_all(e[0]);
    close(o[0]);
    close(e[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
