/* Load-time errors: a verifier rejection fails the whole load with the program's name and the
 * VM's message, leaves the object unloaded (runs refused, knobs still settable), and a second
 * attempt behaves the same. Runs every open error path too, so the ASan build checks that no
 * path leaks. */
#include "elf_common.h"

int main(void)
{
    /* r0 = *(u64 *)(r1 + 4096): past a 16-byte ctx. */
    uint64_t insns[] = {
        0x0000000010001079ull, /* r0 = *(u64 *)(r1 + 0x1000) */
        0x0000000000000095ull, /* exit */
    };
    char log[1024] = "";
    struct bpfmm_rt_open_opts oo = {
        .sz = sizeof(oo), .name = "raw", .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_insns(insns, sizeof(insns), &oo);
    CHECK(obj);
    for (int attempt = 0; attempt < 2; attempt++) {
        int err = elf_load(obj, 16, NULL, NULL, log, sizeof(log));
        CHECK_EQ(err, -EINVAL);
        CHECK_STR_CONTAINS(log, "raw: program 'main': ");
        CHECK_STR_CONTAINS(log, "insn 0");
        CHECK(!bpfmm_rt_obj_is_loaded(obj));
    }
    printf("%s\n", log);
    uint64_t ctx[2] = {0};
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, 0), ctx, sizeof(ctx), NULL, NULL, NULL),
             -EINVAL);
    bpfmm_rt_obj_close(obj);

    /* The same program loads and runs with a ctx that is large enough. */
    obj = bpfmm_rt_obj_open_insns(insns, sizeof(insns), &oo);
    CHECK(obj);
    int err = elf_load(obj, 4096 + 8, NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    unsigned char *big = calloc(1, 4096 + 8);
    CHECK(big);
    big[4096] = 0x5a;
    uint64_t r0 = 0;
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, 0), big, 4096 + 8, NULL, &r0, NULL), 0);
    CHECK_EQ(r0, 0x5a);
    free(big);
    bpfmm_rt_obj_close(obj);

    /* Every open error path, repeatedly (leaks show up under ASan). */
    const char *bad[] = {"nodebug", "ringbuf", "extern", "noprog"};
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < 4; i++) {
            log[0] = '\0';
            CHECK(elf_open(bad[i], log, sizeof(log)) == NULL);
            CHECK(log[0]);
        }
    /* Open, load, close of every good object. */
    const char *good[] = {"maps", "globals", "calls", "concurrent"};
    for (unsigned i = 0; i < 4; i++) {
        obj = elf_open_ok(good[i]);
        err = elf_load(obj, 64, NULL, NULL, log, sizeof(log));
        CHECK_MSG(err == 0, "%s: %s", good[i], log);
        bpfmm_rt_obj_close(obj);
    }
    printf("ok\n");
    return 0;
}
