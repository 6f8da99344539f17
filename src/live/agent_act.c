/*
 * Acting on the candidates (issue 4, part 5): whom to serve (hot processes first), how much
 * (the budget), the batch (coalesced 2 MiB blocks, one process_madvise call), and what each
 * result means for the ranges:
 *
 *   collapsed (inside the returned byte count)   done; trusted, not rescanned
 *   stopped, errno unknown (short byte count)    the failing iovec's block goes first and
 *                                                alone in the next call, which names its errno
 *   EAGAIN / EBUSY / other                       the range backs off, doubling per attempt
 *   EINVAL                                       the range is marked until its VMA changes; a
 *                                                second EINVAL in the same VMA (no success in
 *                                                between) marks the whole VMA
 *   ENOMEM                                       global backoff (alloc_sleep_millisecs-like),
 *                                                unless the range was unmapped (madvise says
 *                                                ENOMEM for an unmapped range too): dropped
 *   ESRCH / EPERM / EACCES                       the whole process (state "gone" / "not
 *                                                permitted"); nothing more is submitted
 * A failed iovec of several blocks is rescanned (only those blocks) to credit the ones the
 * kernel collapsed before it stopped; the others are retried alone, so each errno lands on
 * the block that caused it. Failures cost at most a few calls per range or VMA change.
 *
 * The budget: token buckets of collapse bytes (global and per process) and of estimated mmap
 * write-lock time per process. The lock estimate of a call is its wall time (an upper bound:
 * it includes the LRU drain and the huge page allocation, which run without the lock; each
 * block's copy and page-table switch, ~0.5 ms warm, runs under it).
 */
#include "agent_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000ull

/* --- budget -------------------------------------------------------------------------------- */

static uint64_t bucket_rate(const struct live_agent_budget *b, uint64_t v)
{
    return b->off || v == LIVE_AGENT_UNLIMITED ? 0 : v;
}

static uint64_t bucket_cap(live_agent_t *a, uint64_t rate, uint64_t at_least)
{
    uint64_t cap = rate / 1000 * a->budget.burst_ms;
    return cap > at_least ? cap : at_least;
}

static void proc_buckets(live_agent_t *a, struct agent_proc *p, uint64_t now, bool init)
{
    const struct live_agent_budget *b = &a->budget;
    uint64_t brate = bucket_rate(b, b->proc_bytes_per_s);
    uint64_t bcap = bucket_cap(a, brate, a->o.batch_blocks * a->pmd_size);
    uint64_t lrate = bucket_rate(b, b->proc_lock_us_per_s);
    lrate = lrate > UINT64_MAX / 1000 ? UINT64_MAX / 1000 : lrate * 1000; /* ns per s */
    uint64_t lcap = bucket_cap(a, lrate, 1);
    if (init) {
        live_bucket_init(&p->bytes, brate, bcap, now);
        live_bucket_init(&p->lock, lrate, lcap, now);
    } else {
        live_bucket_set(&p->bytes, brate, bcap, now);
        live_bucket_set(&p->lock, lrate, lcap, now);
    }
}

void agent_proc_budget_init(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    proc_buckets(a, p, now, true);
}

void agent_budget_apply(live_agent_t *a, const struct live_agent_budget *in)
{
    struct live_agent_budget b = {0};
    if (in)
        memcpy(&b, in, in->sz < sizeof(b) ? in->sz : sizeof(b));
    b.sz = sizeof(b);
    if (!b.global_bytes_per_s)
        b.global_bytes_per_s = LIVE_AGENT_DEF_GLOBAL_BYTES_PER_S;
    if (!b.proc_bytes_per_s)
        b.proc_bytes_per_s = LIVE_AGENT_DEF_PROC_BYTES_PER_S;
    if (!b.proc_lock_us_per_s)
        b.proc_lock_us_per_s = LIVE_AGENT_DEF_PROC_LOCK_US_PER_S;
    if (!b.burst_ms)
        b.burst_ms = LIVE_AGENT_DEF_BURST_MS;
    bool first = a->budget.sz == 0;
    a->budget = b;
    uint64_t now = agent_now(a);
    uint64_t grate = bucket_rate(&b, b.global_bytes_per_s);
    uint64_t gcap = bucket_cap(a, grate, a->o.batch_blocks * a->pmd_size);
    if (first)
        live_bucket_init(&a->global_bytes, grate, gcap, now);
    else
        live_bucket_set(&a->global_bytes, grate, gcap, now);
    for (size_t i = 0; i < a->nprocs; i++)
        proc_buckets(a, a->procs[i], now, false);
}

