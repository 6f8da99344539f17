/* Keys and values as text, driven by BTF: integers, char arrays as strings, structs as
 * {a=1,b=2}, round trips through parse and format, and clear errors for bad text. Global data
 * formats as its DATASEC ({var=value,...}). */
#include "elf_common.h"

#include "elf_test.h"

int main(void)
{
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    bpfmm_rt_map_t *names = bpfmm_rt_obj_find_map(obj, "names");
    bpfmm_rt_map_t *hash = bpfmm_rt_obj_find_map(obj, "hash");
    char log[256], buf[256];
    struct name_key key;
    struct pair val;

    CHECK_EQ(bpfmm_rt_map_parse_key(names, "\"bash\"", &key, log, sizeof(log)), 0);
    CHECK(strcmp(key.name, "bash") == 0);
    CHECK_EQ(bpfmm_rt_map_parse_key(names, "{name=firefox}", &key, log, sizeof(log)), 0);
    CHECK(strcmp(key.name, "firefox") == 0);
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{a=0x10, c=3, b=2}", &val, log, sizeof(log)), 0);
    CHECK_EQ(val.a, 16);
    CHECK_EQ(val.b, 2);
    CHECK_EQ(val.c, 3);
    CHECK_GT(bpfmm_rt_map_format_key(names, &key, buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "{name=\"firefox\"}") == 0);
    CHECK_GT(bpfmm_rt_map_format_value(names, &val, buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "{a=16,b=2,c=3}") == 0);
    /* Round trip. */
    struct pair back;
    CHECK_EQ(bpfmm_rt_map_parse_value(names, buf, &back, log, sizeof(log)), 0);
    CHECK(memcmp(&back, &val, sizeof(val)) == 0);
    /* Positional. */
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{1,2,3}", &val, log, sizeof(log)), 0);
    CHECK(val.a == 1 && val.b == 2 && val.c == 3);

    /* Errors. */
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{d=1}", &val, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "has no field 'd'");
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{b=4294967296}", &val, log, sizeof(log)), -ERANGE);
    CHECK_STR_CONTAINS(log, "out of range");
    CHECK_EQ(bpfmm_rt_map_parse_key(names, "\"a-name-longer-than-16\"", &key, log, sizeof(log)),
             -EINVAL);
    CHECK_STR_CONTAINS(log, "longer than the 16-byte array");
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{1,2,3,4}", &val, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "too many values");
    CHECK_EQ(bpfmm_rt_map_parse_value(names, "{a=1} x", &val, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "trailing text");

    /* Integers: any base, and range checks against the u32 key. */
    uint32_t k;
    CHECK_EQ(bpfmm_rt_map_parse_key(hash, "0x20", &k, log, sizeof(log)), 0);
    CHECK_EQ(k, 32);
    CHECK_EQ(bpfmm_rt_map_parse_key(hash, "010", &k, log, sizeof(log)), 0);
    CHECK_EQ(k, 8);
    CHECK_EQ(bpfmm_rt_map_parse_key(hash, "0b101", &k, log, sizeof(log)), 0);
    CHECK_EQ(k, 5);
    CHECK_EQ(bpfmm_rt_map_parse_key(hash, "-1", &k, log, sizeof(log)), -ERANGE);
    CHECK_EQ(bpfmm_rt_map_parse_key(hash, "12abc", &k, log, sizeof(log)), -EINVAL);
    CHECK_STR_CONTAINS(log, "not an integer");
    k = 4000000000u;
    CHECK_GT(bpfmm_rt_map_format_key(hash, &k, buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "4000000000") == 0);
    /* Truncation is reported. */
    CHECK_EQ(bpfmm_rt_map_format_key(names, &key, buf, 4), -ENOSPC);
    CHECK_EQ(strlen(buf), 3);
    bpfmm_rt_obj_close(obj);

    /* Global data: the DATASEC of .data. */
    obj = elf_open_ok("globals");
    bpfmm_rt_map_t *data = bpfmm_rt_obj_find_map(obj, ".data");
    uint64_t counter = 100;
    CHECK_GT(bpfmm_rt_map_format_value(data, &counter, buf, sizeof(buf)), 0);
    CHECK(strcmp(buf, "{counter=100}") == 0);
    CHECK_EQ(bpfmm_rt_map_parse_value(data, "{counter=7}", &counter, log, sizeof(log)), 0);
    CHECK_EQ(counter, 7);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
