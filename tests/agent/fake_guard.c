/*
 * live_agent_fake_guard: a range holding a guard marker is never submitted, whatever the
 * policy says (one such range makes MADV_COLLAPSE fail with EINVAL and abort the call); the
 * ranges around it are collapsed, in iovecs that never cover it.
 *
 *   blocks 0 1 2 3, all full; block 1 has a guard page at page 7  ("always" allows all)
 */
#include "fake_agent.h"
#include "test.h"

#define BASE 0x7f0000000000ull

int main(void)
{
    fa_init();
    struct fa_proc *p = fa_proc_add(100, "target");
    fa_vma_add(p, BASE, 8ull << 20);
    fa_set(p, BASE, 4 * 512, FA_PRESENT);
    const uint64_t G = BASE + FA_PMD;
    fa_set(p, G + 7 * FA_PAGE, 1, FA_GUARD);

    struct live_agent_budget b = {.sz = sizeof(b), .off = true};
    struct live_agent_opts o = fa_opts(&b);
    uint32_t id;
    live_agent_t *a = fa_agent(&o, "always", &id);
    CHECK_EQ(live_agent_attach(a, id, 100, NULL, NULL, 0), 0);
    fa_run(a, fa.now + 100000000000ull, 10000000);

    CHECK_EQ(fa_calls_touching(100, G), 0);
    CHECK(fa_block_huge(p, BASE));
    CHECK(!fa_block_huge(p, G));
    CHECK(fa_block_huge(p, BASE + 2 * FA_PMD));
    CHECK(fa_block_huge(p, BASE + 3 * FA_PMD));
    CHECK_EQ(fa_page(p, G + 7 * FA_PAGE), FA_GUARD); /* the guard is kept */
    for (unsigned i = 0; i < fa.ncalls; i++)
        CHECK_GT(fa.calls[i].ret, 0); /* no call failed */
    struct live_agent_proc_status st = {.sz = sizeof(st)};
    CHECK_EQ(live_agent_proc_status(a, 100, &st), 0);
    CHECK_EQ(st.c.collapses, 3);
    live_agent_free(a);
    fa_fini();
    return 0;
}