/* --- readiness ----------------------------------------------------------------------------- */

static void skip_done(struct live_cand_list *l)
{
    while (l->first < l->nr && (l->c[l->first].flags & LIVE_CAND_DONE))
        l->first++;
}

/* Earliest not_before of a pending candidate (<= now as soon as one is ready), and how many
 * are ready now (up to `enough`). */
static uint64_t cands_ready(struct agent_proc *p, uint64_t now, uint32_t enough, uint32_t *ready)
{
    uint64_t t = UINT64_MAX;
    *ready = 0;
    skip_done(&p->cands);
    for (size_t i = p->cands.first; i < p->cands.nr && *ready < enough; i++) {
        const struct live_cand *c = &p->cands.c[i];
        if (c->flags & LIVE_CAND_DONE)
            continue;
        if (c->not_before <= now) {
            (*ready)++;
            t = now;
        } else if (c->not_before < t) {
            t = c->not_before;
        }
    }
    return t;
}

static uint64_t later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

uint64_t agent_proc_ready_at(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    if (p->state != LIVE_AGENT_PROC_ACTIVE || !p->h || p->drop)
        return UINT64_MAX;
    uint32_t ready;
    uint64_t t = cands_ready(p, now, a->o.batch_blocks, &ready);
    if (t == UINT64_MAX)
        return t;
    /* Wait for a whole batch's worth (or all that is ready): fewer, fuller calls (each one
     * drains every CPU's LRU caches). */
    uint64_t blocks = ready ? ready : 1;
    uint64_t bytes = blocks * a->pmd_size;
    t = later(t, now + live_bucket_wait_ns(&a->global_bytes, bytes, now));
    t = later(t, now + live_bucket_wait_ns(&p->bytes, bytes, now));
    t = later(t, now + live_bucket_wait_ns(&p->lock, blocks * a->lock_per_block_ns, now));
    return later(t, a->enomem_until);
}

/* --- results ------------------------------------------------------------------------------- */

static void block_done(live_agent_t *a, struct agent_proc *p, struct live_cand *c)
{
    c->flags |= LIVE_CAND_DONE;
    live_marks_del(&p->marks, c->start);
    if (p->suspect == c->start)
        p->suspect = 0;
    if (c->vma < p->vmas.nr) {
        const struct live_mark *vm = live_marks_find(&p->vma_marks, p->vmas.v[c->vma].start);
        if (vm && !(vm->flags & LIVE_MARK_INELIGIBLE))
            live_marks_del(&p->vma_marks, p->vmas.v[c->vma].start);
    }
    p->c.collapses++;
    a->total.collapses++;
    p->c.collapse_bytes += a->pmd_size;
    a->total.collapse_bytes += a->pmd_size;
    p->anon_huge += a->pmd_size;
}

static const struct live_vma *cand_vma(struct agent_proc *p, const struct live_cand *c)
{
    return c->vma < p->vmas.nr ? &p->vmas.v[c->vma] : NULL;
}

static void mark_vma_ineligible(live_agent_t *a, struct agent_proc *p, const struct live_vma *v,
                                int err, const char *why)
{
    struct live_mark *vm = live_marks_get(&p->vma_marks, v->start, v);
    if (!vm)
        return;
    vm->flags |= LIVE_MARK_INELIGIBLE;
    vm->err = (int16_t)err;
    for (size_t i = p->cands.first; i < p->cands.nr; i++) {
        struct live_cand *c = &p->cands.c[i];
        if (!(c->flags & LIVE_CAND_DONE) && cand_vma(p, c) == v)
            c->flags |= LIVE_CAND_DONE;
    }
    agent_log(a, LIVE_AGENT_LOG_INFO,
              "process %d: VMA %#llx-%#llx refuses MADV_COLLAPSE (%s; %s): left alone until it "
              "changes",
              (int)p->pid, (unsigned long long)v->start, (unsigned long long)v->end,
              live_errno_name(err), why);
}

