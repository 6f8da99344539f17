/*
 * smaps, smaps_rollup and clear_refs (see smaps.h). The parser is line-based: a line that
 * starts with a hex address range opens a VMA (parsed like a maps line), "Key: N kB" lines
 * fill known fields, "VmFlags:" gives the advice and special-mapping bits, and anything else
 * is ignored.
 */
#include "smaps.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *key;
    size_t off;
    bool add; /* summed into the field (Shared_Clean + Shared_Dirty) */
} fields[] = {
    {"Rss", offsetof(struct live_smaps_stats, rss), false},
    {"Pss", offsetof(struct live_smaps_stats, pss), false},
    {"Anonymous", offsetof(struct live_smaps_stats, anonymous), false},
    {"AnonHugePages", offsetof(struct live_smaps_stats, anon_huge), false},
    {"ShmemPmdMapped", offsetof(struct live_smaps_stats, shmem_huge), false},
    {"FilePmdMapped", offsetof(struct live_smaps_stats, file_huge), false},
    {"Swap", offsetof(struct live_smaps_stats, swap), false},
    {"Shared_Clean", offsetof(struct live_smaps_stats, shared), true},
    {"Shared_Dirty", offsetof(struct live_smaps_stats, shared), true},
    {"Private_Clean", offsetof(struct live_smaps_stats, private_), true},
    {"Private_Dirty", offsetof(struct live_smaps_stats, private_), true},
    {"Referenced", offsetof(struct live_smaps_stats, referenced), false},
};

bool live_smaps_field(const char *line, size_t len, struct live_smaps_stats *st)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    size_t klen = (size_t)(colon - line);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].key) != klen || memcmp(fields[i].key, line, klen))
            continue;
        const char *s = colon + 1, *end = line + len;
        while (s < end && *s == ' ')
            s++;
        if (s == end || !isdigit((unsigned char)*s))
            return false;
        uint64_t v = 0;
        while (s < end && isdigit((unsigned char)*s))
            v = v * 10 + (uint64_t)(*s++ - '0');
        while (s < end && *s == ' ')
            s++;
        /* Values are in kB; a unit-less value (none today) is taken as bytes. */
        if (end - s >= 2 && s[0] == 'k' && s[1] == 'B')
            v <<= 10;
        uint64_t *f = (uint64_t *)((char *)st + fields[i].off);
        *f = fields[i].add ? *f + v : v;
        return true;
    }
    if (klen == 11 && !memcmp(line, "THPeligible", 11)) {
        const char *s = colon + 1;
        while (s < line + len && *s == ' ')
            s++;
        st->thp_eligible = s < line + len && *s == '1';
        return true;
    }
    return false;
}

static void parse_vmflags(const char *s, const char *end, struct live_vma *v)
{
    static const struct {
        char code[3];
        uint32_t bit;
    } vm[] = {
        {"ht", LIVE_VM_HUGETLB},  {"io", LIVE_VM_IO},       {"pf", LIVE_VM_PFNMAP},
        {"mm", LIVE_VM_MIXEDMAP}, {"lo", LIVE_VM_LOCKED},   {"um", LIVE_VM_UFFD},
        {"uw", LIVE_VM_UFFD},     {"dd", LIVE_VM_DONTDUMP}, {"wf", LIVE_VM_WIPEONFORK},
    };
    v->flags &= ~(BPFMM_VMA_HUGEPAGE | BPFMM_VMA_NOHUGEPAGE);
    v->sm.vm = 0;
    while (s + 2 <= end) {
        while (s < end && *s == ' ')
            s++;
        if (s + 2 > end)
            break;
        if (s[0] == 'h' && s[1] == 'g')
            v->flags |= BPFMM_VMA_HUGEPAGE;
        else if (s[0] == 'n' && s[1] == 'h')
            v->flags |= BPFMM_VMA_NOHUGEPAGE;
        else if (s[0] == 'g' && s[1] == 'u')
            v->flags |= BPFMM_VMA_GUARD; /* newer kernels flag VMAs that ever had guards */
        for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++)
            if (s[0] == vm[i].code[0] && s[1] == vm[i].code[1])
                v->sm.vm |= vm[i].bit;
        while (s < end && *s != ' ')
            s++;
    }
}

