/*
 * live_probe: the feature probe reports what this machine has, consistently with its kernel
 * version (6.18 here: MADV_COLLAPSE locally and remotely, PAGEMAP_SCAN, guard detection,
 * PROCMAP_QUERY, PR_THP_DISABLE_EXCEPT_ADVISED), reads the THP sysfs settings, caches, and
 * refuses kernels below 6.1 with a message naming the version needed.
 */
#include "live_test.h"

int main(void)
{
    test_require_root("the probes collapse memory of a child and read PFNs");
    struct live_features f;
    live_probe(&live_os_linux, &f);
    printf("Linux %s (kver 0x%06x)\n", f.release, f.kver);
    CHECK(f.release[0]);
    CHECK_GE(f.kmajor, 3);
    CHECK_EQ(f.page_size, 4096);
    if (f.kver < LIVE_KVER(6, 1, 0))
        test_skip("Linux %s is older than 6.1: nothing of the agent can run", f.release);

    /* Interfaces that this kernel version must have (and that the probes really exercised). */
    CHECK(f.root);
    CHECK(f.can_collapse_others);
    CHECK(f.pidfd);
    CHECK_MSG(f.madv_collapse, "MADV_COLLAPSE probe failed: %s",
              live_errno_name(f.madv_collapse_err));
    CHECK_MSG(f.madv_collapse_remote, "remote MADV_COLLAPSE probe failed: %s",
              live_errno_name(f.madv_collapse_remote_err));
    CHECK(f.pagemap_pfn); /* root has CAP_SYS_ADMIN */
    if (f.kver >= LIVE_KVER(6, 7, 0))
        CHECK_MSG(f.pagemap_scan, "PAGEMAP_SCAN probe failed: %s",
                  live_errno_name(f.pagemap_scan_err));
    if (f.kver >= LIVE_KVER(6, 11, 0))
        CHECK(f.procmap_query);
    if (f.kver >= LIVE_KVER(6, 13, 0))
        CHECK(f.guard_install);
    if (f.kver >= LIVE_KVER(6, 15, 0))
        CHECK(f.pagemap_scan_guard);
    if (f.kver >= LIVE_KVER(6, 18, 0))
        CHECK(f.thp_disable_except_advised);
    /* And that a feature reported present is consistent. */
    if (f.pagemap_scan_guard)
        CHECK(f.pagemap_scan && f.guard_install);

    /* THP sysfs. */
    CHECK(f.thp_sysfs);
    CHECK(!strcmp(f.thp_enabled, "always") || !strcmp(f.thp_enabled, "madvise") ||
          !strcmp(f.thp_enabled, "never"));
    CHECK_EQ(f.hpage_pmd_size, 2u << 20);
    CHECK_EQ(f.pmd_order, 9);
    CHECK(f.thp_orders_supported & BPFMM_ORDER(9));
    CHECK_EQ((f.thp_orders_enabled & ~f.thp_orders_supported), 0);
    if (!strcmp(f.thp_enabled, "never"))
        CHECK_EQ(f.thp_orders_enabled & BPFMM_ORDER(9), 0);
    CHECK(f.khugepaged.valid);
    CHECK_GT(f.khugepaged.pages_to_scan, 0);
    CHECK_LE(f.khugepaged.max_ptes_none, 511);

    char msg[256];
    CHECK_EQ(live_probe_require(&f, msg, sizeof(msg)), 0);
    char *report = live_probe_report(&f);
    CHECK(report);
    printf("%s", report);
    CHECK_STR_CONTAINS(report, f.release);
    CHECK_STR_CONTAINS(report, "PAGEMAP_SCAN");
    CHECK_STR_CONTAINS(report, "agent: can run here");
    free(report);

    /* Below 6.1 the agent refuses, saying what is needed. */
    struct live_features old = f;
    old.kver = LIVE_KVER(5, 15, 0);
    snprintf(old.release, sizeof(old.release), "5.15.0-test");
    CHECK_EQ(live_probe_require(&old, msg, sizeof(msg)), -ENOTSUP);
    CHECK_STR_CONTAINS(msg, "5.15.0-test");
    CHECK_STR_CONTAINS(msg, "6.1");
    report = live_probe_report(&old);
    CHECK_STR_CONTAINS(report, "cannot run here");
    free(report);
    struct live_features noperm = f;
    noperm.can_collapse_others = false;
    CHECK_EQ(live_probe_require(&noperm, msg, sizeof(msg)), -EPERM);
    CHECK_STR_CONTAINS(msg, "CAP_SYS_NICE");

    /* The cache answers the same. */
    const struct live_features *c = live_probe_cached(&live_os_linux);
    CHECK_EQ(live_probe_cached(NULL), c);
    CHECK_EQ(c->kver, f.kver);
    CHECK_EQ(c->pagemap_scan, f.pagemap_scan);

    /* The sysfs choice parser. */
    char w[16];
    CHECK_EQ(live_sysfs_choice("always [madvise] never", w, sizeof(w)), 0);
    CHECK(!strcmp(w, "madvise"));
    CHECK_EQ(live_sysfs_choice("[always] inherit madvise never\n", w, sizeof(w)), 0);
    CHECK(!strcmp(w, "always"));
    CHECK_EQ(live_sysfs_choice("always madvise never", w, sizeof(w)), -EINVAL);
    CHECK_EQ(live_sysfs_choice("[averyveryverylongword]", w, 8), -EINVAL);
    return 0;
}