/* One block failed with a known errno. */
static void block_failed(live_agent_t *a, struct agent_proc *p, struct live_cand *c, int err,
                         uint64_t now)
{
    const struct live_vma *v = cand_vma(p, c);
    if (p->suspect == c->start)
        p->suspect = 0;
    struct live_mark *m = live_marks_get(&p->marks, c->start, v);
    if (!m) {
        c->flags |= LIVE_CAND_DONE; /* out of memory: at least do not retry in a loop */
        return;
    }
    m->err = (int16_t)err;
    if (m->attempts < UINT16_MAX)
        m->attempts++;
    if (live_act_classify(err) == LIVE_ACT_INVALID) {
        m->flags |= LIVE_MARK_INELIGIBLE;
        c->flags |= LIVE_CAND_DONE;
        if (!v)
            return;
        struct live_mark *vm = live_marks_get(&p->vma_marks, v->start, v);
        if (vm && vm->attempts < UINT16_MAX)
            vm->attempts++;
        if (!p->guard_known) {
            /* Without guard detection (Linux < 6.15) an EINVAL may be a guard marker, which
             * would abort every later call touching it: skip the whole VMA. */
            if (!a->warned_no_guard)
                agent_log(a, LIVE_AGENT_LOG_WARN,
                          "this kernel cannot report guard regions (PAGE_IS_GUARD needs Linux "
                          "6.15): a VMA whose collapse fails with EINVAL is skipped entirely");
            a->warned_no_guard = true;
            mark_vma_ineligible(a, p, v, err, "no guard detection on this kernel");
        } else if (vm && vm->attempts >= 2) {
            mark_vma_ineligible(a, p, v, err, "twice in this VMA without a success");
        }
        return;
    }
    uint32_t base = -err == EAGAIN  ? a->o.eagain_backoff_ms
                    : -err == EBUSY ? a->o.ebusy_backoff_ms
                                    : a->o.max_backoff_ms;
    m->flags |= LIVE_MARK_BACKOFF;
    m->until_ns = now + live_backoff_ns(base, a->o.max_backoff_ms, m->attempts);
    c->not_before = m->until_ns;
}

static void set_solo(struct agent_proc *p, struct live_cand *c)
{
    c->flags |= LIVE_CAND_SOLO;
    struct live_mark *m = live_marks_get(&p->marks, c->start, cand_vma(p, c));
    if (m)
        m->flags |= LIVE_MARK_SOLO;
}

/* The iovec `idx` of the batch failed and holds several blocks: credit those the kernel
 * collapsed before it stopped; the others are retried alone (the first of them first). */
static void split_failed(live_agent_t *a, struct agent_proc *p, const uint32_t *blk, size_t idx)
{
    const struct live_act_iov *m = &a->batch.meta[idx];
    bool *huge = calloc(m->blocks, sizeof(*huge));
    if (huge && live_act_verify(a->sc, p->h, &p->vmas, m->start, m->blocks, a->page_size, huge))
        memset(huge, 0, m->blocks * sizeof(*huge));
    bool first = true;
    for (uint32_t k = 0; k < m->blocks; k++) {
        struct live_cand *c = &p->cands.c[blk[m->tag + k]];
        if (huge && huge[k]) {
            block_done(a, p, c);
        } else {
            set_solo(p, c);
            if (first)
                p->suspect = c->start;
            first = false;
        }
    }
    free(huge);
}

/* ENOMEM also means "not mapped", and EINVAL "the VMA changed meanwhile". Returns true if
 * some block of iovec idx is no longer in the VMA it was decided in: the layout changed under
 * us, so every candidate is suspect. They are dropped, and the process is left alone until
 * its next regular check rescans it: a target that keeps unmapping costs at most one failed
 * call per check interval, not one per hole. */
static bool range_went_away(live_agent_t *a, struct agent_proc *p, const uint32_t *blk, size_t idx,
                            uint64_t now, int *err)
{
    const struct live_act_iov *m = &a->batch.meta[idx];
    *err = live_vma_read(p->h, a->f->procmap_query, &p->scratch);
    if (*err)
        return false;
    bool gone = false;
    for (uint32_t k = 0; k < m->blocks; k++) {
        struct live_cand *c = &p->cands.c[blk[m->tag + k]];
        const struct live_vma *was = cand_vma(p, c), *now = live_vma_find(&p->scratch, c->start);
        if (!was || !now || now->start != was->start || now->end != was->end) {
            c->flags |= LIVE_CAND_DONE;
            gone = true;
        }
    }
    if (gone) {
        p->cands.nr = p->cands.first = 0;
        p->suspect = 0;
        p->dirty = true;
        p->next_check_ns = now + a->o.check_interval_ms * MS;
    }
    return gone;
}

