/*
 * The one-shot collapse of `bpfmm collapse` (see act_oneshot.h): probe, open, read VMAs and
 * smaps, scan every non-special VMA, decide with FORCED_COLLAPSE, collapse in coalesced
 * batches, then attribute every failure to its range (rescan of a failed coalesced iovec,
 * single-block retries, a few EAGAIN retries).
 */
#include "act_oneshot.h"

#include "agent.h"
#include "smaps.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *live_oneshot_decision_str(enum live_oneshot_decision d)
{
    switch (d) {
    case LIVE_ONESHOT_ALLOW:
        return "allow";
    case LIVE_ONESHOT_REFUSE:
        return "refuse";
    case LIVE_ONESHOT_HUGE:
        return "huge";
    case LIVE_ONESHOT_GUARD:
        return "guard";
    case LIVE_ONESHOT_INELIGIBLE:
        return "ineligible";
    }
    return "?";
}

void live_oneshot_free(struct live_oneshot_result *res)
{
    free(res->r);
    res->r = NULL;
    res->nr = 0;
}

static int fail(char *err, size_t size, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t size, int e, const char *fmt, ...)
{
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return e;
}

static uint64_t now_ns(const struct live_os *os)
{
    return os->now_ns();
}

struct decide_arg {
    struct live_oneshot_result *res;
};

