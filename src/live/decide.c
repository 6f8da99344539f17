/*
 * The per-range decision (see decide.h): marks and hard rules first, then the policy with a
 * full ctx; allowed ranges become candidates sorted hot VMAs first.
 */
#include "decide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *live_decision_str(enum live_decision d)
{
    switch (d) {
    case LIVE_DEC_COLLAPSE:
        return "collapse";
    case LIVE_DEC_REFUSED:
        return "refused";
    case LIVE_DEC_HUGE:
        return "huge";
    case LIVE_DEC_GUARD:
        return "guard";
    case LIVE_DEC_INELIGIBLE:
        return "ineligible";
    case LIVE_DEC_BACKOFF:
        return "backoff";
    case LIVE_DEC_DEFERRED:
        return "deferred";
    case LIVE_DEC_NR:
        break;
    }
    return "?";
}

void live_cand_list_free(struct live_cand_list *l)
{
    free(l->c);
    memset(l, 0, sizeof(*l));
}

size_t live_cand_pending(const struct live_cand_list *l)
{
    size_t n = 0;
    for (size_t i = l->first; i < l->nr; i++)
        n += !(l->c[i].flags & LIVE_CAND_DONE);
    return n;
}

struct live_cand *live_cand_find(struct live_cand_list *l, uint64_t start)
{
    for (size_t i = l->first; i < l->nr; i++)
        if (l->c[i].start == start)
            return &l->c[i];
    return NULL;
}

static int add_cand(struct live_cand_list *l, const struct live_cand *c)
{
    if (l->nr == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct live_cand *n = realloc(l->c, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        l->c = n;
        l->cap = cap;
    }
    l->c[l->nr++] = *c;
    return 0;
}

static int cmp_cand(const void *a, const void *b)
{
    const struct live_cand *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio > y->prio ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* What the marks say about range r of VMA v, before asking the policy. */
static enum live_decision marked(const struct live_decide_in *in, const struct live_range *r,
                                 const struct live_vma *v, uint64_t *not_before, uint32_t *flags)
{
    if (in->vma_marks) {
        const struct live_mark *m = live_marks_find(in->vma_marks, v->start);
        if (m && (m->flags & LIVE_MARK_INELIGIBLE) && live_mark_same_vma(m, v))
            return LIVE_DEC_INELIGIBLE;
    }
    if (!in->marks)
        return LIVE_DEC_COLLAPSE;
    const struct live_mark *m = live_marks_find(in->marks, r->start);
    if (!m || !live_mark_same_vma(m, v))
        return LIVE_DEC_COLLAPSE;
    if (m->flags & LIVE_MARK_INELIGIBLE)
        return LIVE_DEC_INELIGIBLE;
    if (m->flags & LIVE_MARK_SOLO)
        *flags |= LIVE_CAND_SOLO;
    if ((m->flags & LIVE_MARK_BACKOFF) && m->until_ns > in->now_ns) {
        *not_before = m->until_ns;
        return LIVE_DEC_BACKOFF;
    }
    return LIVE_DEC_COLLAPSE;
}

int live_decide(const struct live_decide_in *in, struct live_cand_list *out,
                struct live_decide_stats *st, live_decide_fn fn, void *arg)
{
    struct live_decide_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    out->nr = out->first = 0;
    const uint32_t pmd_pages =
        (uint32_t)(live_scanner_pmd_size(in->sc) / (in->page_size ? in->page_size : 4096u));
    for (size_t i = 0; i < in->res->nr; i++) {
        const struct live_range *r = &in->res->r[i];
        if (r->start < in->lo || (in->hi && r->start >= in->hi))
            continue;
        if (r->vma >= in->vmas->nr)
            continue;
        const struct live_vma *v = &in->vmas->v[r->vma];
        st->ranges++;
        uint64_t orders = 0, not_before = 0;
        uint32_t flags = 0;
        enum live_decision d;
        if (r->nr_huge >= pmd_pages) {
            d = LIVE_DEC_HUGE;
        } else if (r->nr_guard) {
            d = LIVE_DEC_GUARD;
        } else if ((d = marked(in, r, v, &not_before, &flags)) == LIVE_DEC_INELIGIBLE) {
            /* not asked */
        } else if (in->defer_without_smaps && !v->have_smaps) {
            d = LIVE_DEC_DEFERRED;
        } else {
            struct bpfmm_thp_ctx ctx;
            bpfmm_policy_ctx_init(&ctx, in->type);
            live_ctx_fill(&ctx, in->p, v, r, in->sc);
            ctx.orders = BPFMM_ORDER(ctx.pmd_order);
            ctx.now_ns = in->now_ns;
            orders = bpfmm_policy_get_orders(in->policy, &ctx);
            st->decisions++;
            if (!(orders & BPFMM_ORDER(ctx.pmd_order))) {
                d = LIVE_DEC_REFUSED;
            } else {
                struct live_cand c = {
                    .start = r->start,
                    .prio = v->have_smaps ? v->sm.referenced : 0,
                    .not_before = not_before,
                    .vma = r->vma,
                    .flags = flags,
                };
                if (add_cand(out, &c))
                    return -ENOMEM;
            }
        }
        st->by[d]++;
        if (fn)
            fn(arg, r, v, d, orders);
    }
    if (out->nr > 1)
        qsort(out->c, out->nr, sizeof(*out->c), cmp_cand);
    return 0;
}