static void process_failed(live_agent_t *a, struct agent_proc *p, int err, uint64_t now)
{
    if (err == -ESRCH) {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_GONE,
                             "exited (process_madvise: ESRCH); nothing more is done");
        p->next_check_ns = now; /* reaped yet? */
    } else {
        agent_proc_set_state(a, p, LIVE_AGENT_PROC_NOT_PERMITTED, "%s", live_proc_error(p->h));
        p->retry_ns = now + a->o.perm_retry_ms * MS;
        p->next_check_ns = p->retry_ns;
    }
}

static void handle_result(live_agent_t *a, struct agent_proc *p, const uint32_t *blk,
                          const struct live_act_result *r, uint64_t now)
{
    const struct live_act_batch *b = &a->batch;
    for (size_t i = 0; i < r->done; i++)
        for (uint32_t k = 0; k < b->meta[i].blocks; k++)
            block_done(a, p, &p->cands.c[blk[b->meta[i].tag + k]]);
    if (r->done_blocks)
        a->enomem_attempts = 0;
    if (!r->stopped)
        return;
    const struct live_act_iov *m = &b->meta[r->done];
    struct live_cand *first = &p->cands.c[blk[m->tag]];
    if (!r->err) { /* stopped at iovec r->done, errno unknown */
        p->c.partial++;
        a->total.partial++;
        if (m->blocks > 1)
            split_failed(a, p, blk, r->done);
        else if (r->done)
            p->suspect = first->start; /* first in the next call, which names its errno */
        else
            block_failed(a, p, first, -EIO, now); /* no progress, no errno: never seen */
        return;
    }
    int ei = agent_err_index(r->err);
    p->c.failed[ei]++;
    a->total.failed[ei]++;
    switch (live_act_classify(r->err)) {
    case LIVE_ACT_PROCESS:
        process_failed(a, p, r->err, now);
        return;
    case LIVE_ACT_NOMEM: {
        int err;
        if (range_went_away(a, p, blk, r->done, now, &err))
            return;
        if (err == -ESRCH) {
            process_failed(a, p, -ESRCH, now);
            return;
        }
        if (a->enomem_attempts < 16)
            a->enomem_attempts++;
        a->enomem_until =
            now + live_backoff_ns(a->o.enomem_backoff_ms, a->o.max_backoff_ms, a->enomem_attempts);
        agent_log(a, LIVE_AGENT_LOG_WARN,
                  "process %d: no huge page could be allocated (ENOMEM): every collapse backs "
                  "off for %llu ms",
                  (int)p->pid, (unsigned long long)((a->enomem_until - now) / MS));
        if (m->blocks > 1)
            split_failed(a, p, blk, r->done);
        return;
    }
    case LIVE_ACT_INVALID: {
        int err;
        if (range_went_away(a, p, blk, r->done, now, &err))
            return;
        if (err == -ESRCH) {
            process_failed(a, p, -ESRCH, now);
            return;
        }
    }
        /* fallthrough */
    default:
        if (m->blocks > 1)
            split_failed(a, p, blk, r->done);
        else
            block_failed(a, p, first, r->err, now);
        return;
    }
}

/* --- the act loop -------------------------------------------------------------------------- */

static struct agent_proc *pick(live_agent_t *a, uint64_t now)
{
    struct agent_proc *best = NULL;
    for (size_t i = 0; i < a->nprocs; i++) {
        struct agent_proc *p = a->procs[i];
        uint64_t t = agent_proc_ready_at(a, p, now);
        if (t > now)
            continue;
        /* Hot first: the process that used the most CPU lately gains the most from fewer
         * TLB misses. Equal hotness: more pending work first. */
        if (!best || p->hot > best->hot ||
            (p->hot == best->hot && live_cand_pending(&p->cands) > live_cand_pending(&best->cands)))
            best = p;
    }
    return best;
}

