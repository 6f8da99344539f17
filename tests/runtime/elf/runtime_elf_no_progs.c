/* An object whose only code is in .text has no program: refused. */
#include "elf_common.h"

int main(void)
{
    char log[512] = "";
    bpfmm_rt_obj_t *obj = elf_open("noprog", log, sizeof(log));
    CHECK(obj == NULL);
    CHECK_EQ(errno, ENOENT);
    CHECK_STR_CONTAINS(log, "no programs");
    printf("%s\n", log);
    return 0;
}
