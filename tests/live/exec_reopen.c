/*
 * live_exec_reopen: the handle survives the target's exec. The pagemap and maps fds are bound
 * to the old address space and fail with ESRCH afterwards; the handle reopens them once,
 * counts the exec (image_gen 1, not once per fd), picks up the new comm, and a scan of the
 * new image sees the new program's memory.
 */
#include "live_test.h"

#include <sys/mman.h>
#include <sys/prctl.h>

int main(void)
{
    const struct live_features *f = require_live("scans a process across its exec");
    char exe[4096];
    snprintf(exe, sizeof(exe), "%s/tests/live/live_workload", test_build_dir());
    int up[2], down[2];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, "before-exec");
        char *m = mmap(NULL, 8u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < (8u << 20); i += 4096)
            m[i] = 1;
        uint64_t addr = (uintptr_t)m;
        if (write(up[1], &addr, sizeof(addr)) != sizeof(addr))
            _exit(2);
        char c;
        if (read(down[0], &c, 1) != 1)
            _exit(3);
        dup2(up[1], 1); /* the workload's ready line comes through the same pipe */
        execl(exe, exe, "--size", "16M", "--hold", (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    uint64_t old_addr;
    CHECK_EQ(read(up[0], &old_addr, sizeof(old_addr)), sizeof(old_addr));

    struct live_scanner *sc = live_scanner_new(&live_os_linux, f);
    struct live_proc *p = open_target(pid);
    CHECK(!strcmp(p->comm, "before-exec"));
    struct live_vma_list l = {0};
    struct live_scan_result res = {0};
    scan_target(sc, p, &l, NULL, &res);
    CHECK_EQ(p->image_gen, 0);
    CHECK_GE(p->pagemap_fd, 0);
    CHECK(live_vma_find(&l, old_addr));

    CHECK_EQ(write(down[1], "x", 1), 1);
    FILE *out = fdopen(up[0], "r");
    char line[512];
    CHECK(fgets(line, sizeof(line), out));
    CHECK_MSG(!strncmp(line, "ready ", 6), "%s", line);
    uint64_t addr = kv_u64(line, "addr");

    /* The old fds are stale now; the handle notices, reopens and counts one exec. */
    scan_target(sc, p, &l, NULL, &res);
    CHECK_EQ(p->image_gen, 1);
    CHECK_MSG(!strcmp(p->comm, "live_workload"), "comm after exec '%s'", p->comm);
    const struct live_range *r;
    size_t n = ranges_in(&res, addr, 16u << 20, &r);
    CHECK_EQ(n, 8);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(r[i].nr_present, 512);
    scan_target(sc, p, &l, NULL, &res);
    CHECK_EQ(p->image_gen, 1);

    kill(pid, SIGTERM);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fclose(out);
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    return 0;
}
