/* An object built without -g has no .BTF: refused with the message telling to add -g. */
#include "elf_common.h"

int main(void)
{
    char log[512] = "";
    bpfmm_rt_obj_t *obj = elf_open("nodebug", log, sizeof(log));
    CHECK(obj == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_STR_CONTAINS(log, "nodebug.bpf.o: ");
    CHECK_STR_CONTAINS(log, "built without -g; rebuild with clang -g");
    printf("%s\n", log);
    return 0;
}
