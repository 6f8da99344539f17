/*
 * bpfmm-bpf-plugin: runs one program for the public bpf_conformance runner.
 *
 *     bpfmm-bpf-plugin [MEM_HEX] [--elf] [--program NAME]
 *
 * The program arrives on stdin as space-separated hex bytes (raw 8-byte instructions, or with
 * --elf an ELF object); MEM_HEX is the memory r1 points to (r2 holds its length, the runtime's
 * compat mode). Prints r0 in hex and exits 0, or prints the reason on stderr and exits 1.
 * Helper 5 returns its first argument (the corpus's call_unwind_fail relies on it; host helpers
 * override built-ins). Raw programs go straight to the VM (rt_vm.h); ELF objects go through the
 * public loader API. Owns the protocol only.
 */
#include "rt_vm.h"

#include <bpfmm/runtime.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t unwind(void *host, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    return a1;
}

static const struct bpfmm_rt_helper helpers[] = {
    {.id = 5, .name = "conformance_unwind", .nr_args = 1, .fn = unwind},
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses hex bytes separated by optional whitespace ("b7 00 ..." or "b700..."). */
static int parse_hex(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(len / 2 + 8);
    size_t n = 0;
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < len;) {
        if (isspace((unsigned char)text[i])) {
            i++;
            continue;
        }
        int hi = hexval((unsigned char)text[i]);
        int lo = i + 1 < len ? hexval((unsigned char)text[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
            free(buf);
            return -EINVAL;
        }
        buf[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: bpfmm-bpf-plugin [MEM_HEX] [--elf] [--program NAME] < PROGRAM_HEX\n"
                    "Runs a BPF program (raw instructions or, with --elf, an ELF object) with r1\n"
                    "pointing to MEM_HEX and r2 holding its length; prints r0 in hex.\n");
}

static int run_raw(const uint8_t *code, size_t code_len, uint8_t *mem, size_t mem_len, uint64_t *r0)
{
    if (code_len % 8) {
        fprintf(stderr, "bpfmm-bpf-plugin: the program is %zu bytes, not a multiple of 8\n",
                code_len);
        return -1;
    }
    char log[512] = "";
    struct rt_prog_src src = {
        .name = "conformance",
        .insns = (const struct bpf_insn *)code,
        .nr_insns = (uint32_t)(code_len / 8),
    };
    struct rt_vm_opts opts = {
        .host_helpers = helpers,
        .nr_host_helpers = 1,
        .flags = BPFMM_RT_LOAD_COMPAT,
        .log = log,
        .log_size = sizeof(log),
    };
    if (code_len / 8 > UINT32_MAX) {
        fprintf(stderr, "bpfmm-bpf-plugin: program too large\n");
        return -1;
    }
    struct rt_vm_prog *p = rt_vm_prepare(&src, &opts);
    if (!p) {
        fprintf(stderr, "bpfmm-bpf-plugin: rejected: %s\n", log[0] ? log : strerror(errno));
        return -1;
    }
    struct bpfmm_rt_fault fault;
    int err = rt_vm_run(p, mem, mem_len, NULL, r0, NULL, &fault);
    rt_vm_free(p);
    if (err) {
        if (err == -EFAULT)
            fprintf(stderr, "bpfmm-bpf-plugin: fault at insn %u: %s\n", fault.insn, fault.msg);
        else
            fprintf(stderr, "bpfmm-bpf-plugin: run failed: %s\n", strerror(-err));
        return -1;
    }
    return 0;
}

static int run_elf(const uint8_t *obj_bytes, size_t obj_len, const char *prog_name, uint8_t *mem,
                   size_t mem_len, uint64_t *r0)
{
    char log[1024] = "";
    struct bpfmm_rt_open_opts oo = {
        .sz = sizeof(oo), .name = "conformance", .log_buf = log, .log_size = sizeof(log)};
    bpfmm_rt_obj_t *obj = bpfmm_rt_obj_open_mem(obj_bytes, obj_len, &oo);
    if (!obj) {
        fprintf(stderr, "bpfmm-bpf-plugin: cannot open the ELF object: %s\n",
                log[0] ? log : strerror(errno));
        return -1;
    }
    struct bpfmm_rt_load_opts lo = {
        .sz = sizeof(lo),
        .helpers = helpers,
        .nr_helpers = 1,
        .flags = BPFMM_RT_LOAD_COMPAT,
        .log_buf = log,
        .log_size = sizeof(log),
    };
    int err = bpfmm_rt_obj_load(obj, &lo);
    if (err) {
        fprintf(stderr, "bpfmm-bpf-plugin: rejected: %s\n", log[0] ? log : strerror(-err));
        bpfmm_rt_obj_close(obj);
        return -1;
    }
    bpfmm_rt_prog_t *prog = NULL;
    if (prog_name) {
        prog = bpfmm_rt_obj_find_prog(obj, prog_name);
        if (!prog)
            fprintf(stderr, "bpfmm-bpf-plugin: no program named '%s' in the object\n", prog_name);
    } else if (bpfmm_rt_obj_prog_count(obj) == 1) {
        prog = bpfmm_rt_obj_prog(obj, 0);
    } else {
        fprintf(stderr,
                "bpfmm-bpf-plugin: the object has %u programs; name one with --program NAME\n",
                bpfmm_rt_obj_prog_count(obj));
    }
    if (!prog) {
        bpfmm_rt_obj_close(obj);
        return -1;
    }
    struct bpfmm_rt_fault fault;
    err = bpfmm_rt_prog_run(prog, mem, mem_len, NULL, r0, &fault);
    if (err == -EFAULT)
        fprintf(stderr, "bpfmm-bpf-plugin: fault at insn %u: %s\n", fault.insn, fault.msg);
    else if (err)
        fprintf(stderr, "bpfmm-bpf-plugin: run failed: %s\n", strerror(-err));
    bpfmm_rt_obj_close(obj);
    return err ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *mem_hex = NULL, *prog_name = NULL;
    bool elf = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--elf")) {
            elf = true;
        } else if (!strcmp(argv[i], "--program") && i + 1 < argc) {
            prog_name = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "bpfmm-bpf-plugin: unknown option '%s'\n", argv[i]);
            usage();
            return 1;
        } else if (!mem_hex) {
            mem_hex = argv[i];
        } else {
            fprintf(stderr, "bpfmm-bpf-plugin: unexpected argument '%s'\n", argv[i]);
            usage();
            return 1;
        }
    }

    uint8_t *mem_bytes = NULL, *code = NULL;
    size_t mem_len = 0, code_len = 0, text_len = 0;
    if (mem_hex && parse_hex(mem_hex, strlen(mem_hex), &mem_bytes, &mem_len)) {
        fprintf(stderr, "bpfmm-bpf-plugin: memory argument is not hex bytes\n");
        return 1;
    }
    char *text = read_stdin(&text_len);
    if (!text || parse_hex(text, text_len, &code, &code_len)) {
        fprintf(stderr, "bpfmm-bpf-plugin: the program on stdin is not hex bytes\n");
        free(text);
        free(mem_bytes);
        return 1;
    }
    free(text);

    /* The memory r1 points to: 8-byte aligned, never NULL even when empty. */
    uint8_t *mem = aligned_alloc(8, (mem_len + 8) & ~(size_t)7);
    if (!mem) {
        fprintf(stderr, "bpfmm-bpf-plugin: out of memory\n");
        return 1;
    }
    if (mem_len)
        memcpy(mem, mem_bytes, mem_len);
    free(mem_bytes);

    uint64_t r0 = 0;
    int rc = elf ? run_elf(code, code_len, prog_name, mem, mem_len, &r0)
                 : run_raw(code, code_len, mem, mem_len, &r0);
    free(code);
    free(mem);
    if (rc)
        return 1;
    printf("0x%" PRIx64 "\n", r0);
    return 0;
}
