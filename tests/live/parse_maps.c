/*
 * live_parse_maps: /proc/PID/maps lines become the policy ctx's view of a VMA - BPFMM_VMA_*
 * flags, the name ([heap], [stack], file base name, [anon:name], "" for plain anonymous
 * memory), offset, device, inode - including odd names (spaces, " (deleted)", memfd, shared
 * /dev/zero, names longer than the ctx field); [vsyscall] is left out; malformed lines are
 * refused; eligibility follows the kernel's MADV_COLLAPSE rules.
 */
#include "live_test.h"

static const char maps[] =
    "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f0000000000-7f0000400000 rw-p 00000000 00:00 0 \n"
    "7f0000400000-7f0000600000 rw-p 00000000 00:00 0                          [anon:my buffers]\n"
    "7f0000600000-7f0000800000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)\n"
    "7f0000800000-7f0000c00000 rw-s 00200000 00:01 2345                       /memfd:cache "
    "(deleted)\n"
    "7f0000c00000-7f0000e00000 r--p 00001000 08:01 3456                       /usr/lib/libc so.6\n"
    "7f0000e00000-7f0000e01000 rw-p 00000000 00:01 4567                       /dev/zero\n"
    "7f0000e01000-7f0000e02000 rw-s 00000000 00:05 77 "
    "/tmp/a/very/long/path/"
    "with-a-file-name-that-is-much-longer-than-sixty-three-bytes-for-the-ctx-name-field\n"
    "7f0000e02000-7f0000e03000 rw-s 00000000 00:01 99                         [anon_shmem:shared "
    "thing]\n"
    "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffc0013c000-7ffc00140000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffc00140000-7ffc00142000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static const struct live_vma *at(const struct live_vma_list *l, uint64_t addr)
{
    const struct live_vma *v = live_vma_find(l, addr);
    CHECK_MSG(v, "no VMA at 0x%llx", (unsigned long long)addr);
    return v;
}

int main(void)
{
    struct live_vma_list l = {0};
    CHECK_EQ(live_vma_parse_maps(maps, &l), 0);
    CHECK_EQ(l.nr, 12); /* [vsyscall] left out */
    const uint64_t pmd = 2u << 20;

    const struct live_vma *v = at(&l, 0x55d0c0a00000);
    CHECK(!strcmp(v->name, "[heap]"));
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON | BPFMM_VMA_HEAP);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_TOO_SMALL);

    v = at(&l, 0x7f0000000000);
    CHECK(!strcmp(v->name, ""));
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK);
    uint64_t a, b;
    live_vma_pmd_span(v, pmd, &a, &b);
    CHECK_U64_EQ(a, 0x7f0000000000);
    CHECK_U64_EQ(b, 0x7f0000400000);

    v = at(&l, 0x7f0000400000);
    CHECK(!strcmp(v->name, "[anon:my buffers]"));
    CHECK(v->flags & BPFMM_VMA_ANON);

    v = at(&l, 0x7f0000600000);
    CHECK(!strcmp(v->name, "zero"));
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_SHARED | BPFMM_VMA_SHMEM);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK);

    v = at(&l, 0x7f0000800000);
    CHECK(!strcmp(v->name, "memfd:cache"));
    CHECK(v->flags & BPFMM_VMA_SHMEM);
    CHECK_U64_EQ(v->offset, 0x200000);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_OK); /* address and offset both aligned */
    struct live_vma mis = *v;
    mis.offset = 0x1000;
    CHECK_EQ(live_vma_eligibility(&mis, pmd), LIVE_ELIG_SHMEM_MISALIGNED);

    v = at(&l, 0x7f0000c00000);
    CHECK(!strcmp(v->name, "libc so.6"));
    CHECK_U64_EQ(v->flags, BPFMM_VMA_READ | BPFMM_VMA_FILE);
    CHECK_EQ(v->dev_major, 8);
    CHECK_EQ(v->dev_minor, 1);
    CHECK_EQ(v->inode, 3456);
    CHECK_U64_EQ(v->offset, 0x1000);
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_FILE);

    v = at(&l, 0x7f0000e00000); /* private /dev/zero is anonymous memory */
    CHECK(v->flags & BPFMM_VMA_ANON);
    CHECK(!(v->flags & (BPFMM_VMA_FILE | BPFMM_VMA_SHMEM)));

    v = at(&l, 0x7f0000e01000); /* long names are cut to the ctx field */
    CHECK_EQ(strlen(v->name), BPFMM_NAME_LEN - 1);
    CHECK(!strncmp(v->name, "with-a-file-name", 16));
    CHECK(v->flags & BPFMM_VMA_FILE); /* 00:05 is not known to be tmpfs without statfs */

    v = at(&l, 0x7f0000e02000);
    CHECK(!strcmp(v->name, "[anon_shmem:shared thing]"));
    CHECK(v->flags & BPFMM_VMA_SHMEM);

    v = at(&l, 0x7ffc00000000);
    CHECK(!strcmp(v->name, "[stack]"));
    CHECK(v->flags & BPFMM_VMA_STACK);
    CHECK(v->flags & BPFMM_VMA_ANON);

    v = at(&l, 0x7ffc00140000);
    CHECK(v->special);
    CHECK(!strcmp(v->name, "[vdso]"));
    CHECK_EQ(live_vma_eligibility(v, pmd), LIVE_ELIG_SPECIAL);
    char perms[5];
    live_vma_perms(v, perms);
    CHECK(!strcmp(perms, "r-xp"));
    CHECK(live_vma_find(&l, 0x7f0000e03000) == NULL); /* a hole */

    /* The layout hash sees a change of one VMA's end. */
    uint64_t h = l.layout_hash;
    CHECK_U64_EQ(h, live_vma_layout_hash(&l));
    l.v[1].end -= 4096;
    CHECK(live_vma_layout_hash(&l) != h);

    /* Malformed lines. */
    CHECK_EQ(live_vma_parse_maps("not a maps line\n", &l), -EINVAL);
    CHECK_EQ(live_vma_parse_maps("1000-2000 rw 0 00:00 0\n", &l), -EINVAL);
    CHECK_EQ(live_vma_parse_maps("2000-1000 rw-p 0 00:00 0\n", &l), -EINVAL);
    /* No trailing newline, empty input. */
    CHECK_EQ(live_vma_parse_maps("1000-2000 rw-p 00000000 00:00 0", &l), 0);
    CHECK_EQ(l.nr, 1);
    CHECK_EQ(live_vma_parse_maps("", &l), 0);
    CHECK_EQ(l.nr, 0);
    live_vma_list_free(&l);
    return 0;
}
