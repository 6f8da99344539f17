/*
 * libFuzzer target over the policy runtime's loader, verifier and interpreter. The first input
 * byte picks the front door: even = an ELF object (opened, loaded against the THP ctx, every
 * program run); odd = raw instructions, loaded in conformance mode with a 64-byte memory buffer
 * (bit 1 clear), or (bit 1 set) in place of the program of template.bpf.c, an object with an
 * array, a hash and an LRU map and global data, against the read-only THP ctx - so the rules
 * about maps, lookup results, global data and described ctx meet arbitrary code. Every object
 * also goes through the text paths hosts use on maps and knobs (text_paths). Inputs are never
 * trusted: any crash, sanitizer report or leak is a bug in the runtime. Built with clang by
 * tests/runtime/fuzz/CMakeLists.txt, with the interpreter audit (BPFMM_INTERP_AUDIT), so an
 * access the verifier proved but that leaves the run's regions aborts even inside map memory
 * ASan cannot see; seeds come from make_seeds.c.
 */
#include <bpfmm/policy.h>
#include <bpfmm/runtime.h>

#include "rt_obj.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* template.bpf.o's bytes (FUZZ_TEMPLATE is its path, set by CMakeLists.txt). */
static unsigned char *tmpl;
static size_t tmpl_size;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f = fopen(FUZZ_TEMPLATE, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_runtime: cannot open the map template %s\n", FUZZ_TEMPLATE);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    tmpl = malloc((size_t)n);
    if (!tmpl || fread(tmpl, 1, (size_t)n, f) != (size_t)n)
        abort();
    tmpl_size = (size_t)n;
    fclose(f);
    return 0;
}

/* The template object with its program's instructions replaced by insns (n of them). */
static bpfmm_rt_obj_t *open_template(const uint8_t *insns, size_t n, struct bpfmm_rt_open_opts *oo)
{
    if (n == 0 || n > 4096)
        return NULL;
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(tmpl, tmpl_size, oo);
    if (!obj)
        abort(); /* the template itself must always open */
    struct bpfmm_rt_prog *p = obj->progs[0];
    struct bpf_insn *copy = malloc(n * sizeof(*copy));
    if (!copy) {
        bpfmm_rt_obj_close(obj);
        return NULL;
    }
    memcpy(copy, insns, n * sizeof(*copy));
    free(p->insns);
    p->insns = copy;
    p->nr_insns = (uint32_t)n;
    p->nr_syms = 1; /* one function, at instruction 0 */
    return obj;
}

static const struct bpfmm_rt_ctx_desc mem_desc = {.name = "memory", .size = 64, .writable = true};

static void run_all(bpfmm_rt_obj_t *obj, size_t ctx_size, const uint8_t *seed, size_t seed_len)
{
    /* Exactly ctx_size bytes, so ASan sees any access one byte past the ctx. */
    uint8_t *ctx = malloc(ctx_size);
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx_size; i++)
        ctx[i] = seed_len ? seed[i % seed_len] : (uint8_t)i;
    for (unsigned i = 0; i < bpfmm_rt_obj_prog_count(obj); i++) {
        uint64_t ret;
        struct bpfmm_rt_fault fault;
        bpfmm_rt_prog_run(bpfmm_rt_obj_prog(obj, i), ctx, ctx_size, NULL, &ret, &fault);
    }
    free(ctx);
}

/* The BTF-driven text paths a host uses on the object's maps and knobs (`bpfmm map`, --rodata):
 * format each knob and set it back, and format, parse and update every map's key and value -
 * with the object's (fuzzed) BTF deciding the layout. */
static void text_paths(bpfmm_rt_obj_t *obj, bool loaded)
{
    char text[512], log[256];
    const char *name;
    for (unsigned i = 0; !loaded && (name = bpfmm_rt_obj_knob_name(obj, i)); i++)
        if (bpfmm_rt_obj_get_rodata(obj, name, text, sizeof(text)) >= 0)
            bpfmm_rt_obj_set_rodata(obj, name, text, log, sizeof(log));
    for (unsigned i = 0; loaded && i < bpfmm_rt_obj_map_count(obj); i++) {
        bpfmm_rt_map_t *m = bpfmm_rt_obj_map(obj, i);
        size_t ks = bpfmm_rt_map_key_size(m), vs = bpfmm_rt_map_value_size(m);
        uint8_t *key = calloc(1, ks ? ks : 1), *val = calloc(1, vs ? vs : 1);
        if (key && val) {
            if (bpfmm_rt_map_format_key(m, key, text, sizeof(text)) >= 0)
                bpfmm_rt_map_parse_key(m, text, key, log, sizeof(log));
            if (bpfmm_rt_map_format_value(m, val, text, sizeof(text)) >= 0 &&
                !bpfmm_rt_map_parse_value(m, text, val, log, sizeof(log)))
                bpfmm_rt_map_update(m, key, val, 0);
        }
        free(key);
        free(val);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool raw = data[0] & 1, compat = raw && !(data[0] & 2);
    data++;
    size--;

    char log[2048];
    struct bpfmm_rt_open_opts oo = {.sz = sizeof(oo), .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = !raw     ? bpfmm_rt_obj_open_mem(data, size, &oo)
                          : compat ? bpfmm_rt_obj_open_insns(data, size & ~(size_t)7, &oo)
                                   : open_template(data, size / 8, &oo);
    if (!obj)
        return 0;
    struct bpfmm_rt_load_opts lo = {
        .sz = sizeof(lo),
        .ctx = compat ? &mem_desc : bpfmm_policy_ctx_desc(),
        .insn_budget = 20000, /* keep endless loops cheap */
        .flags = compat ? BPFMM_RT_LOAD_COMPAT : 0,
        .log_buf = log,
        .log_size = sizeof(log),
    };
    text_paths(obj, false);
    if (!bpfmm_rt_obj_load(obj, &lo)) {
        text_paths(obj, true);
        run_all(obj, compat ? mem_desc.size : sizeof(struct bpfmm_thp_ctx), data, size);
    }
    bpfmm_rt_obj_close(obj);
    return 0;
}
