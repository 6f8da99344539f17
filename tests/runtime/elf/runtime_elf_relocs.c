/* The relocated instruction stream (rt_vm.h conventions), checked instruction by instruction:
 * lddw of a map -> src 5 + map index; lddw of a global -> src 6 + map index + offset (named
 * variables and section-relative string literals); bpf-to-bpf calls -> sub-programs appended
 * after the program (nested calls included, each program with its own copy of shared .text
 * functions) and call imm = target - (pc + 1). */
#include "elf_common.h"

#include "rt_obj.h"

#include <linux/bpf.h>

static const struct rt_sym *sym_named(const struct bpfmm_rt_prog *p, const char *name)
{
    for (uint32_t i = 0; i < p->nr_syms; i++)
        if (strcmp(p->syms[i].name, name) == 0)
            return &p->syms[i];
    return NULL;
}

static void check_calls(const struct bpfmm_rt_prog *p, unsigned want_calls)
{
    unsigned calls = 0;
    for (uint32_t i = 0; i < p->nr_insns; i++) {
        const struct bpf_insn *in = &p->insns[i];
        if (in->code != (BPF_JMP | BPF_CALL) || in->src_reg != BPF_PSEUDO_CALL)
            continue;
        int64_t t = (int64_t)i + in->imm + 1;
        bool at_sym = false;
        for (uint32_t s = 0; s < p->nr_syms; s++)
            at_sym |= p->syms[s].insn == t;
        CHECK_MSG(at_sym, "%s: call at %u targets %lld, not a function start", p->name, i,
                  (long long)t);
        calls++;
    }
    CHECK_EQ(calls, want_calls);
}

int main(void)
{
    /* Maps: every lddw of a map is src 5 with the map's index. */
    bpfmm_rt_obj_t *obj = elf_open_ok("maps");
    struct bpfmm_rt_prog *p = obj->progs[0];
    unsigned seen[4] = {0};
    for (uint32_t i = 0; i < p->nr_insns; i++) {
        const struct bpf_insn *in = &p->insns[i];
        if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
            continue;
        CHECK_EQ(in->src_reg, BPF_PSEUDO_MAP_IDX);
        CHECK(in->imm >= 0 && in->imm < 3); /* array, hash, lru (names is host-only) */
        CHECK_EQ(p->insns[i + 1].imm, 0);
        seen[in->imm]++;
        i++;
    }
    CHECK(seen[0] && seen[1] && seen[2]);
    CHECK_EQ(seen[3], 0);
    bpfmm_rt_obj_close(obj);

    /* Globals: src 6, map index of the section, offset of the variable or literal. */
    obj = elf_open_ok("globals");
    p = obj->progs[0];
    bpfmm_rt_map_t *ro = bpfmm_rt_obj_find_map(obj, ".rodata");
    bpfmm_rt_map_t *data = bpfmm_rt_obj_find_map(obj, ".data");
    bpfmm_rt_map_t *bss = bpfmm_rt_obj_find_map(obj, ".bss");
    bpfmm_rt_map_t *str = bpfmm_rt_obj_find_map(obj, ".rodata.str1.1");
    CHECK(str && bpfmm_rt_map_is_global(str));
    unsigned n_ro = 0, n_data = 0, n_bss = 0, n_fmt = 0, n_str = 0;
    for (uint32_t i = 0; i < p->nr_insns; i++) {
        const struct bpf_insn *in = &p->insns[i];
        if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
            continue;
        CHECK_EQ(in->src_reg, BPF_PSEUDO_MAP_IDX_VALUE);
        uint32_t off = (uint32_t)p->insns[i + 1].imm;
        struct bpfmm_rt_map *m = obj->maps[in->imm];
        CHECK(m->rt.global);
        CHECK_LE(off, m->rt.value_size);
        if (m == ro) {
            n_ro++;
            const char *s = (const char *)ro->rt.global_data + off;
            if (strncmp(s, "knob %u", 7) == 0 || strncmp(s, "name %s", 7) == 0)
                n_fmt++;
        } else if (m == str) {
            CHECK(strcmp((const char *)str->rt.global_data + off, "direct %d") == 0);
            n_str++;
        } else if (m == data) {
            CHECK_EQ(off, 0); /* counter is the only .data variable */
            n_data++;
        } else if (m == bss) {
            CHECK(off == 0 || off == 8); /* calls, last_seen */
            n_bss++;
        }
        i++;
    }
    CHECK(n_ro && n_data && n_bss);
    CHECK_EQ(n_fmt, 2); /* both printk formats resolved to their bytes in .rodata */
    CHECK_EQ(n_str, 1);
    bpfmm_rt_obj_close(obj);

    /* Calls: first -> middle -> leaf, first -> global_fn; second -> leaf, global_fn. */
    obj = elf_open_ok("calls");
    struct bpfmm_rt_prog *first = (struct bpfmm_rt_prog *)bpfmm_rt_obj_find_prog(obj, "first");
    struct bpfmm_rt_prog *second = (struct bpfmm_rt_prog *)bpfmm_rt_obj_find_prog(obj, "second");
    CHECK(first && second);
    CHECK(strcmp(first->section, "bpfmm/first") == 0);
    CHECK_EQ(first->nr_syms, 4);
    CHECK(strcmp(first->syms[0].name, "first") == 0 && first->syms[0].insn == 0);
    CHECK(sym_named(first, "middle") && sym_named(first, "leaf") && sym_named(first, "global_fn"));
    CHECK_EQ(second->nr_syms, 3);
    CHECK(sym_named(second, "leaf") && sym_named(second, "global_fn"));
    CHECK(sym_named(second, "middle") == NULL);
    for (uint32_t s = 1; s < first->nr_syms; s++)
        CHECK_GT(first->syms[s].insn, first->syms[s - 1].insn);
    check_calls(first, 3);
    check_calls(second, 2);
    /* The copies of leaf are identical code apart from its own relocations. */
    const struct rt_sym *l1 = sym_named(first, "leaf"), *l2 = sym_named(second, "leaf");
    CHECK_EQ(first->insns[l1->insn].code, second->insns[l2->insn].code);
    bpfmm_rt_obj_close(obj);
    printf("ok\n");
    return 0;
}
