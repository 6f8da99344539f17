/* A policy that reads past the ctx the host provides is rejected at load, and the message
 * names the offset. */
#include "policy_test.h"

int main(void)
{
    char path[4096], log[4096] = "";
    snprintf(path, sizeof(path), "%s/tests/policy/ctx_oob.bpf.o", test_build_dir());
    struct bpfmm_policy_opts o = {.sz = sizeof(o), .log_buf = log, .log_size = sizeof(log)};
    CHECK(bpfmm_policy_open(path, &o) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_STR_CONTAINS(log, "insn ");
    CHECK_STR_CONTAINS(log, "208");
    return 0;
}
