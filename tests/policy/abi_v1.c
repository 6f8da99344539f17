/* ABI stability: tests/fixtures/abi_v1_policy.bpf.o was compiled once against the first
 * bpfmm_thp_ctx header (ABI v1) and is never rebuilt. It must keep loading and answer exactly
 * as recorded here, forever; its map, global counter and knob must keep working too. */
#include "policy_test.h"

static bpfmm_policy_t *open_fixture(const char *const *rodata, unsigned n)
{
    char path[4096], log[4096] = "";
    snprintf(path, sizeof(path), "%s/tests/fixtures/abi_v1_policy.bpf.o", test_source_dir());
    struct bpfmm_policy_opts o = {
        .sz = sizeof(o), .rodata = rodata, .nr_rodata = n, .log_buf = log, .log_size = sizeof(log)};
    bpfmm_policy_t *p = bpfmm_policy_open(path, &o);
    if (!p)
        TEST_FAIL("the ABI v1 fixture no longer loads: %s", log);
    return p;
}

int main(void)
{
    bpfmm_policy_t *p = open_fixture(NULL, 0);
    const uint64_t all = PMD | BPFMM_ORDER(4) | BPFMM_ORDER(2), mthp = all & ~PMD;
    struct bpfmm_thp_ctx c;
    unsigned khugepaged_calls = 0, total = 0;

#define ASK(expect)                                                                                \
    do {                                                                                           \
        c.orders = all;                                                                            \
        CHECK_U64_EQ(bpfmm_policy_get_orders(p, &c), (expect));                                    \
        khugepaged_calls += c.type == BPFMM_THP_KHUGEPAGED;                                        \
        total++;                                                                                   \
    } while (0)

    c = range_ctx(BPFMM_THP_KHUGEPAGED, 512);
    c.vma_resident = c.vma_referenced = 64ull << 20;
    ASK(all);
    c.nr_present = 200;
    ASK(mthp);
    c.nr_present = 512;
    c.nr_zero = 300;
    ASK(mthp);
    c.nr_zero = 0;
    c.nr_guard = 1;
    ASK(mthp);
    c.nr_guard = 0;
    c.nr_shared = 257;
    ASK(mthp);
    c.nr_shared = 0;
    c.nr_huge = 512;
    ASK(mthp);
    c.nr_huge = 0;
    c.range_start += 4096;
    ASK(mthp);
    c.range_start -= 4096;
    c.vma_referenced = (64ull << 20) / 16; /* cold, small VMA */
    ASK(mthp);
    c.vma_end = c.vma_start + (2ull << 30); /* cold but large */
    ASK(all);
    c.vma_flags |= BPFMM_VMA_NOHUGEPAGE;
    ASK(0);
    c.vma_flags &= ~BPFMM_VMA_NOHUGEPAGE;
    strcpy(c.name, "[vdso]");
    ASK(0);
    c.name[0] = '\0';
    strcpy(c.comm, "mthp-worker");
    ASK(mthp);

    c = range_ctx(BPFMM_THP_PAGEFAULT, 0);
    ASK(mthp);
    c.vma_flags |= BPFMM_VMA_HUGEPAGE;
    ASK(all);
    c = range_ctx(BPFMM_THP_SWAPIN, 512);
    ASK(0);
    c = range_ctx(BPFMM_THP_FORCED_COLLAPSE, 512);
    c.vma_resident = c.vma_referenced = 1;
    ASK(all);
    c.tgid = 0;
    ASK(0);

    /* The ARRAY map counted calls by type, and the .bss counter counted them all. */
    bpfmm_rt_obj_t *obj = bpfmm_policy_obj(p);
    bpfmm_rt_map_t *m = bpfmm_rt_obj_find_map(obj, "calls_by_type");
    CHECK(m != NULL);
    uint32_t key = BPFMM_THP_KHUGEPAGED;
    uint64_t v = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(m, &key, &v), 0);
    CHECK_EQ(v, khugepaged_calls);
    bpfmm_rt_map_t *bss = NULL;
    for (unsigned i = 0; i < bpfmm_rt_obj_map_count(obj); i++) {
        bpfmm_rt_map_t *g = bpfmm_rt_obj_map(obj, i);
        if (bpfmm_rt_map_is_global(g) && strstr(bpfmm_rt_map_name(g), ".bss"))
            bss = g;
    }
    CHECK(bss != NULL);
    uint32_t zero = 0;
    uint64_t counted = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(bss, &zero, &counted), 0);
    CHECK_EQ(counted, total);
    bpfmm_policy_close(p);

    /* The knob still works. */
    const char *knob[] = {"min_present=100"};
    p = open_fixture(knob, 1);
    c = range_ctx(BPFMM_THP_KHUGEPAGED, 200);
    c.vma_resident = c.vma_referenced = 64ull << 20;
    ASK(all);
    bpfmm_policy_close(p);
    return 0;
}
