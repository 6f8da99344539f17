/*
 * Helpers for the THP policy tests: open a shipped or test policy from the build tree and
 * build ctxs describing a PMD range. Owns no assertions about any particular policy.
 */
#ifndef BPFMM_POLICY_TEST_H
#define BPFMM_POLICY_TEST_H

#include "test.h"

#include <bpfmm/policy.h>

#define PMD BPFMM_ORDER(9)

/* Opens a shipped policy (or a test object under tests/policy/ in the build tree), failing
 * the test with the loader's message if it does not load. */
static inline bpfmm_policy_t *open_policy_rodata(const char *name, const char *const *rodata,
                                                 unsigned nr_rodata)
{
    char path[4096], log[4096] = "";
    if (strchr(name, '/'))
        snprintf(path, sizeof(path), "%s/%s", test_build_dir(), name);
    else
        snprintf(path, sizeof(path), "%s/policies/%s.bpf.o", test_build_dir(), name);
    struct bpfmm_policy_opts o = {.sz = sizeof(o),
                                  .rodata = rodata,
                                  .nr_rodata = nr_rodata,
                                  .log_buf = log,
                                  .log_size = sizeof(log)};
    bpfmm_policy_t *p = bpfmm_policy_open(path, &o);
    if (!p)
        TEST_FAIL("cannot open policy %s: %s", path, log);
    return p;
}

static inline bpfmm_policy_t *open_policy(const char *name)
{
    return open_policy_rodata(name, NULL, 0);
}

/* A ctx for a 512-page range with `present` present pages, everything else zero. */
static inline struct bpfmm_thp_ctx range_ctx(enum bpfmm_thp_type type, unsigned present)
{
    struct bpfmm_thp_ctx ctx;
    bpfmm_policy_ctx_init(&ctx, type);
    ctx.vma_start = 0x7f0000000000ull;
    ctx.vma_end = ctx.vma_start + (64ull << 20);
    ctx.vma_flags = BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_ANON;
    ctx.address = ctx.range_start = ctx.vma_start + (2ull << 20);
    ctx.range_pages = 512;
    ctx.nr_present = present;
    ctx.tgid = ctx.pid = 4242;
    memcpy(ctx.comm, "worker", 7);
    return ctx;
}

#endif
