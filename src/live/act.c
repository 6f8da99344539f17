/*
 * Batches, the process_madvise(MADV_COLLAPSE) call and reading its result (see act.h).
 */
#include "act.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int live_act_batch_init(struct live_act_batch *b, uint64_t pmd_size, uint32_t max_blocks)
{
    memset(b, 0, sizeof(*b));
    if (!max_blocks || max_blocks > LIVE_ACT_MAX_BLOCKS || !pmd_size)
        return -EINVAL;
    b->pmd_size = pmd_size;
    b->max_blocks = max_blocks;
    b->iov = calloc(max_blocks, sizeof(*b->iov));
    b->meta = calloc(max_blocks, sizeof(*b->meta));
    if (!b->iov || !b->meta) {
        live_act_batch_free(b);
        return -ENOMEM;
    }
    return 0;
}

void live_act_batch_free(struct live_act_batch *b)
{
    free(b->iov);
    free(b->meta);
    memset(b, 0, sizeof(*b));
}

void live_act_batch_reset(struct live_act_batch *b)
{
    b->n = 0;
    b->blocks = 0;
    b->bytes = 0;
}

bool live_act_batch_add(struct live_act_batch *b, uint64_t start, bool solo, uint32_t tag)
{
    if (b->blocks >= b->max_blocks)
        return false;
    struct live_act_iov *last = b->n ? &b->meta[b->n - 1] : NULL;
    if (last && !solo && !last->solo && last->start + last->blocks * b->pmd_size == start) {
        last->blocks++;
        b->iov[b->n - 1].iov_len += b->pmd_size;
    } else {
        b->meta[b->n] =
            (struct live_act_iov){.start = start, .blocks = 1, .tag = tag, .solo = solo};
        b->iov[b->n] = (struct iovec){.iov_base = (void *)(uintptr_t)start, .iov_len = b->pmd_size};
        b->n++;
    }
    b->blocks++;
    b->bytes += b->pmd_size;
    return true;
}

int live_act_submit(struct live_proc *p, const struct live_act_batch *b, uint64_t (*cpu_ns)(void *),
                    void *cpu_arg, struct live_act_result *r)
{
    memset(r, 0, sizeof(*r));
    if (!b->n)
        return -EINVAL;
    const struct live_os *os = p->os;
    uint64_t c0 = cpu_ns ? cpu_ns(cpu_arg) : 0;
    uint64_t t0 = os->now_ns();
    r->ret = live_proc_madvise(p, b->iov, b->n, MADV_COLLAPSE);
    uint64_t t1 = os->now_ns();
    r->wall_ns = t1 > t0 ? t1 - t0 : 0;
    if (cpu_ns) {
        uint64_t c1 = cpu_ns(cpu_arg);
        r->cpu_ns = c1 > c0 ? c1 - c0 : 0;
    }
    if (r->ret < 0) {
        r->err = (int)r->ret;
        r->stopped = true;
        return 0;
    }
    /* The count covers whole leading iovecs; one ending inside an iovec (never seen) leaves
     * that iovec unaccounted, i.e. failed with an unknown errno. */
    uint64_t left = (uint64_t)r->ret;
    while (r->done < b->n && left >= b->iov[r->done].iov_len) {
        left -= b->iov[r->done].iov_len;
        r->done_bytes += b->iov[r->done].iov_len;
        r->done_blocks += b->meta[r->done].blocks;
        r->done++;
    }
    r->stopped = r->done < b->n;
    return 0;
}

enum live_act_class live_act_classify(int err)
{
    switch (err < 0 ? -err : err) {
    case ESRCH:
    case EPERM:
    case EACCES:
        return LIVE_ACT_PROCESS;
    case ENOMEM:
        return LIVE_ACT_NOMEM;
    case EAGAIN:
    case EBUSY:
        return LIVE_ACT_RETRY;
    case EINVAL:
        return LIVE_ACT_INVALID;
    default:
        return LIVE_ACT_OTHER;
    }
}

int live_act_verify(struct live_scanner *sc, struct live_proc *p, struct live_vma_list *vmas,
                    uint64_t start, uint32_t n, uint32_t page_size, bool *huge)
{
    uint64_t pmd = live_scanner_pmd_size(sc);
    uint32_t pmd_pages = (uint32_t)(pmd / (page_size ? page_size : 4096u));
    uint64_t *starts = calloc(n ? n : 1, sizeof(*starts));
    if (!starts)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        starts[i] = start + i * pmd;
        huge[i] = false;
    }
    struct live_scan_result res = {0};
    struct live_scan_opts o = {.sz = sizeof(o)};
    int err = live_scan_blocks(sc, p, vmas, starts, n, &o, &res);
    for (size_t k = 0; !err && k < res.nr; k++) {
        uint64_t off = res.r[k].start - start;
        if (res.r[k].start >= start && off / pmd < n && res.r[k].nr_huge >= pmd_pages)
            huge[off / pmd] = true;
    }
    live_scan_result_free(&res);
    free(starts);
    return err;
}
