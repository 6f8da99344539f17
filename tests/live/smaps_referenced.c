/*
 * live_smaps_referenced: smaps of a real child: Rss, Anonymous and AnonHugePages of its
 * region; after clear_refs the region's Referenced drops to 0, and after the child touches it
 * again Referenced covers the whole region (the child flushes its TLB entries first: clear_refs
 * does not, so in general Referenced undercounts); MADV_HUGEPAGE / MADV_NOHUGEPAGE show as
 * BPFMM_VMA_HUGEPAGE / NOHUGEPAGE (and the latter makes the VMA ineligible); a collapse shows
 * in AnonHugePages and in smaps_rollup; smaps merges into a PROCMAP_QUERY list.
 */
#include "live_test.h"

#include <sys/mman.h>
#include <sys/prctl.h>

#define MB (1ull << 20)

static char *aligned(size_t len)
{
    char *m = mmap(NULL, len + 4 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    char *a = (char *)(((uintptr_t)m + 4096 + 2 * MB - 1) & ~(2 * MB - 1));
    /* A hole on each side, so the region is a VMA of its own. */
    munmap(a - 4096, 4096);
    munmap(a + len, 4096);
    return a;
}

static const struct live_vma *smaps_of(struct live_proc *p, struct live_vma_list *l, uint64_t a)
{
    int err = live_smaps_read(p, l);
    CHECK_MSG(err == 0, "smaps: %s", live_proc_error(p));
    const struct live_vma *v = live_vma_find(l, a);
    CHECK(v);
    CHECK(v->have_smaps);
    return v;
}

int main(void)
{
    require_live("reads another process's smaps");
    int up[2], down[2];
    CHECK_EQ(pipe(up), 0);
    CHECK_EQ(pipe(down), 0);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(up[0]);
        close(down[1]);
        uint64_t a[3];
        char *r = aligned(16 * MB), *hg = aligned(4 * MB), *nh = aligned(4 * MB);
        madvise(hg, 4 * MB, MADV_HUGEPAGE);
        madvise(nh, 4 * MB, MADV_NOHUGEPAGE);
        for (size_t i = 0; i < 16 * MB; i += 4096)
            r[i] = 1;
        a[0] = (uintptr_t)r;
        a[1] = (uintptr_t)hg;
        a[2] = (uintptr_t)nh;
        if (write(up[1], a, sizeof(a)) != sizeof(a))
            _exit(2);
        char c;
        while (read(down[0], &c, 1) == 1) { /* 't': read every page once */
            /* clear_refs clears accessed bits without flushing TLBs, so a page whose TLB
             * entry survived is not marked again when touched (smaps Referenced is a lower
             * bound). Changing the protection flushes this range's entries, making the
             * count exact for the test. */
            mprotect(r, 16 * MB, PROT_READ);
            mprotect(r, 16 * MB, PROT_READ | PROT_WRITE);
            volatile char sink = 0;
            for (size_t i = 0; i < 16 * MB; i += 4096)
                sink += ((volatile char *)r)[i];
            (void)sink;
            if (write(up[1], &c, 1) != 1)
                _exit(3);
        }
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    uint64_t a[3];
    CHECK_EQ(read(up[0], a, sizeof(a)), sizeof(a));
    struct live_proc *p = open_target(pid);
    struct live_vma_list l = {0};

    const struct live_vma *v = smaps_of(p, &l, a[0]);
    CHECK_U64_EQ(v->start, a[0]);
    CHECK_EQ(v->sm.rss, 16 * MB);
    CHECK_EQ(v->sm.anonymous, 16 * MB);
    CHECK_EQ(v->sm.anon_huge, 0);
    CHECK_EQ(v->sm.swap, 0);
    CHECK_EQ(v->sm.referenced, 16 * MB); /* just written */
    CHECK(!(v->flags & (BPFMM_VMA_HUGEPAGE | BPFMM_VMA_NOHUGEPAGE)));
    CHECK_GE(v->sm.thp_eligible, 0);

    CHECK_EQ(live_clear_refs(p, LIVE_CLEAR_REFS_ANON), 0);
    v = smaps_of(p, &l, a[0]);
    CHECK_EQ(v->sm.referenced, 0);
    CHECK_EQ(v->sm.rss, 16 * MB);

    CHECK_EQ(write(down[1], "t", 1), 1);
    char c;
    CHECK_EQ(read(up[0], &c, 1), 1);
    v = smaps_of(p, &l, a[0]);
    CHECK_EQ(v->sm.referenced, 16 * MB);

    CHECK_EQ(live_clear_refs(p, LIVE_CLEAR_REFS_ALL), 0);
    v = smaps_of(p, &l, a[0]);
    CHECK_EQ(v->sm.referenced, 0);
    CHECK_EQ(live_clear_refs(p, (enum live_clear_refs)7), -EINVAL);

    v = smaps_of(p, &l, a[1]);
    CHECK(v->flags & BPFMM_VMA_HUGEPAGE);
    CHECK_EQ(live_vma_eligibility(v, 2 * MB), LIVE_ELIG_OK);
    v = smaps_of(p, &l, a[2]);
    CHECK(v->flags & BPFMM_VMA_NOHUGEPAGE);
    CHECK_EQ(live_vma_eligibility(v, 2 * MB), LIVE_ELIG_NOHUGEPAGE);

    /* A collapse shows in AnonHugePages and in the rollup. */
    struct live_smaps_stats before, after;
    CHECK_EQ(live_smaps_rollup(p, &before), 0);
    CHECK_GE(before.anonymous, 16 * MB);
    CHECK_EQ(collapse_remote(pid, a[0], 4 * MB), 0);
    v = smaps_of(p, &l, a[0]);
    CHECK_EQ(v->sm.anon_huge, 4 * MB);
    CHECK_EQ(live_smaps_rollup(p, &after), 0);
    CHECK_EQ(after.anon_huge, before.anon_huge + 4 * MB);

    /* Merge into a PROCMAP_QUERY list. */
    struct live_vma_list q = {0};
    CHECK_EQ(live_vma_read(p, true, &q), 0);
    CHECK_GE(live_smaps_merge(&q, &l), 3);
    const struct live_vma *m = live_vma_find(&q, a[2]);
    CHECK(m->have_smaps);
    CHECK(m->flags & BPFMM_VMA_NOHUGEPAGE);
    m = live_vma_find(&q, a[0]);
    CHECK_EQ(m->sm.anon_huge, 4 * MB);

    close(down[1]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    live_vma_list_free(&l);
    live_vma_list_free(&q);
    live_proc_close(p);
    return 0;
}