/* A VMA header: "start-end " at the start of the line. */
static bool is_header(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && isxdigit((unsigned char)line[i]))
        i++;
    return i > 0 && i < len && line[i] == '-';
}

int live_smaps_parse(const char *text, struct live_vma_list *out)
{
    out->nr = 0;
    out->from_query = false;
    struct live_vma *cur = NULL;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && is_header(line, len)) {
            cur = live_vma_list_add(out);
            if (!cur)
                return -ENOMEM;
            int r = live_vma_parse_line(line, len, cur);
            if (r < 0)
                return r;
            if (r > 0) { /* [vsyscall]: left out as live_vma_read does */
                out->nr--;
                cur = NULL;
            } else {
                cur->have_smaps = true;
                cur->sm.thp_eligible = -1;
            }
        } else if (cur && len > 8 && !strncmp(line, "VmFlags:", 8)) {
            parse_vmflags(line + 8, line + len, cur);
        } else if (cur && len) {
            live_smaps_field(line, len, &cur->sm);
        }
        line = nl ? nl + 1 : line + len;
    }
    out->layout_hash = live_vma_layout_hash(out);
    return 0;
}

int live_smaps_read(struct live_proc *p, struct live_vma_list *out)
{
    struct live_buf b = {0};
    int err = live_proc_read(p, "smaps", &b);
    if (!err)
        err = live_smaps_parse(b.data, out);
    live_buf_free(&b);
    if (err)
        return live_proc_fail(p, err, "read its smaps");
    live_vma_refine_shmem(p, out);
    out->layout_hash = live_vma_layout_hash(out);
    return 0;
}

size_t live_smaps_merge(struct live_vma_list *dst, const struct live_vma_list *src)
{
    size_t matched = 0, j = 0;
    for (size_t i = 0; i < dst->nr; i++) {
        struct live_vma *d = &dst->v[i];
        while (j < src->nr && src->v[j].end <= d->start)
            j++;
        if (j < src->nr && src->v[j].start == d->start && src->v[j].end == d->end) {
            const struct live_vma *s = &src->v[j];
            d->sm = s->sm;
            d->have_smaps = true;
            d->flags = (d->flags & ~(BPFMM_VMA_HUGEPAGE | BPFMM_VMA_NOHUGEPAGE)) |
                       (s->flags & (BPFMM_VMA_HUGEPAGE | BPFMM_VMA_NOHUGEPAGE));
            if (s->flags & BPFMM_VMA_GUARD)
                d->flags |= BPFMM_VMA_GUARD;
            matched++;
        } else {
            d->have_smaps = false;
        }
    }
    return matched;
}

int live_smaps_rollup(struct live_proc *p, struct live_smaps_stats *tot)
{
    struct live_buf b = {0};
    int err = live_proc_read(p, "smaps_rollup", &b);
    if (err) {
        live_buf_free(&b);
        return live_proc_fail(p, err, "read its smaps_rollup");
    }
    memset(tot, 0, sizeof(*tot));
    tot->thp_eligible = -1;
    for (const char *line = b.data; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && !is_header(line, len))
            live_smaps_field(line, len, tot);
        line = nl ? nl + 1 : line + len;
    }
    live_buf_free(&b);
    return 0;
}

int live_clear_refs(struct live_proc *p, enum live_clear_refs what)
{
    if (what < LIVE_CLEAR_REFS_ALL || what > LIVE_CLEAR_REFS_FILE)
        return -EINVAL;
    char text[2] = {(char)('0' + what), 0};
    int err = live_proc_write(p, "clear_refs", text);
    return err ? live_proc_fail(p, err, "reset its accessed bits (clear_refs)") : 0;
}
