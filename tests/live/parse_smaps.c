/*
 * live_parse_smaps: the smaps parser takes Rss, Anonymous, AnonHugePages, Swap,
 * Shared_Clean + Shared_Dirty, Referenced, THPeligible and VmFlags (hg -> HUGEPAGE,
 * nh -> NOHUGEPAGE, ht/io/pf/um...) per VMA, ignores fields and lines it does not know (so a
 * newer kernel does not break it), refuses malformed headers, and merges into a maps list.
 */
#include "live_test.h"

static const char smaps[] = "7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n"
                            "Size:               4096 kB\n"
                            "KernelPageSize:        4 kB\n"
                            "Rss:                3000 kB\n"
                            "Pss:                2500 kB\n"
                            "Pss_Dirty:          2500 kB\n"
                            "Shared_Clean:        100 kB\n"
                            "Shared_Dirty:         20 kB\n"
                            "Private_Clean:        80 kB\n"
                            "Private_Dirty:      2800 kB\n"
                            "Referenced:         1024 kB\n"
                            "Anonymous:          2900 kB\n"
                            "KSM:                   0 kB\n"
                            "LazyFree:              0 kB\n"
                            "AnonHugePages:      2048 kB\n"
                            "ShmemPmdMapped:        0 kB\n"
                            "FilePmdMapped:         0 kB\n"
                            "Shared_Hugetlb:        0 kB\n"
                            "Private_Hugetlb:       0 kB\n"
                            "Swap:                 64 kB\n"
                            "SwapPss:              64 kB\n"
                            "Locked:                0 kB\n"
                            "THPeligible:           1\n"
                            "FutureField:       12345 kB\n"
                            "Some new line without a colon\n"
                            "ProtectionKey:         0\n"
                            "VmFlags: rd wr mr mw me ac sd hg \n"
                            "7f0000400000-7f0000600000 rw-p 00000000 00:00 0          [anon:x]\n"
                            "Rss:                   8 kB\n"
                            "Referenced:            4 kB\n"
                            "THPeligible:           0\n"
                            "VmFlags: rd wr mr mw me nh um\n"
                            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n"
                            "Rss:                   0 kB\n"
                            "VmFlags: ex\n"
                            "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0          [stack]\n"
                            "Rss:                  12 kB\n"
                            "VmFlags: rd wr mr mw me gd ac ht io";

int main(void)
{
    struct live_vma_list l = {0};
    CHECK_EQ(live_smaps_parse(smaps, &l), 0);
    CHECK_EQ(l.nr, 3);

    const struct live_vma *v = &l.v[0];
    CHECK(v->have_smaps);
    CHECK_EQ(v->sm.rss, 3000 << 10);
    CHECK_EQ(v->sm.pss, 2500 << 10);
    CHECK_EQ(v->sm.anonymous, 2900 << 10);
    CHECK_EQ(v->sm.anon_huge, 2048 << 10);
    CHECK_EQ(v->sm.swap, 64 << 10);
    CHECK_EQ(v->sm.shared, 120 << 10);
    CHECK_EQ(v->sm.private_, 2880 << 10);
    CHECK_EQ(v->sm.referenced, 1024 << 10);
    CHECK_EQ(v->sm.thp_eligible, 1);
    CHECK(v->flags & BPFMM_VMA_HUGEPAGE);
    CHECK(!(v->flags & BPFMM_VMA_NOHUGEPAGE));
    CHECK(v->flags & BPFMM_VMA_ANON);
    CHECK_EQ(v->sm.vm, 0);

    v = &l.v[1];
    CHECK(!strcmp(v->name, "[anon:x]"));
    CHECK_EQ(v->sm.referenced, 4 << 10);
    CHECK_EQ(v->sm.thp_eligible, 0);
    CHECK(v->flags & BPFMM_VMA_NOHUGEPAGE);
    CHECK(!(v->flags & BPFMM_VMA_HUGEPAGE));
    CHECK(v->sm.vm & LIVE_VM_UFFD);
    CHECK_EQ(live_vma_eligibility(v, 2u << 20), LIVE_ELIG_NOHUGEPAGE);

    v = &l.v[2]; /* [vsyscall] skipped; its fields did not land on [stack] */
    CHECK(!strcmp(v->name, "[stack]"));
    CHECK_EQ(v->sm.rss, 12 << 10);
    CHECK_EQ(v->sm.thp_eligible, -1);
    CHECK(v->sm.vm & LIVE_VM_HUGETLB);
    CHECK(v->sm.vm & LIVE_VM_IO);
    CHECK_EQ(live_vma_eligibility(v, 2u << 20), LIVE_ELIG_SPECIAL);

    /* Single fields. */
    struct live_smaps_stats st = {0};
    CHECK(live_smaps_field("Rss: 4 kB", 9, &st));
    CHECK_EQ(st.rss, 4096);
    CHECK(!live_smaps_field("Unknown: 4 kB", 13, &st));
    CHECK(!live_smaps_field("Rss: lots", 9, &st));
    CHECK(!live_smaps_field("Rss 4 kB", 8, &st));

    /* Merge into a maps-derived list: same start and end only. */
    struct live_vma_list m = {0};
    CHECK_EQ(live_vma_parse_maps("7f0000000000-7f0000400000 rw-p 00000000 00:00 0\n"
                                 "7f0000400000-7f0000500000 rw-p 00000000 00:00 0\n",
                                 &m),
             0);
    CHECK_EQ(live_smaps_merge(&m, &l), 1);
    CHECK(m.v[0].have_smaps);
    CHECK_EQ(m.v[0].sm.anon_huge, 2048 << 10);
    CHECK(m.v[0].flags & BPFMM_VMA_HUGEPAGE);
    CHECK(!m.v[1].have_smaps); /* the VMA changed size since */

    /* Malformed header. */
    CHECK_EQ(live_smaps_parse("7f00-zz rw-p 0 0:0 0\nRss: 4 kB\n", &l), -EINVAL);
    /* Fields before any header are ignored. */
    CHECK_EQ(live_smaps_parse("Rss: 4 kB\n", &l), 0);
    CHECK_EQ(l.nr, 0);
    live_vma_list_free(&l);
    live_vma_list_free(&m);
    return 0;
}
