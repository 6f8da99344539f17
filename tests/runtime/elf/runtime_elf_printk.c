/* String literals (in .rodata) reach bpf_trace_printk through the relocated lddw: the trace
 * callback receives the formatted messages, with the program name. */
#include "elf_common.h"

struct traces {
    char msg[4][128];
    char prog[32];
    int n;
};

static void trace(void *host, const char *prog, const char *msg)
{
    struct traces *t = host;
    if (t->n < 4)
        snprintf(t->msg[t->n++], sizeof(t->msg[0]), "%s", msg);
    snprintf(t->prog, sizeof(t->prog), "%s", prog);
}

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("globals");
    char log[512] = "";
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_name", "vim", log, sizeof(log)), 0);
    struct traces t = {0};
    int err = elf_load(obj, 0, trace, &t, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    CHECK_EQ(bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, 0), NULL, 0, NULL, NULL, NULL), 0);
    CHECK_EQ(t.n, 3);
    CHECK_STR_CONTAINS(t.msg[0], "knob 7 mode 1");
    CHECK_STR_CONTAINS(t.msg[1], "name vim");
    CHECK_STR_CONTAINS(t.msg[2], "direct 5");
    CHECK(strcmp(t.prog, "globals") == 0);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