/* How many blocks the budget allows p now (>= 1 when ready_at said yes). */
static uint32_t allowed_blocks(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    uint64_t n = a->o.batch_blocks;
    int64_t g = live_bucket_level(&a->global_bytes, now), pb = live_bucket_level(&p->bytes, now);
    int64_t lk = live_bucket_level(&p->lock, now);
    if (g < INT64_MAX && (uint64_t)(g > 0 ? g : 0) / a->pmd_size < n)
        n = (uint64_t)(g > 0 ? g : 0) / a->pmd_size;
    if (pb < INT64_MAX && (uint64_t)(pb > 0 ? pb : 0) / a->pmd_size < n)
        n = (uint64_t)(pb > 0 ? pb : 0) / a->pmd_size;
    if (lk < INT64_MAX && a->lock_per_block_ns) {
        uint64_t l = lk > 0 ? ((uint64_t)lk + a->lock_per_block_ns - 1) / a->lock_per_block_ns : 0;
        if (l < n)
            n = l;
    }
    return n ? (uint32_t)n : 1;
}

static void act_once(live_agent_t *a, struct agent_proc *p, uint64_t now)
{
    struct live_act_batch *b = &a->batch;
    uint32_t max = allowed_blocks(a, p, now);
    uint32_t blk[LIVE_ACT_MAX_BLOCKS];
    live_act_batch_reset(b);
    if (p->suspect) {
        for (size_t i = p->cands.first; i < p->cands.nr; i++) {
            struct live_cand *c = &p->cands.c[i];
            if (c->start == p->suspect && !(c->flags & LIVE_CAND_DONE) && c->not_before <= now) {
                blk[b->blocks] = (uint32_t)i;
                live_act_batch_add(b, c->start, true, b->blocks);
                break;
            }
        }
    }
    for (size_t i = p->cands.first; i < p->cands.nr && b->blocks < max; i++) {
        struct live_cand *c = &p->cands.c[i];
        if ((c->flags & LIVE_CAND_DONE) || c->not_before > now || (b->n && c->start == p->suspect))
            continue;
        blk[b->blocks] = (uint32_t)i;
        live_act_batch_add(b, c->start, c->flags & LIVE_CAND_SOLO, b->blocks);
    }
    if (!b->n)
        return;
    live_bucket_charge(&a->global_bytes, b->bytes, now);
    live_bucket_charge(&p->bytes, b->bytes, now);

    struct live_act_result r;
    live_act_submit(p->h, b, a->o.cpu_ns, a->o.arg, &r);
    uint64_t after = agent_now(a);
    p->c.calls++;
    a->total.calls++;
    p->c.lock_ns += r.wall_ns;
    a->total.lock_ns += r.wall_ns;
    p->c.collapse_wall_ns += r.wall_ns;
    a->total.collapse_wall_ns += r.wall_ns;
    p->c.collapse_cpu_ns += r.cpu_ns;
    a->total.collapse_cpu_ns += r.cpu_ns;
    live_bucket_charge(&p->lock, r.wall_ns, after);

    /* Bytes of the iovecs after the failing one were never attempted: give them back. */
    uint64_t attempted = r.done_bytes + (r.stopped ? b->iov[r.done].iov_len : 0);
    uint32_t att_blocks = (uint32_t)r.done_blocks + (r.stopped ? b->meta[r.done].blocks : 0);
    if (attempted < b->bytes) {
        live_bucket_refund(&a->global_bytes, b->bytes - attempted, after);
        live_bucket_refund(&p->bytes, b->bytes - attempted, after);
    }
    if (r.done_blocks && att_blocks)
        a->lock_per_block_ns = (3 * a->lock_per_block_ns + r.wall_ns / att_blocks) / 4;
    handle_result(a, p, blk, &r, after);
    skip_done(&p->cands);
}

void agent_act(live_agent_t *a, uint64_t deadline)
{
    for (;;) {
        uint64_t now = agent_now(a);
        if (now >= deadline || a->enomem_until > now)
            return;
        struct agent_proc *p = pick(a, now);
        if (!p) {
            /* Count the processes with work that waits only for the budget. */
            for (size_t i = 0; i < a->nprocs; i++) {
                uint32_t ready;
                struct agent_proc *q = a->procs[i];
                if (q->state == LIVE_AGENT_PROC_ACTIVE && q->h &&
                    cands_ready(q, now, 1, &ready) <= now) {
                    q->c.budget_waits++;
                    a->total.budget_waits++;
                }
            }
            return;
        }
        act_once(a, p, now);
    }
}
