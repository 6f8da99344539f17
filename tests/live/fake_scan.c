/*
 * live_fake_scan: the range scanner driven through a fake OS layer, no kernel involved. One
 * fake process with eight PMD blocks of known contents (full, sparse, huge, zero-page, guard,
 * swapped, alternating, empty) inside a VMA with unaligned edges:
 *
 *   base-16p   base        +2M       +4M       +6M       +8M  ...  +16M   +16M+16p
 *   |edge|     | full     | 1 page  | THP     | zero    | guard.. | ...   |edge|
 *
 * Both the PAGEMAP_SCAN path and the pagemap fallback must give the exact per-block counts,
 * per-VMA totals (edges included), nr_shared from the exclusive bits, and the VMA GUARD flag.
 * Then the 6.18 stale walk_end: regions exactly filling the buffer, fewer than the buffer, and
 * three buffers' worth - a scanner that trusts walk_end counts pages twice, one that stops early
 * misses pages; both fail the exact counts. Finally an exec (ESRCH while alive) gives -ESTALE
 * after reopening pagemap, and a dead process gives -ESRCH with a message.
 */
#include "fake_os.h"
#include "test.h"

#include "live/scan.h"

#define BASE 0x40000000ull
#define EDGE 16
#define PPB  512u

static struct live_features feats(void)
{
    struct live_features f = {0};
    f.page_size = 4096;
    f.hpage_pmd_size = FAKE_PMD;
    f.pagemap_scan = true;
    f.pagemap_scan_guard = true;
    f.pagemap_pfn = true;
    return f;
}

static struct live_vma_list one_vma(uint64_t start, uint64_t end)
{
    struct live_vma_list l = {0};
    struct live_vma *v = live_vma_list_add(&l);
    CHECK(v);
    v->start = start;
    v->end = end;
    live_vma_classify(v, "rw-p", "");
    l.layout_hash = live_vma_layout_hash(&l);
    return l;
}

static struct live_proc *open_fake(void)
{
    char msg[256];
    struct live_proc *p = live_proc_open(&fake_os, FAKE_PID, 0, msg, sizeof(msg));
    CHECK_MSG(p, "open: %s", msg);
    CHECK_STR_CONTAINS(p->comm, "fake prog");
    CHECK_EQ(p->start_time, 123456);
    return p;
}

struct expect {
    uint32_t present, swapped, huge, zero, guard, shared;
};

static void check_range(const struct live_range *r, uint64_t start, struct expect e, bool shared,
                        const char *path)
{
    CHECK_U64_EQ(r->start, start);
    CHECK_MSG(r->nr_present == e.present && r->nr_swapped == e.swapped && r->nr_huge == e.huge &&
                  r->nr_zero == e.zero && r->nr_guard == e.guard,
              "%s: block 0x%llx: present %u swapped %u huge %u zero %u guard %u, expected %u %u "
              "%u %u %u",
              path, (unsigned long long)start, r->nr_present, r->nr_swapped, r->nr_huge, r->nr_zero,
              r->nr_guard, e.present, e.swapped, e.huge, e.zero, e.guard);
    if (shared) {
        CHECK(r->flags & LIVE_RANGE_SHARED_KNOWN);
        CHECK_MSG(r->nr_shared == e.shared, "%s: block 0x%llx: nr_shared %u, expected %u", path,
                  (unsigned long long)start, r->nr_shared, e.shared);
    }
}

