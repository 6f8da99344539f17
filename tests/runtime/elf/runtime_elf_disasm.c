/* Disassembly of a relocated program: one line per instruction with its index, function names
 * at their first instruction (the program and each appended sub-program). */
#include "elf_common.h"

#include "rt_obj.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("calls");
    bpfmm_rt_prog_t *p = bpfmm_rt_obj_find_prog(obj, "first");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    CHECK_EQ(bpfmm_rt_prog_disasm(p, f), 0);
    fclose(f);
    printf("%s", text);
    CHECK(strncmp(text, "first:\n", 7) == 0);
    CHECK_STR_CONTAINS(text, "\nmiddle:\n");
    CHECK_STR_CONTAINS(text, "\nleaf:\n");
    CHECK_STR_CONTAINS(text, "\nglobal_fn:\n");
    CHECK_STR_CONTAINS(text, "     0: ");
    /* Numbered lines: from 0, each the next instruction (lddw takes two), covering all. */
    const struct bpfmm_rt_prog *ip = p;
    uint32_t expect = 0;
    unsigned lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned idx;
        if (sscanf(line, "%u: ", &idx) != 1)
            continue; /* a function name */
        CHECK_EQ(idx, expect);
        expect = idx + (ip->insns[idx].code == 0x18 ? 2 : 1);
        lines++;
    }
    CHECK_EQ(expect, bpfmm_rt_prog_insn_count(p));
    CHECK_GT(lines, 10);
    free(text);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
