/*
 * The human-readable feature report of probe.h (for `bpfmm status`): each line names a
 * feature, whether it is there, and what the agent does instead when it is not. Owns wording
 * only; the facts come from live_probe().
 */
#include "probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void line(FILE *o, const char *name, bool ok, const char *detail_ok, const char *detail_no)
{
    fprintf(o, "  %-28s %-4s %s\n", name, ok ? "yes" : "no", ok ? detail_ok : detail_no);
}

static void orders(FILE *o, uint64_t mask, unsigned page_size)
{
    if (!mask) {
        fputs("none", o);
        return;
    }
    const char *sep = "";
    for (int b = 63; b >= 0; b--) {
        if (!(mask & (1ull << b)))
            continue;
        uint64_t kb = ((uint64_t)page_size << b) >> 10;
        if (kb >= 1024 && kb % 1024 == 0)
            fprintf(o, "%s%lluM", sep, (unsigned long long)(kb / 1024));
        else
            fprintf(o, "%s%lluK", sep, (unsigned long long)kb);
        sep = " ";
    }
}

char *live_probe_report(const struct live_features *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (!o)
        return NULL;
    char buf[160];

    fprintf(o, "kernel: Linux %s\n", f->release[0] ? f->release : "(unknown)");
    fputs("interfaces:\n", o);
    snprintf(buf, sizeof(buf), "refused (%s): the agent cannot collapse; Linux >= 6.1 needed",
             live_errno_name(f->madv_collapse_err));
    line(o, "MADV_COLLAPSE", f->madv_collapse, "synchronous collapse (6.1)", buf);
    snprintf(buf, sizeof(buf), "refused (%s): run as root or with CAP_SYS_NICE+CAP_SYS_PTRACE",
             live_errno_name(f->madv_collapse_remote_err));
    line(o, "process_madvise(COLLAPSE)", f->madv_collapse_remote,
         "collapse another process's memory", buf);
    line(o, "pidfd", f->pidfd, "pid reuse cannot redirect an action", "needs Linux 5.3");
    snprintf(buf, sizeof(buf),
             "(%s) reading /proc/PID/pagemap instead: ~2.5x the CPU; huge and zero-page "
             "counts %s",
             live_errno_name(f->pagemap_scan_err),
             f->pagemap_pfn ? "from PFNs and /proc/kpageflags" : "unknown (no CAP_SYS_ADMIN)");
    line(o, "PAGEMAP_SCAN", f->pagemap_scan, "range counts from one ioctl per VMA (6.7)", buf);
    line(o, "guard detection", f->pagemap_scan_guard,
         "PAGE_IS_GUARD: guarded blocks are never submitted (6.15)",
         "a guarded block fails MADV_COLLAPSE with EINVAL: the VMA is skipped after that");
    line(o, "PROCMAP_QUERY", f->procmap_query, "VMAs by ioctl, per-VMA locks (6.11)",
         "parsing /proc/PID/maps instead");
    line(o, "THP_DISABLE_EXCEPT_ADVISED", f->thp_disable_except_advised,
         "`bpfmm run` can forbid THP at fault but keep collapse (6.18)",
         "`bpfmm run` can only disable THP completely (collapse too)");
    line(o, "anonymous VMA names", f->anon_vma_name, "[anon:name] shown to policies",
         "policies see \"\" for named anonymous memory");
    line(o, "pagemap PFNs", f->pagemap_pfn, "visible (CAP_SYS_ADMIN)", "hidden");

    fputs("privileges:\n", o);
    fprintf(o, "  %-28s %s\n", "user", f->root ? "root" : "not root");
    line(o, "collapse others", f->can_collapse_others, "CAP_SYS_NICE + CAP_SYS_PTRACE",
         "needs CAP_SYS_NICE + CAP_SYS_PTRACE (or root)");
    line(o, "lifecycle BPF programs", f->can_lifecycle_bpf, "CAP_BPF + CAP_PERFMON",
         "needs CAP_BPF + CAP_PERFMON: falls back to the proc connector and /proc rescans");

    fputs("THP settings:\n", o);
    if (!f->thp_sysfs) {
        fputs("  /sys/kernel/mm/transparent_hugepage is missing (THP not compiled in?)\n", o);
    } else {
        fprintf(o, "  enabled %s, defrag %s, shmem_enabled %s, use_zero_page %d\n", f->thp_enabled,
                f->thp_defrag[0] ? f->thp_defrag : "?",
                f->thp_shmem_enabled[0] ? f->thp_shmem_enabled : "?", f->thp_use_zero_page);
        fprintf(o, "  PMD size %llu KiB (order %u); orders enabled for anon: ",
                (unsigned long long)(f->hpage_pmd_size >> 10), f->pmd_order);
        orders(o, f->thp_orders_enabled, f->page_size);
        fputs(" (of ", o);
        orders(o, f->thp_orders_supported, f->page_size);
        fputs(")\n", o);
        const struct live_khugepaged *k = &f->khugepaged;
        if (k->valid)
            fprintf(
                o,
                "  khugepaged: pages_to_scan %llu, scan_sleep %llu ms, alloc_sleep %llu ms, "
                "max_ptes_none %llu, max_ptes_swap %llu, max_ptes_shared %llu\n",
                (unsigned long long)k->pages_to_scan, (unsigned long long)k->scan_sleep_millisecs,
                (unsigned long long)k->alloc_sleep_millisecs, (unsigned long long)k->max_ptes_none,
                (unsigned long long)k->max_ptes_swap, (unsigned long long)k->max_ptes_shared);
    }
    char msg[256];
    if (live_probe_require(f, msg, sizeof(msg)) == 0)
        fputs("agent: can run here\n", o);
    else
        fprintf(o, "agent: cannot run here: %s\n", msg);
    if (fclose(o) != 0) {
        free(text);
        errno = ENOMEM;
        return NULL;
    }
    return text;
}
