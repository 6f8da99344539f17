/* `policy run --set` parsing: every field kind, and clear errors for bad input. */
#include "policy_test.h"

static void set_ok(struct bpfmm_thp_ctx *c, const char *a)
{
    char err[256] = "";
    if (bpfmm_policy_ctx_set(c, a, err, sizeof(err)))
        TEST_FAIL("--set %s failed: %s", a, err);
}

static void set_bad(struct bpfmm_thp_ctx *c, const char *a, const char *expect)
{
    char err[256] = "";
    struct bpfmm_thp_ctx before = *c;
    CHECK_EQ(bpfmm_policy_ctx_set(c, a, err, sizeof(err)), -EINVAL);
    CHECK_STR_CONTAINS(err, expect);
    CHECK(!memcmp(&before, c, sizeof(before))); /* a failed --set changes nothing */
}

int main(void)
{
    struct bpfmm_thp_ctx c;
    bpfmm_policy_ctx_init(&c, BPFMM_THP_PAGEFAULT);
    CHECK_EQ(c.size, sizeof(c));
    CHECK_EQ(c.abi_version, BPFMM_THP_ABI_VERSION);
    CHECK_EQ(c.pmd_order, 9);
    CHECK(c.orders & PMD);
    CHECK(c.now_ns != 0);

    set_ok(&c, "type=forced_collapse");
    CHECK_EQ(c.type, BPFMM_THP_FORCED_COLLAPSE);
    set_ok(&c, "type=FORCED-COLLAPSE");
    CHECK_EQ(c.type, BPFMM_THP_FORCED_COLLAPSE);
    set_ok(&c, "orders=2M,64K");
    CHECK_U64_EQ(c.orders, PMD | BPFMM_ORDER(4));
    set_ok(&c, "orders=9,2");
    CHECK_U64_EQ(c.orders, PMD | BPFMM_ORDER(2));
    set_ok(&c, "orders=0x10");
    CHECK_U64_EQ(c.orders, BPFMM_ORDER(4));
    set_ok(&c, "vma_flags=anon|write|hugepage");
    CHECK_U64_EQ(c.vma_flags, BPFMM_VMA_ANON | BPFMM_VMA_WRITE | BPFMM_VMA_HUGEPAGE);
    set_ok(&c, "nr_present=300");
    CHECK_EQ(c.nr_present, 300);
    set_ok(&c, "vma_resident=1G");
    CHECK_U64_EQ(c.vma_resident, 1ull << 30);
    set_ok(&c, "address=0x7f0000200000");
    CHECK_U64_EQ(c.address, 0x7f0000200000ull);
    set_ok(&c, "comm=postgres");
    CHECK(!strcmp(c.comm, "postgres"));
    set_ok(&c, "name=[anon:jemalloc]");
    CHECK(!strcmp(c.name, "[anon:jemalloc]"));

    set_bad(&c, "nr_present", "FIELD=VALUE");
    set_bad(&c, "bogus=1", "no ctx field 'bogus'");
    set_bad(&c, "size=4", "set by the host");
    set_bad(&c, "type=sometimes", "unknown type");
    set_bad(&c, "orders=3M", "expected sizes");
    set_bad(&c, "vma_flags=anon|purple", "expected names");
    set_bad(&c, "nr_present=-1", "non-negative");
    set_bad(&c, "nr_present=4294967296", "out of range");
    set_bad(&c, "comm=a-name-longer-than-15", "longer than 15");
    set_bad(&c, "vma_resident=12Q", "expected a size");

    /* The one size syntax of every option: decimal (never octal) or 0x-hex, K/M/G/T with an
     * optional B or iB. */
    uint64_t sz = 0;
    CHECK_EQ(bpfmm_policy_parse_size("010M", &sz), 0);
    CHECK_U64_EQ(sz, 10ull << 20);
    CHECK_EQ(bpfmm_policy_parse_size("0x10", &sz), 0);
    CHECK_U64_EQ(sz, 16);
    CHECK_EQ(bpfmm_policy_parse_size("2MiB", &sz), 0);
    CHECK_U64_EQ(sz, 2ull << 20);
    CHECK_EQ(bpfmm_policy_parse_size("64kb", &sz), 0);
    CHECK_U64_EQ(sz, 64ull << 10);
    CHECK_EQ(bpfmm_policy_parse_size("1T", &sz), 0);
    CHECK_U64_EQ(sz, 1ull << 40);
    CHECK_EQ(bpfmm_policy_parse_size("0", &sz), 0);
    CHECK_U64_EQ(sz, 0);
    sz = 7;
    CHECK_EQ(bpfmm_policy_parse_size("", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size("-1", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size(" 1", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size("0x", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size("12Q", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size("2Mx", &sz), -EINVAL);
    CHECK_EQ(bpfmm_policy_parse_size("16777216T", &sz), -ERANGE);
    CHECK_EQ(bpfmm_policy_parse_size("99999999999999999999", &sz), -ERANGE);
    CHECK_U64_EQ(sz, 7); /* untouched on failure */

    char buf[64];
    bpfmm_policy_format_orders(PMD | BPFMM_ORDER(4) | BPFMM_ORDER(2), buf, sizeof(buf));
    CHECK(!strcmp(buf, "2M 64K 16K"));
    bpfmm_policy_format_orders(0, buf, sizeof(buf));
    CHECK(!strcmp(buf, "none"));
    bpfmm_policy_format_orders(BPFMM_ORDER(18), buf, sizeof(buf));
    CHECK(!strcmp(buf, "1G"));
    return 0;
}