static void scenario_contents(bool fallback)
{
    const char *path = fallback ? "pagemap fallback" : "PAGEMAP_SCAN";
    fake_init(BASE - FAKE_PMD, 10 * PPB);
    uint64_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = BASE + (uint64_t)i * FAKE_PMD;
    fake_set(BASE - EDGE * FAKE_PAGE, EDGE, PAGE_IS_PRESENT); /* left edge */
    fake_set(b[0], PPB, PAGE_IS_PRESENT);                     /* full */
    for (int i = 0; i < 5; i++)
        fake_at(b[0] + (uint64_t)(10 + i) * FAKE_PAGE)->excl = false; /* 5 shared pages */
    fake_set(b[1] + 7 * FAKE_PAGE, 1, PAGE_IS_PRESENT);               /* sparse */
    fake_set_huge(b[2]); /* THP, shared with another process (as after a fork) */
    for (unsigned i = 0; i < PPB; i++)
        fake_at(b[2] + i * FAKE_PAGE)->excl = false;
    fake_set(b[3], PPB, PAGE_IS_PRESENT | PAGE_IS_PFNZERO); /* zero page */
    fake_set(b[4], PPB, PAGE_IS_PRESENT);                   /* guards at 1, 100 */
    fake_set(b[4] + FAKE_PAGE, 1, PAGE_IS_GUARD);
    fake_set(b[4] + 100 * FAKE_PAGE, 1, PAGE_IS_GUARD);
    fake_set(b[5], 10, PAGE_IS_SWAPPED); /* swapped */
    fake_set(b[5] + 10 * FAKE_PAGE, 20, PAGE_IS_PRESENT);
    for (unsigned i = 0; i < PPB; i += 2) /* alternating */
        fake_set(b[6] + i * FAKE_PAGE, 1, PAGE_IS_PRESENT);
    /* b[7] empty */
    fake_set(BASE + 8 * FAKE_PMD, EDGE, PAGE_IS_PRESENT); /* right edge */

    struct live_features f = feats();
    struct live_scanner *sc = live_scanner_new(&fake_os, &f);
    CHECK(sc);
    struct live_proc *p = open_fake();
    struct live_vma_list l =
        one_vma(BASE - EDGE * FAKE_PAGE, BASE + 8 * FAKE_PMD + EDGE * FAKE_PAGE);
    struct live_scan_opts o = {
        .sz = sizeof(o), .shared = LIVE_SHARED_ALWAYS, .force_pagemap = fallback};
    struct live_scan_result res = {0};
    int err = live_scan_process(sc, p, &l, &o, &res);
    CHECK_MSG(err == 0, "%s: scan: %d %s", path, err, live_proc_error(p));
    CHECK_EQ(res.nr, 7); /* the edges hold no whole block; the empty block has no range */
    CHECK_EQ(res.used_pagemap_scan, !fallback);
    CHECK(res.huge_known && res.zero_known && res.guard_known);
    CHECK_EQ(res.resident_pages, 1234); /* from the fake statm */
    CHECK_EQ(res.vmas_scanned, 1);

    check_range(&res.r[0], b[0], (struct expect){PPB, 0, 0, 0, 0, 5}, true, path);
    check_range(&res.r[1], b[1], (struct expect){1, 0, 0, 0, 0, 0}, true, path);
    check_range(&res.r[2], b[2], (struct expect){PPB, 0, PPB, 0, 0, PPB}, true, path);
    check_range(&res.r[3], b[3], (struct expect){PPB, 0, 0, PPB, 0, 0}, true, path);
    check_range(&res.r[4], b[4], (struct expect){PPB - 2, 0, 0, 0, 2, 0}, true, path);
    check_range(&res.r[5], b[5], (struct expect){20, 10, 0, 0, 0, 0}, true, path);
    check_range(&res.r[6], b[6], (struct expect){PPB / 2, 0, 0, 0, 0, 0}, true, path);
    for (size_t i = 0; i < res.nr; i++)
        CHECK(res.r[i].start != b[7]);

    const struct live_vma *v = &l.v[0];
    CHECK_EQ(v->scan.present, 2 * EDGE + PPB + 1 + PPB + PPB + (PPB - 2) + 20 + PPB / 2);
    CHECK_EQ(v->scan.huge, PPB);
    CHECK_EQ(v->scan.zero, PPB);
    CHECK_EQ(v->scan.guard, 2);
    CHECK_EQ(v->scan.swapped, 10);
    CHECK(v->scan.scanned_ns != 0);
    CHECK(v->flags & BPFMM_VMA_GUARD);
    if (fallback)
        CHECK_GT(fake.pread_calls, 0);
    else
        CHECK_EQ(fake.scan_calls, 1); /* few regions: one ioctl */

    /* The policy ctx from a range. */
    struct bpfmm_thp_ctx ctx = {.size = sizeof(ctx)};
    live_ctx_fill(&ctx, p, v, &res.r[4], sc);
    CHECK_EQ(ctx.size, sizeof(ctx));
    CHECK_U64_EQ(ctx.range_start, b[4]);
    CHECK_EQ(ctx.range_pages, PPB);
    CHECK_EQ(ctx.nr_guard, 2);
    CHECK_EQ(ctx.pmd_order, 9);
    CHECK_EQ(ctx.tgid, FAKE_PID);
    CHECK_STR_CONTAINS(ctx.comm, "fake prog");
    CHECK_EQ(ctx.vma_resident, (v->scan.present - v->scan.zero) * 4096);
    CHECK(ctx.vma_flags & BPFMM_VMA_ANON);

    /* Rescanning chosen blocks only (every block asked for is reported, even an empty one). */
    uint64_t starts[] = {b[2], b[3], b[6], b[7], b[7] + 3}; /* the last is not a block */
    err = live_scan_blocks(sc, p, &l, starts, 5, &o, &res);
    CHECK_EQ(err, 0);
    CHECK_EQ(res.nr, 4);
    check_range(&res.r[0], b[2], (struct expect){PPB, 0, PPB, 0, 0, PPB}, true, path);
    check_range(&res.r[1], b[3], (struct expect){PPB, 0, 0, PPB, 0, 0}, true, path);
    check_range(&res.r[2], b[6], (struct expect){PPB / 2, 0, 0, 0, 0, 0}, true, path);
    check_range(&res.r[3], b[7], (struct expect){0, 0, 0, 0, 0, 0}, true, path);

    /* Carrying fully huge blocks over from a previous result. */
    struct live_scan_result prev = {0};
    CHECK_EQ(live_scan_process(sc, p, &l, &o, &prev), 0);
    struct live_scan_opts o2 = o;
    o2.prev = &prev;
    o2.skip_huge = true;
    CHECK_EQ(live_scan_process(sc, p, &l, &o2, &res), 0);
    CHECK_EQ(res.ranges_carried, 1);
    CHECK(res.r[2].flags & LIVE_RANGE_CARRIED);
    check_range(&res.r[2], b[2], (struct expect){PPB, 0, PPB, 0, 0, 0}, false, path);
    check_range(&res.r[3], b[3], (struct expect){PPB, 0, 0, PPB, 0, 0}, false, path);
    CHECK_EQ(l.v[0].scan.huge, PPB);
    CHECK_EQ(l.v[0].scan.present,
             prev.r[0].nr_present * 0 + 2 * EDGE + PPB + 1 + PPB + PPB + (PPB - 2) + 20 + PPB / 2);
    CHECK(live_scan_unchanged(p, &l, &prev));

    live_scan_result_free(&prev);
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    fake_fini();
}

