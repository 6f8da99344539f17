/* A map type bpfmm does not implement is refused by name. */
#include "elf_common.h"

int main(void)
{
    char log[512] = "";
    bpfmm_rt_obj_t *obj = elf_open("ringbuf", log, sizeof(log));
    CHECK(obj == NULL);
    CHECK_EQ(errno, EOPNOTSUPP);
    CHECK_STR_CONTAINS(log, "map 'events': map type BPF_MAP_TYPE_RINGBUF (27) is not supported");
    printf("%s\n", log);
    return 0;
}
