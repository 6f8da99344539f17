/*
 * Shared helpers for bpfmm test programs: assertions that report file:line and the values
 * involved, a skip (exit 77) with its reason, and paths to the build and source trees.
 * Each test program tests one behaviour; it exits 0 on success, 77 when skipped, 1 on failure.
 * This header owns no test logic of its own.
 */
#ifndef BPFMM_TEST_H
#define BPFMM_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST_SKIP_CODE 77

__attribute__((format(printf, 1, 2), noreturn)) static inline void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("SKIP: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
    exit(TEST_SKIP_CODE);
}

__attribute__((format(printf, 3, 4), noreturn)) static inline void
test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    exit(1);
}

#define TEST_FAIL(...) test_fail_at(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TEST_FAIL("check failed: %s", #cond);                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TEST_FAIL(__VA_ARGS__);                                                                \
    } while (0)

/* Integer comparisons print both sides. */
#define CHECK_OP(a, op, b)                                                                         \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (!(_a op _b))                                                                           \
            TEST_FAIL("check failed: %s %s %s (%lld vs %lld)", #a, #op, #b, _a, _b);               \
    } while (0)
#define CHECK_EQ(a, b) CHECK_OP(a, ==, b)
#define CHECK_NE(a, b) CHECK_OP(a, !=, b)
#define CHECK_LT(a, b) CHECK_OP(a, <, b)
#define CHECK_LE(a, b) CHECK_OP(a, <=, b)
#define CHECK_GT(a, b) CHECK_OP(a, >, b)
#define CHECK_GE(a, b) CHECK_OP(a, >=, b)

#define CHECK_U64_EQ(a, b)                                                                         \
    do {                                                                                           \
        uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                           \
        if (_a != _b)                                                                              \
            TEST_FAIL("check failed: %s == %s (0x%" PRIx64 " vs 0x%" PRIx64 ")", #a, #b, _a, _b);  \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
    do {                                                                                           \
        const char *_h = (hay), *_n = (needle);                                                    \
        if (!_h || !strstr(_h, _n))                                                                \
            TEST_FAIL("expected \"%s\" in \"%s\"", _n, _h ? _h : "(null)");                        \
    } while (0)

/* Paths to the trees, set by CTest's environment (see tests/CMakeLists.txt). */
static inline const char *test_build_dir(void)
{
    const char *d = getenv("BPFMM_BUILD_DIR");
    return d ? d : ".";
}

static inline const char *test_source_dir(void)
{
    const char *d = getenv("BPFMM_SOURCE_DIR");
    return d ? d : "..";
}

static inline void test_require_root(const char *why)
{
    if (geteuid() != 0)
        test_skip("needs root (%s)", why);
}

#endif