/* Alternating present/absent pages over nblocks: PPB/2 regions per block. */
static void scenario_walk_end(unsigned nblocks, unsigned expect_calls_max, bool stale)
{
    fake_init(BASE, nblocks * PPB);
    fake.stale_walk_end = stale;
    for (unsigned i = 0; i < nblocks * PPB; i += 2)
        fake_set(BASE + i * FAKE_PAGE, 1, PAGE_IS_PRESENT);
    struct live_features f = feats();
    struct live_scanner *sc = live_scanner_new(&fake_os, &f);
    struct live_proc *p = open_fake();
    struct live_vma_list l = one_vma(BASE, BASE + nblocks * FAKE_PMD);
    struct live_scan_result res = {0};
    int err = live_scan_process(sc, p, &l, NULL, &res);
    CHECK_MSG(err == 0, "scan: %d %s", err, live_proc_error(p));
    CHECK_EQ(res.nr, nblocks);
    for (unsigned k = 0; k < nblocks; k++)
        CHECK_MSG(res.r[k].nr_present == PPB / 2,
                  "%u blocks (%u regions, stale walk_end %d): block %u has %u present, expected "
                  "%u",
                  nblocks, nblocks * PPB / 2, stale, k, res.r[k].nr_present, PPB / 2);
    CHECK_EQ(l.v[0].scan.present, nblocks * PPB / 2);
    CHECK_LE(fake.scan_calls, expect_calls_max);
    CHECK_EQ(res.ioctls, fake.scan_calls);
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    fake_fini();
}

