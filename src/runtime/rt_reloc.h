/*
 * Programs and relocation: finds the programs of an ELF object (libbpf rules: every global
 * function in an executable section other than .text), appends the sub-programs each one calls
 * (transitively), and applies R_BPF_64_64 (maps, global data) and R_BPF_64_32 (bpf-to-bpf
 * calls) to produce the instruction stream rt_vm.h describes. Needs the object's maps already
 * created (indices, .maps offsets, global-data sections); knows nothing of their memory.
 */
#ifndef BPFMM_RT_RELOC_H
#define BPFMM_RT_RELOC_H

#include "rt_elf.h"
#include "rt_obj.h"

#define RT_PROG_MAX_INSNS (1u << 20)

int rt_reloc_build_progs(struct bpfmm_rt_obj *obj, const struct rt_elf *e, char *log,
                         size_t log_size);

#endif
