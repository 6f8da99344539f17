/*
 * Alignment and disjointness of every block: random orders are allocated until the zone is
 * exhausted; each block must be naturally aligned (pfn and address), inside the zone, and
 * disjoint from every other (a bitmap of owned frames); the memory of each block is filled with
 * its own pattern and must still hold it when freed. Then everything is freed in a shuffled
 * order and the zone must be whole again.
 */
#include "alloc_test.h"

#define NR 8192

struct blk {
    int64_t pfn;
    unsigned order;
};

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void)
{
    bpfmm_alloc_t *a = test_alloc(NR, 10, true);
    static unsigned char owned[NR];
    static struct blk blks[NR];
    unsigned n = 0, failures = 0;
    while (failures < 64) {
        unsigned o = (unsigned)(xr() % 11);
        int64_t p = (xr() & 1) ? bpfmm_alloc_pages(a, o, 0) : bpfmm_alloc_try_alloc_pages(a, o);
        if (p < 0) {
            CHECK_EQ(p, -ENOMEM);
            failures++;
            continue;
        }
        CHECK_LT(p, NR);
        CHECK_MSG(((uint64_t)p & ((1u << o) - 1)) == 0, "order %u at pfn %lld", o, (long long)p);
        CHECK_LE((uint64_t)p + (1u << o), NR);
        unsigned char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)p);
        CHECK(((uintptr_t)m & ((BPFMM_PAGE_SIZE << o) - 1)) == 0);
        for (unsigned i = 0; i < (1u << o); i++) {
            CHECK_MSG(!owned[p + i], "frame %lld handed out twice", (long long)(p + i));
            owned[p + i] = 1;
        }
        memset(m, (int)(n & 0xff), BPFMM_PAGE_SIZE << o);
        blks[n++] = (struct blk){p, o};
    }
    /* Order 0 eventually always fits until every frame is handed out. */
    for (;;) {
        int64_t p = bpfmm_alloc_pages(a, 0, 0);
        if (p < 0) {
            CHECK_EQ(p, -ENOMEM);
            break;
        }
        CHECK(!owned[p]);
        owned[p] = 1;
        unsigned char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)p);
        memset(m, (int)(n & 0xff), BPFMM_PAGE_SIZE);
        blks[n++] = (struct blk){p, 0};
    }
    for (unsigned i = 0; i < NR; i++)
        CHECK_MSG(owned[i], "frame %u was never handed out at exhaustion", i);
    CHECK_EQ(test_stats(a).allocated_pages, NR);
    CHECK_ALLOC_OK(a);

    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)(xr() % i);
        struct blk t = blks[i - 1];
        blks[i - 1] = blks[j];
        blks[j] = t;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned char *m = bpfmm_alloc_pfn_to_addr(a, (uint64_t)blks[i].pfn);
        unsigned char want = m[0];
        for (size_t k = 0; k < (BPFMM_PAGE_SIZE << blks[i].order); k += 512)
            CHECK_MSG(m[k] == want, "block at pfn %lld was overwritten", (long long)blks[i].pfn);
        int r = (i & 1) ? bpfmm_alloc_free_pages_nolock(a, (uint64_t)blks[i].pfn, blks[i].order)
                        : bpfmm_alloc_free_pages(a, (uint64_t)blks[i].pfn, blks[i].order);
        CHECK_EQ(r, 0);
    }
    CHECK_EQ(bpfmm_alloc_drain(a), 0);
    struct bpfmm_alloc_stats st = test_stats(a);
    CHECK_EQ(st.free_blocks[10], NR >> 10);
    CHECK_EQ(st.allocated_pages, 0);
    CHECK_ALLOC_OK(a);
    bpfmm_alloc_destroy(a);
    return 0;
}
