/*
 * runtime_btf_damaged: the BTF-driven parser and formatter of map keys, values and knobs never
 * write or read outside the bytes they are given, whatever the object's BTF says. libbpf
 * accepts BTF whose struct members lie outside the struct, arrays too large to have a size,
 * and 4-byte pointers; a hostile policy object can carry such types for its maps. Parsing is
 * refused with a message, formatting shows '?', and guard bytes after the buffer stay intact
 * (ASan builds also see any stray access).
 */
#include "test.h"

#include "rt_btf_value.h"

#include <bpf/btf.h>

#define GUARD 64

/* A buffer of n bytes followed by GUARD bytes of 0xee. */
static unsigned char *guarded(size_t n)
{
    unsigned char *b = malloc(n + GUARD);
    CHECK(b);
    memset(b, 0xee, n + GUARD);
    return b;
}

/* rt_btf_parse keeps the first message in log (as the public wrappers do): start empty. */
static int parse(const struct btf *b, int type, const char *text, void *out, size_t size, char *log,
                 size_t log_size)
{
    log[0] = '\0';
    return rt_btf_parse(b, (uint32_t)type, text, out, size, log, log_size);
}

static void check_guard(const unsigned char *b, size_t n)
{
    for (size_t i = n; i < n + GUARD; i++)
        CHECK_MSG(b[i] == 0xee, "byte %zu past the %zu-byte buffer was written", i - n, n);
}

int main(void)
{
    struct btf *b = btf__new_empty();
    CHECK(b);
    int u64 = btf__add_int(b, "u64", 8, 0);
    /* struct far { u64 x @ byte 4096 } of size 8 */
    int far = btf__add_struct(b, "far", 8);
    CHECK_EQ(btf__add_field(b, "x", u64, 8 * 4096, 0), 0);
    /* struct huge { u64 a[0xffffffff] } of size 16: the array has no size libbpf can resolve */
    int arr = btf__add_array(b, u64, u64, 0xffffffffu);
    int huge = btf__add_struct(b, "huge", 16);
    CHECK_EQ(btf__add_field(b, "a", arr, 0, 0), 0);
    /* struct bits { u64 y : 8 @ bit 60 } of size 8: the bitfield crosses the end */
    int bits = btf__add_struct(b, "bits", 8);
    CHECK_EQ(btf__add_field(b, "y", u64, 60, 8), 0);
    CHECK(far > 0 && arr > 0 && huge > 0 && bits > 0);

    char log[256], text[256];
    unsigned char *buf = guarded(8);

    CHECK_EQ(parse(b, far, "{x=0x4141414141414141}", buf, 8, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "a field of the value lies outside it (bytes 4096..4096 of 8)");
    check_guard(buf, 8);
    CHECK(rt_btf_format(b, far, buf, 8, text, sizeof(text)) > 0);
    CHECK_MSG(!strcmp(text, "{x=?}"), "formatted \"%s\"", text);

    free(buf);
    buf = guarded(16);
    CHECK_EQ(parse(b, huge, "{a=[1,2,3]}", buf, 16, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "does not fit in its 16 bytes: damaged BTF");
    check_guard(buf, 16);
    CHECK(rt_btf_format(b, huge, buf, 16, text, sizeof(text)) > 0);
    CHECK_MSG(!strcmp(text, "{a=?}"), "formatted \"%s\"", text);

    free(buf);
    buf = guarded(8);
    CHECK_EQ(parse(b, bits, "{y=255}", buf, 8, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "lies outside it (bytes 7..9 of 8)");
    check_guard(buf, 8);

    /* A type id the BTF does not have (fuzzer-found: a knob whose VAR names a missing type
     * made the formatter dereference NULL) is handled as raw bytes both ways. */
    free(buf);
    buf = guarded(8);
    memset(buf, 0, 8);
    CHECK_EQ(rt_btf_format(b, 9999, buf, 8, text, sizeof(text)), 1);
    CHECK_MSG(!strcmp(text, "0"), "formatted \"%s\"", text);
    CHECK_EQ(parse(b, 9999, "0x1234", buf, 8, log, sizeof(log)), 0);
    check_guard(buf, 8);

    /* A DATASEC whose variable names a missing type: selecting fields by name skips it. */
    int sec = btf__add_datasec(b, ".data", 8);
    CHECK_GT(sec, 0);
    CHECK_EQ(btf__add_datasec_var_info(b, 9999, 0, 8), 0);
    CHECK_EQ(parse(b, sec, "{v=1}", buf, 8, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "has no field 'v'");
    check_guard(buf, 8);

    /* Integers with impossible encodings (fuzzer-found: a bit offset of 249 was a shift past
     * 64 bits): shown as raw bytes; a bitfield wider than 64 bits is shown as '?' and refused. */
    int odd = btf__add_int(b, "odd", 8, 0);
    CHECK_GT(odd, 0);
    *(uint32_t *)(btf__type_by_id(b, odd) + 1) =
        (0u << 24) | (249u << 16) | 8u /* encoding, offset, bits */;
    int wide = btf__add_struct(b, "wide", 16);
    CHECK_EQ(btf__add_field(b, "w", u64, 0, 72), 0);
    free(buf);
    buf = guarded(16);
    memset(buf, 0, 16);
    CHECK(rt_btf_format(b, odd, buf, 8, text, sizeof(text)) > 0);
    CHECK_MSG(!strcmp(text, "0"), "formatted \"%s\"", text);
    CHECK(rt_btf_format(b, wide, buf, 16, text, sizeof(text)) > 0);
    CHECK_MSG(!strcmp(text, "{w=?}"), "formatted \"%s\"", text);
    CHECK_EQ(parse(b, wide, "{w=1}", buf, 16, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "a 72-bit bitfield of the value: damaged BTF");
    check_guard(buf, 16);

    /* A 4-byte pointer (BTF of a 32-bit target) is stored in 4 bytes, not 8. */
    struct btf *b32 = btf__new_empty();
    CHECK(b32);
    btf__set_pointer_size(b32, 4);
    int ptr = btf__add_ptr(b32, 0);
    CHECK_GT(ptr, 0);
    free(buf);
    buf = guarded(4);
    CHECK_EQ(parse(b32, ptr, "0x11223344", buf, 4, log, sizeof(log)), 0);
    check_guard(buf, 4);
    uint32_t v;
    memcpy(&v, buf, 4);
    CHECK_U64_EQ(v, 0x11223344);

    free(buf);
    btf__free(b32);
    btf__free(b);
    printf("damaged BTF: ok\n");
    return 0;
}
