/* const volatile knobs in .rodata: set by name before load, parsed per BTF type (integers in
 * any base with range checks, signed, bool, char array as string, enum by name); unknown names
 * list the knobs; after load set_rodata is refused (-EBUSY) and host updates of .rodata are
 * -EPERM with an explanation; the program sees the values it was verified with. */
#include "elf_common.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("globals");
    char log[512], buf[128];

    /* Knob listing and current values. */
    const char *names[] = {"knob_u32",  "knob_s8",   "knob_bool",
                           "knob_name", "knob_mode", "knob_u64"};
    for (unsigned i = 0; i < 6; i++)
        CHECK_MSG(bpfmm_rt_obj_knob_name(obj, i) &&
                      strcmp(bpfmm_rt_obj_knob_name(obj, i), names[i]) == 0,
                  "knob %u is %s", i, bpfmm_rt_obj_knob_name(obj, i));
    CHECK(bpfmm_rt_obj_knob_name(obj, 6) == NULL);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_u32", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "7") == 0);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_name", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "\"abc\"") == 0);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_mode", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "MODE_ON") == 0);

    /* Errors first: nothing changes. */
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "nope", "1", log, sizeof(log)), -ENOENT);
    CHECK_STR_CONTAINS(log, "no knob 'nope' in .rodata; knobs: knob_u32, knob_s8, knob_bool");
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u32", "4294967296", log, sizeof(log)), -ERANGE);
    CHECK_STR_CONTAINS(log, "knob 'knob_u32': 4294967296 out of range");
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u32", "-1", log, sizeof(log)), -ERANGE);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_s8", "128", log, sizeof(log)), -ERANGE);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_s8", "-129", log, sizeof(log)), -ERANGE);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_bool", "maybe", log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "expected true, false, 1 or 0");
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_name", "much-too-long", log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "longer than the 8-byte array");
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_mode", "MODE_BAD", log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "expected one of MODE_OFF, MODE_ON, MODE_AUTO");
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u32", "12junk", log, sizeof(log)), -EINVAL);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_u32", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "7") == 0);

    /* Good values, in several bases. */
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u32", "0x10", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_s8", "-128", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_bool", "true", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_name", "zsh", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_mode", "MODE_AUTO", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u64", "0xffffffffffffffff", log, sizeof(log)), 0);
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u64", "0b11", log, sizeof(log)), 0);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_name", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "\"zsh\"") == 0);
    CHECK_GT(bpfmm_rt_obj_get_rodata(obj, "knob_s8", buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "-128") == 0);

    log[0] = '\0';
    int err = elf_load(obj, 0, NULL, NULL, log, sizeof(log));
    CHECK_MSG(err == 0, "load: %s", log);
    CHECK(bpfmm_rt_obj_is_loaded(obj));
    uint64_t r0 = 0;
    struct bpfmm_rt_fault f;
    err = bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, 0), NULL, 0, NULL, &r0, &f);
    CHECK_MSG(err == 0, "run: %s", f.msg);
    /* knob_u32 16 + bool 1000 + s8 -128 + mode 7 * 100000 + u64 3 */
    CHECK_EQ((int64_t)r0, 16 + 1000 - 128 + 700000 + 3);

    /* Frozen after load. */
    CHECK_EQ(bpfmm_rt_obj_set_rodata(obj, "knob_u32", "1", log, sizeof(log)), -EBUSY);
    CHECK_STR_CONTAINS(log, "already loaded");
    bpfmm_rt_map_t *ro = bpfmm_rt_obj_find_map(obj, ".rodata");
    unsigned char val[256];
    CHECK_LE(bpfmm_rt_map_value_size(ro), sizeof(val));
    uint32_t zero = 0;
    CHECK_EQ(bpfmm_rt_map_lookup(ro, &zero, val), 0);
    CHECK_EQ(bpfmm_rt_map_update(ro, &zero, val, 0), -EPERM);
    CHECK_STR_CONTAINS(bpfmm_rt_map_strerror(ro, -EPERM), "read-only after load");
    /* .data stays writable from the host. */
    bpfmm_rt_map_t *data = bpfmm_rt_obj_find_map(obj, ".data");
    uint64_t c = 5;
    CHECK_EQ(bpfmm_rt_map_update(data, &zero, &c, 0), 0);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
