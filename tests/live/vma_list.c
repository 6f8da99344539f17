/*
 * live_vma_list: the VMA list of a real child process matches its mappings, read both with
 * PROCMAP_QUERY and from /proc/PID/maps (identical lists): an anonymous region (named
 * [anon:NAME] when the kernel has CONFIG_ANON_VMA_NAME), a private file mapping (base name,
 * offset, inode), shared anonymous memory and a memfd (shmem, 2 MiB-aligned so eligible), the
 * heap and the stack. The layout hash changes when the child unmaps a region.
 */
#include "live_test.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define MB (1ull << 20)

struct child_maps {
    uint64_t anon, file, shanon, memfd, heap;
    ino_t file_ino;
    bool named;
};

static char *map_aligned(size_t len, int prot, int flags, int fd)
{
    char *m = mmap(NULL, len + 2 * MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    char *a = (char *)(((uintptr_t)m + 2 * MB - 1) & ~(2 * MB - 1));
    char *r = mmap(a, len, prot, flags | MAP_FIXED, fd, 0);
    CHECK(r == a);
    return a;
}

static void child(int out, int in, const char *file)
{
    struct child_maps c = {0};
    char *anon = map_aligned(4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    memset(anon, 1, 4 * MB);
    c.named = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, anon, 4 * MB, "test area") == 0;
    int fd = open(file, O_RDONLY);
    CHECK_GE(fd, 0);
    struct stat st;
    fstat(fd, &st);
    c.file_ino = st.st_ino;
    char *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    CHECK(f != MAP_FAILED);
    char *sh = map_aligned(2 * MB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
    sh[0] = 1;
    int mfd = memfd_create("bpfmm-test", 0);
    CHECK_GE(mfd, 0);
    CHECK_EQ(ftruncate(mfd, 4 * MB), 0);
    char *mf = map_aligned(4 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd);
    mf[0] = 1;
    /* Grow the brk heap ourselves: malloc may not use it (ASan's does not). */
    char *heap = sbrk(64 * 1024);
    CHECK(heap != (void *)-1);
    heap[0] = 1;
    c.anon = (uintptr_t)anon;
    c.file = (uintptr_t)f;
    c.shanon = (uintptr_t)sh;
    c.memfd = (uintptr_t)mf;
    c.heap = (uintptr_t)heap;
    CHECK_EQ(write(out, &c, sizeof(c)), sizeof(c));
    char cmd;
    CHECK_EQ(read(in, &cmd, 1), 1); /* 'u': unmap the file mapping */
    munmap(f, 4096);
    CHECK_EQ(write(out, &cmd, 1), 1);
    if (read(in, &cmd, 1) < 0) /* EOF: exit */
        _exit(1);
    _exit(0);
}

static void same_lists(const struct live_vma_list *a, const struct live_vma_list *b)
{
    CHECK_EQ(a->nr, b->nr);
    for (size_t i = 0; i < a->nr; i++) {
        const struct live_vma *x = &a->v[i], *y = &b->v[i];
        CHECK_MSG(x->start == y->start && x->end == y->end && x->flags == y->flags &&
                      x->offset == y->offset && x->inode == y->inode &&
                      x->dev_major == y->dev_major && x->dev_minor == y->dev_minor &&
                      !strcmp(x->name, y->name) && x->special == y->special,
                  "VMA %zu differs: query %llx-%llx %llx '%s', maps %llx-%llx %llx '%s'", i,
                  (unsigned long long)x->start, (unsigned long long)x->end,
                  (unsigned long long)x->flags, x->name, (unsigned long long)y->start,
                  (unsigned long long)y->end, (unsigned long long)y->flags, y->name);
    }
    CHECK_U64_EQ(a->layout_hash, b->layout_hash);
}

int main(void)
{
    const struct live_features *f = require_live("reads another process's VMAs");
    char file[] = "/tmp/bpfmm-vma-XXXXXX";
    int fd = mkstemp(file);
    CHECK_GE(fd, 0);
    char page[8192] = {0};
    CHECK_EQ(write(fd, page, sizeof(page)), sizeof(page));
    close(fd);

    int up[2], down[2];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        child(up[1], down[0], file);
    }
    close(up[1]);
    close(down[0]);
    struct child_maps c;
    CHECK_EQ(read(up[0], &c, sizeof(c)), sizeof(c));

    struct live_proc *p = open_target(pid);
    struct live_vma_list q = {0}, m = {0};
    CHECK_EQ(live_vma_read(p, true, &q), 0);
    CHECK_EQ(q.from_query, f->procmap_query);
    CHECK_EQ(live_vma_read(p, false, &m), 0);
    CHECK(!m.from_query);
    same_lists(&q, &m);

    const uint64_t pmd = 2 * MB;
    const struct live_vma *v = live_vma_find(&q, c.anon);
    CHECK(v);
    CHECK_U64_EQ(v->start, c.anon);
    CHECK_U64_EQ(v->end, c.anon + 4 * MB);
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK);
    if (c.named)
        CHECK_MSG(!strcmp(v->name, "[anon:test area]"), "name '%s'", v->name);
    else
        printf("note: CONFIG_ANON_VMA_NAME is off here; [anon:name] not checked\n");

    v = live_vma_find(&q, c.file);
    CHECK(v);
    CHECK_MSG(!strcmp(v->name, file + 5), "file name '%s', expected '%s'", v->name, file + 5);
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_FILE);
    CHECK_U64_EQ(v->offset, 4096);
    CHECK_EQ(v->inode, c.file_ino);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_FILE);

    v = live_vma_find(&q, c.shanon);
    CHECK(v);
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_SHARED | BPFMM_VMA_SHMEM);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK);

    v = live_vma_find(&q, c.memfd);
    CHECK(v);
    CHECK_MSG(!strcmp(v->name, "memfd:bpfmm-test"), "memfd name '%s'", v->name);
    CHECK(v->flags & BPFMM_VMA_SHMEM);
    CHECK(v->flags & BPFMM_VMA_SHARED);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK);

    v = live_vma_find(&q, c.heap);
    CHECK(v);
    CHECK(!strcmp(v->name, "[heap]"));
    CHECK_U64_EQ(v->flags & (BPFMM_VMA_ANON | BPFMM_VMA_HEAP), BPFMM_VMA_ANON | BPFMM_VMA_HEAP);

    bool stack = false, vdso = false;
    for (size_t i = 0; i < q.nr; i++) {
        if (!strcmp(q.v[i].name, "[stack]")) {
            stack = true;
            CHECK(q.v[i].flags & BPFMM_VMA_STACK);
            CHECK(q.v[i].flags & BPFMM_VMA_ANON);
        }
        if (!strcmp(q.v[i].name, "[vdso]")) {
            vdso = true;
            CHECK(q.v[i].special);
        }
        CHECK(strcmp(q.v[i].name, "[vsyscall]"));
        CHECK(i == 0 || q.v[i].start >= q.v[i - 1].end);
    }
    CHECK(stack);
    CHECK(vdso);

    /* The layout hash changes when the child unmaps something. */
    uint64_t h = q.layout_hash;
    CHECK_EQ(live_vma_read(p, true, &q), 0);
    CHECK_U64_EQ(q.layout_hash, h);
    char cmd = 'u';
    CHECK_EQ(write(down[1], &cmd, 1), 1);
    CHECK_EQ(read(up[0], &cmd, 1), 1);
    CHECK_EQ(live_vma_read(p, true, &q), 0);
    CHECK(q.layout_hash != h);
    CHECK(live_vma_find(&q, c.file) == NULL);

    close(down[1]);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unlink(file);
    live_vma_list_free(&q);
    live_vma_list_free(&m);
    live_proc_close(p);
    return 0;
}