static void scenario_exec_and_exit(void)
{
    fake_init(BASE, 2 * PPB);
    fake_set(BASE, 2 * PPB, PAGE_IS_PRESENT);
    struct live_features f = feats();
    struct live_scanner *sc = live_scanner_new(&fake_os, &f);
    struct live_proc *p = open_fake();
    struct live_vma_list l = one_vma(BASE, BASE + 2 * FAKE_PMD);
    struct live_scan_result res = {0};

    /* ESRCH while the process lives = it exec'd: pagemap is reopened, the scan is stale. */
    fake.esrch_once = 1;
    CHECK_EQ(live_scan_process(sc, p, &l, NULL, &res), -ESTALE);
    CHECK_EQ(p->image_gen, 1);
    CHECK_EQ(fake.pagemap_opens, 2);
    CHECK_STR_CONTAINS(live_proc_error(p), "exec");
    CHECK_EQ(live_scan_process(sc, p, &l, NULL, &res), 0);
    CHECK_EQ(res.r[0].nr_present, PPB);

    /* A dead process. */
    fake.alive = false;
    CHECK_EQ(live_scan_process(sc, p, &l, NULL, &res), -ESRCH);
    CHECK_STR_CONTAINS(live_proc_error(p), "ESRCH");
    CHECK_STR_CONTAINS(live_proc_error(p), "exited");
    CHECK_EQ(live_proc_alive(p), -ESRCH);

    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    fake_fini();

    /* Opening a handle on a process that does not exist. */
    fake_init(BASE, 1);
    char msg[256];
    errno = 0;
    CHECK(live_proc_open(&fake_os, FAKE_PID + 1, 0, msg, sizeof(msg)) == NULL);
    CHECK_EQ(errno, ESRCH);
    CHECK_STR_CONTAINS(msg, "exited");
    /* ... and on one whose start time says the pid was reused. */
    CHECK(live_proc_open(&fake_os, FAKE_PID, 99, msg, sizeof(msg)) == NULL);
    CHECK_EQ(errno, ESRCH);
    CHECK_STR_CONTAINS(msg, "another process");
    fake_fini();
}

/* A huge, almost empty VMA: one range only, not one per 2 MiB; the fallback skips VMAs
 * above its size cap (8 bytes of pagemap per page). */
static void scenario_sparse_vma(void)
{
    fake_init(BASE, PPB);
    fake_set(BASE + 5 * FAKE_PAGE, 3, PAGE_IS_PRESENT);
    struct live_features f = feats();
    struct live_scanner *sc = live_scanner_new(&fake_os, &f);
    struct live_proc *p = open_fake();
    struct live_vma_list l = one_vma(BASE, BASE + (4ull << 30));
    struct live_scan_result res = {0};
    CHECK_EQ(live_scan_process(sc, p, &l, NULL, &res), 0);
    CHECK_EQ(res.nr, 1);
    CHECK_EQ(res.r[0].nr_present, 3);
    CHECK_LT(res.cap, 4096); /* no range storage for the 2047 empty blocks */

    struct live_scan_opts o = {
        .sz = sizeof(o), .force_pagemap = true, .fallback_max_vma = 1ull << 30};
    CHECK_EQ(live_scan_process(sc, p, &l, &o, &res), 0);
    CHECK_EQ(res.vmas_skipped, 1);
    CHECK_EQ(res.nr, 0);
    CHECK_EQ(fake.pread_calls, 0);
    o.fallback_max_vma = 0; /* the default cap, 16 GiB, admits 4 GiB */
    CHECK_EQ(live_scan_process(sc, p, &l, &o, &res), 0);
    CHECK_EQ(res.vmas_skipped, 0);
    CHECK_EQ(res.nr, 1);
    CHECK_EQ(res.r[0].nr_present, 3);
    CHECK_EQ(res.pagemap_bytes, (4ull << 30) / FAKE_PAGE * 8);
    live_scan_result_free(&res);
    live_vma_list_free(&l);
    live_proc_close(p);
    live_scanner_free(sc);
    fake_fini();
}

int main(void)
{
    scenario_contents(false);
    scenario_contents(true);
    /* 1024 regions = exactly one full buffer, the walk done, walk_end stale: 2 calls. */
    scenario_walk_end(4, 2, true);
    /* 768 regions: fewer than the buffer, walk_end stale: 1 call. */
    scenario_walk_end(3, 1, true);
    /* 3072 regions: two full buffers with a correct walk_end, then one more. */
    scenario_walk_end(12, 4, true);
    /* The same without the bug. */
    scenario_walk_end(12, 4, false);
    scenario_exec_and_exit();
    scenario_sparse_vma();
    return 0;
}