static struct live_oneshot_range *find(struct live_oneshot_result *res, uint64_t start)
{
    size_t lo = 0, hi = res->nr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (res->r[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < res->nr && res->r[lo].start == start ? &res->r[lo] : NULL;
}

static void on_decision(void *arg, const struct live_range *r, const struct live_vma *v,
                        enum live_decision d, uint64_t orders)
{
    struct decide_arg *da = arg;
    struct live_oneshot_range *x = find(da->res, r->start);
    if (!x)
        return;
    switch (d) {
    case LIVE_DEC_HUGE:
        x->decision = LIVE_ONESHOT_HUGE;
        break;
    case LIVE_DEC_GUARD:
        x->decision = LIVE_ONESHOT_GUARD;
        break;
    case LIVE_DEC_REFUSED:
        x->decision = LIVE_ONESHOT_REFUSE;
        break;
    default:
        x->decision = LIVE_ONESHOT_ALLOW;
        break;
    }
}

struct run {
    struct live_proc *p;
    struct live_scanner *sc;
    struct live_vma_list *vmas;
    struct live_oneshot_result *res;
    struct live_act_batch b;
    uint32_t page_size;
};

/* The range of block k of iovec i. */
static struct live_oneshot_range *iov_range(struct run *ru, size_t i, uint32_t k)
{
    return find(ru->res, ru->b.meta[i].start + (uint64_t)k * ru->b.pmd_size);
}

static void mark_collapsed(struct run *ru, struct live_oneshot_range *x)
{
    x->collapsed = true;
    x->err = 0;
    ru->res->bytes_collapsed += x->end - x->start;
}

/* Whether x goes into the next call. First pass (coalesced): every allowed range once.
 * Second pass (alone): what is left without an errno. */
static bool wanted(const struct live_oneshot_range *x, bool solo)
{
    if (x->decision != LIVE_ONESHOT_ALLOW || x->collapsed || x->err)
        return false;
    return solo || (!x->alone && !x->tries);
}

/* One call. Returns 1 if a call was made, 0 if nothing was wanted, -1 when the process is
 * gone or refuses us (res->aborted). */
static int one_call(struct run *ru, bool solo)
{
    struct live_oneshot_result *res = ru->res;
    live_act_batch_reset(&ru->b);
    for (size_t i = 0; i < res->nr; i++)
        if (wanted(&res->r[i], solo) && !live_act_batch_add(&ru->b, res->r[i].start, solo, 0))
            break;
    if (!ru->b.n)
        return 0;
    struct live_act_result r;
    live_act_submit(ru->p, &ru->b, NULL, NULL, &r);
    res->calls++;
    for (size_t i = 0; i < ru->b.n && i <= r.done; i++)
        for (uint32_t k = 0; k < ru->b.meta[i].blocks; k++) {
            struct live_oneshot_range *x = iov_range(ru, i, k);
            if (!x || (i == r.done && !r.stopped))
                continue;
            x->attempted = true;
            x->tries++;
            if (i < r.done)
                mark_collapsed(ru, x);
        }
    if (!r.stopped)
        return 1;
    if (r.err && live_act_classify(r.err) == LIVE_ACT_PROCESS) {
        snprintf(res->abort_msg, sizeof(res->abort_msg), "%s", live_proc_error(ru->p));
        res->aborted = true;
        return -1;
    }
    const struct live_act_iov *m = &ru->b.meta[r.done];
    if (m->blocks > 1) {
        /* Credit what the kernel collapsed before it stopped; the rest go alone later, each
         * to get its own errno. */
        bool huge[LIVE_ACT_MAX_BLOCKS];
        if (live_act_verify(ru->sc, ru->p, ru->vmas, m->start, m->blocks, ru->page_size, huge))
            memset(huge, 0, sizeof(huge));
        for (uint32_t k = 0; k < m->blocks; k++) {
            struct live_oneshot_range *x = iov_range(ru, r.done, k);
            if (x && huge[k])
                mark_collapsed(ru, x);
            else if (x)
                x->alone = true;
        }
        return 1;
    }
    struct live_oneshot_range *x = iov_range(ru, r.done, 0);
    if (!x)
        return 1;
    if (r.err)
        x->err = r.err;
    else if (r.done == 0)
        x->err = -EIO; /* no progress and no errno: never seen; do not loop */
    else
        x->alone = true; /* a short count: it goes first next time, which names its errno */
    return 1;
}

static void collapse_all(struct run *ru, unsigned max_tries)
{
    static const int backoff_ms[] = {10, 50, 250, 500};
    int r;
    while ((r = one_call(ru, false)) > 0)
        ;
    for (unsigned round = 0; r >= 0; round++) {
        while ((r = one_call(ru, true)) > 0)
            ;
        bool again = false;
        for (size_t i = 0; i < ru->res->nr; i++) {
            struct live_oneshot_range *x = &ru->res->r[i];
            again |= x->err == -EAGAIN && x->tries < max_tries;
        }
        if (r < 0 || !again)
            return;
        poll(NULL, 0, backoff_ms[round < 3 ? round : 3]);
        for (size_t i = 0; i < ru->res->nr; i++) {
            struct live_oneshot_range *x = &ru->res->r[i];
            if (x->err == -EAGAIN && x->tries < max_tries)
                x->err = 0;
        }
    }
}

int live_oneshot_collapse(const struct live_oneshot_opts *in, struct live_oneshot_result *res,
                          char *err, size_t err_size)
{
    struct live_oneshot_opts o = {0};
    if (in)
        memcpy(&o, in, in->sz < sizeof(o) ? in->sz : sizeof(o));
    memset(res, 0, sizeof(*res));
    const struct live_os *os = o.os ? o.os : &live_os_linux;
    const struct live_features *f = o.features ? o.features : live_probe_cached(os);
    char msg[512];
    int e = live_probe_require(f, msg, sizeof(msg));
    if (e)
        return fail(err, err_size, e, "%s", msg);
    if (o.hi && o.lo >= o.hi)
        return fail(err, err_size, -EINVAL, "range %#llx-%#llx is empty: END must be above START",
                    (unsigned long long)o.lo, (unsigned long long)o.hi);
    uint64_t pmd = f->hpage_pmd_size ? f->hpage_pmd_size : 2ull << 20;
    uint64_t lo = (o.lo + pmd - 1) & ~(pmd - 1), hi = o.hi ? o.hi & ~(pmd - 1) : 0;
    if (o.hi && lo >= hi)
        return fail(err, err_size, -EINVAL,
                    "range %#llx-%#llx holds no whole 2 MiB-aligned block (MADV_COLLAPSE rounds "
                    "the start up and the end down to 2 MiB)",
                    (unsigned long long)o.lo, (unsigned long long)o.hi);
    if (o.pid <= 0)
        return fail(err, err_size, -EINVAL, "process id %d is not valid", (int)o.pid);
    struct live_proc *p = live_proc_open(os, o.pid, 0, msg, sizeof(msg));
    if (!p)
        return fail(err, err_size, -errno, "%s", msg);
    res->pid = o.pid;
    memcpy(res->comm, p->comm, sizeof(res->comm));

    char log[2048] = "";
    struct bpfmm_policy_opts po = {.sz = sizeof(po),
                                   .rodata = o.rodata,
                                   .nr_rodata = o.nr_rodata,
                                   .log_buf = log,
                                   .log_size = sizeof(log)};
    const char *pname = o.policy ? o.policy : "default";
    bpfmm_policy_t *pol = bpfmm_policy_open(pname, &po);
    if (!pol) {
        e = -(errno ? errno : EINVAL);
        live_proc_close(p);
        return fail(err, err_size, e, "policy %s: %s", pname, log[0] ? log : strerror(-e));
    }
    snprintf(res->policy, sizeof(res->policy), "%s", bpfmm_policy_name(pol));
    res->reads_shared = bpfmm_policy_reads_field(pol, nr_shared);

    struct live_vma_list vmas = {0}, sm = {0};
    struct live_scan_result scan = {0};
    struct live_cand_list cands = {0};
    struct run ru = {.p = p, .vmas = &vmas, .res = res, .page_size = f->page_size};
    if (!ru.page_size)
        ru.page_size = 4096;
    uint64_t t0 = now_ns(os);
    ru.sc = live_scanner_new(os, f);
    e = ru.sc ? live_act_batch_init(&ru.b, pmd, o.batch_blocks ? o.batch_blocks : 64) : -ENOMEM;
    if (e) {
        fail(err, err_size, e, "out of memory");
        goto out;
    }
    e = live_vma_read(p, f->procmap_query, &vmas);
    if (!e && !live_smaps_read(p, &sm))
        live_smaps_merge(&vmas, &sm);
    struct live_scan_opts so = {
        .sz = sizeof(so),
        .all_vmas = true,
        .shared =
            bpfmm_policy_reads_field(pol, nr_shared) ? LIVE_SHARED_IF_SMAPS : LIVE_SHARED_NONE,
    };
    if (!e)
        e = live_scan_process(ru.sc, p, &vmas, &so, &scan);
    if (e) {
        fail(err, err_size, e, "%s", live_proc_error(p));
        goto out;
    }

    /* Every range in [lo, hi), in address order; ineligible VMAs are reported, not asked. */
    res->r = calloc(scan.nr ? scan.nr : 1, sizeof(*res->r));
    if (!res->r) {
        e = fail(err, err_size, -ENOMEM, "out of memory");
        goto out;
    }
    struct live_scan_result elig = scan;
    elig.r = calloc(scan.nr ? scan.nr : 1, sizeof(*elig.r));
    elig.nr = 0;
    if (!elig.r) {
        e = fail(err, err_size, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < scan.nr; i++) {
        const struct live_range *r = &scan.r[i];
        if (r->start < lo || (hi && r->start >= hi))
            continue;
        struct live_oneshot_range *x = &res->r[res->nr++];
        x->start = r->start;
        x->end = r->start + pmd;
        x->counts = *r;
        enum live_vma_elig el = live_vma_eligibility(&vmas.v[r->vma], pmd);
        if (el != LIVE_ELIG_OK) {
            x->decision = LIVE_ONESHOT_INELIGIBLE;
            x->why = live_vma_elig_str(el);
        } else {
            elig.r[elig.nr++] = *r;
        }
    }
    struct decide_arg da = {res};
    struct live_decide_in din = {
        .sc = ru.sc,
        .page_size = f->page_size,
        .p = p,
        .vmas = &vmas,
        .res = &elig,
        .policy = pol,
        .type = BPFMM_THP_FORCED_COLLAPSE,
        .now_ns = now_ns(os),
    };
    e = live_decide(&din, &cands, NULL, on_decision, &da);
    free(elig.r);
    if (e) {
        fail(err, err_size, e, "out of memory");
        goto out;
    }
    collapse_all(&ru, o.eagain_tries ? o.eagain_tries : 4);
    for (size_t i = 0; i < res->nr; i++) {
        const struct live_oneshot_range *x = &res->r[i];
        switch (x->decision) {
        case LIVE_ONESHOT_ALLOW:
            res->allowed++;
            if (x->collapsed) {
                res->collapsed++;
            } else {
                res->failed++;
                res->failed_by[x->err ? live_agent_err_of(x->err) : LIVE_AGENT_E_OTHER]++;
            }
            break;
        case LIVE_ONESHOT_REFUSE:
            res->refused++;
            break;
        case LIVE_ONESHOT_HUGE:
            res->huge++;
            break;
        case LIVE_ONESHOT_GUARD:
            res->guard++;
            break;
        case LIVE_ONESHOT_INELIGIBLE:
            res->ineligible++;
            break;
        }
    }
    e = 0;
out:
    res->wall_ns = now_ns(os) - t0;
    live_cand_list_free(&cands);
    live_scan_result_free(&scan);
    live_vma_list_free(&vmas);
    live_vma_list_free(&sm);
    live_act_batch_free(&ru.b);
    live_scanner_free(ru.sc);
    bpfmm_policy_close(pol);
    live_proc_close(p);
    if (e)
        live_oneshot_free(res);
    return e;
}
