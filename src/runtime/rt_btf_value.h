/*
 * Text <-> bytes for map keys, map values and .rodata knobs, driven by BTF: integers (any C
 * base, 0b binary, range-checked), bool, enums by name, char arrays as strings, other arrays
 * as [a,b], structs/unions/DATASECs as {name=value,...}. Without BTF (type id 0) a value of
 * 1, 2, 4 or 8 bytes is an unsigned integer and anything else a list of hex bytes.
 * Owns only the textual syntax (formatting in rt_btf_value.c, parsing in rt_btf_parse.c); knobs
 * (rt_rodata.c) and maps (rt_api_map.c) call it.
 */
#ifndef BPFMM_RT_BTF_VALUE_H
#define BPFMM_RT_BTF_VALUE_H

#include <stddef.h>
#include <stdint.h>

struct btf;

/* Nesting of types followed at most (a damaged BTF may loop through arrays and structs). */
#define RT_BTF_MAX_DEPTH 16

/* Parses text as type_id (size bytes) into out (zero-filled first). 0 or -EINVAL/-ERANGE with
 * the reason in log. */
int rt_btf_parse(const struct btf *btf, uint32_t type_id, const char *text, void *out, size_t size,
                 char *log, size_t log_size);
/* Formats size bytes of type_id. Returns the length written, or -ENOSPC (buf truncated but
 * terminated). */
int rt_btf_format(const struct btf *btf, uint32_t type_id, const void *data, size_t size, char *buf,
                  size_t bufsize);

#endif
