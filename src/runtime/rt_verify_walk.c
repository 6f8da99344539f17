/*
 * The abstract-interpretation walk: for one function in one calling context, a worklist over
 * basic blocks (lowest instruction first) with saved states per block leader, joined at merges
 * and widened at loop heads after a few rounds so every loop converges. A leader keeps up to
 * V_MAX_VARIANTS states apart when joining them would make a register that is read later (or a
 * spilled slot) "mixed" - a pointer into different regions on different paths, as clang's tail
 * merging produces (`v = lookup(); if (!v) v = &ctx->orders; return *v;`): each variant is
 * followed on its own, so both kinds stay usable; past that many, states are joined. A local call
 * walks the callee from an entry state built from the caller's state (so pointers passed as
 * arguments keep their kinds), and continues with the join of the callee's exit states; results
 * are cached per call site while the caller's state at that site does not change. Recursion is
 * impossible (rt_verify_cfg.c), so the walk's own recursion is at most RT_MAX_FRAMES deep.
 * Owns scheduling; the meaning of instructions is in rt_verify_insn.c.
 */
#include "rt_verify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Leader states are indexed by key = (insn - start) * V_MAX_VARIANTS + variant, so ordering keys
 * orders instructions. */
#define NV V_MAX_VARIANTS

struct vwalk {
    uint32_t func, start, end, nframes;
    struct vstate **st; /* per key: a state at a block leader (NULL: no such variant) */
    uint8_t *visits;    /* per key: joins that changed a loop head's state */
    uint32_t *heap;     /* pending keys, min-heap */
    uint32_t nheap;
    uint8_t *pending;                    /* per key */
    struct vstate *exit;                 /* join of exit states */
    struct vstate **call_in, **call_out; /* per call site: cached entry and exit */
    uint8_t *call_cached;
};

static void heap_push(struct vwalk *w, uint32_t key)
{
    if (w->pending[key])
        return;
    w->pending[key] = 1;
    uint32_t pos = w->nheap++;
    w->heap[pos] = key;
    while (pos) {
        uint32_t parent = (pos - 1) / 2;
        if (w->heap[parent] <= w->heap[pos])
            break;
        uint32_t t = w->heap[parent];
        w->heap[parent] = w->heap[pos];
        w->heap[pos] = t;
        pos = parent;
    }
}

static uint32_t heap_pop(struct vwalk *w)
{
    uint32_t top = w->heap[0];
    w->heap[0] = w->heap[--w->nheap];
    uint32_t pos = 0;
    for (;;) {
        uint32_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < w->nheap && w->heap[l] < w->heap[m])
            m = l;
        if (r < w->nheap && w->heap[r] < w->heap[m])
            m = r;
        if (m == pos)
            break;
        uint32_t t = w->heap[m];
        w->heap[m] = w->heap[pos];
        w->heap[pos] = t;
        pos = m;
    }
    w->pending[top] = 0;
    return top;
}

static int too_complex(struct verifier *v, uint32_t i)
{
    return verr_code(v, -E2BIG, i,
                     "the program is too complex to verify (more than %llu instruction visits "
                     "or %llu MiB of verifier state); simplify its loops and branches",
                     V_MAX_STEPS, V_MAX_STATE_BYTES >> 20);
}

/* Merges state s into a saved state of leader t - the first variant it joins without making a
 * live value mixed, else a new variant, else (all variants taken) the last one - and queues
 * that variant if it changed. */
static int propagate(struct verifier *v, struct vwalk *w, uint32_t t, const struct vstate *s)
{
    uint32_t base = (t - w->start) * NV, key = base;
    while (key < base + NV && w->st[key] && vstate_join_mixes(w->st[key], s, v->live[t]))
        key++;
    if (key == base + NV)
        key--;
    if (!w->st[key]) {
        w->st[key] = vstate_new(v, w->nframes);
        if (!w->st[key])
            return too_complex(v, t);
        vstate_copy(w->st[key], s);
        heap_push(w, key);
        return 0;
    }
    bool widen = (v->flags[t] & VF_LOOPHEAD) && w->visits[key] >= V_WIDEN_AFTER;
    if (vstate_join(v, w->st[key], s, widen)) {
        if (w->visits[key] < 255)
            w->visits[key]++;
        heap_push(w, key);
    }
    return 0;
}

static void walk_free(struct verifier *v, struct vwalk *w)
{
    uint32_t len = w->end - w->start;
    if (w->st)
        for (uint32_t k = 0; k < len * NV; k++)
            vstate_free(v, w->st[k]);
    if (w->call_in)
        for (uint32_t k = 0; k < len; k++) {
            vstate_free(v, w->call_in[k]);
            vstate_free(v, w->call_out[k]);
        }
    free(w->st);
    free(w->visits);
    free(w->heap);
    free(w->pending);
    free(w->call_in);
    free(w->call_out);
    free(w->call_cached);
}

int vwalk_func(struct verifier *v, uint32_t func, const struct vstate *entry,
               struct vstate **exit_out)
{
    struct vwalk w = {0};
    struct vstate *cur = NULL, *tmp = NULL;
    int err = 0;
    w.func = func;
    w.start = v->funcs[func].start;
    w.end = v->funcs[func].end;
    w.nframes = entry->nframes;
    uint32_t len = w.end - w.start;
    w.st = calloc((size_t)len * NV, sizeof(*w.st));
    w.visits = calloc((size_t)len * NV, 1);
    w.heap = malloc((size_t)len * NV * sizeof(*w.heap));
    w.pending = calloc((size_t)len * NV, 1);
    w.call_in = calloc(len, sizeof(*w.call_in));
    w.call_out = calloc(len, sizeof(*w.call_out));
    w.call_cached = calloc(len, 1);
    cur = vstate_new(v, w.nframes);
    tmp = vstate_new(v, w.nframes);
    *exit_out = NULL;
    if (!w.st || !w.visits || !w.heap || !w.pending || !w.call_in || !w.call_out ||
        !w.call_cached || !cur || !tmp) {
        err =
            cur && tmp ? verr_code(v, -ENOMEM, w.start, "out of memory") : too_complex(v, w.start);
        goto out;
    }
    if ((err = propagate(v, &w, w.start, entry)))
        goto out;

    while (w.nheap) {
        uint32_t key = heap_pop(&w), i = w.start + key / NV;
        vstate_copy(cur, w.st[key]);
        for (;;) {
            if (++v->steps > V_MAX_STEPS) {
                err = too_complex(v, i);
                goto out;
            }
            v->info[i].visited = 1;
            struct vstep o = {.target_state = tmp};
            if ((err = vinsn_step(v, &w, cur, i, &o)))
                goto out;
            if (o.is_exit) {
                if (!w.exit) {
                    w.exit = vstate_new(v, w.nframes);
                    if (!w.exit) {
                        err = too_complex(v, i);
                        goto out;
                    }
                    vstate_copy(w.exit, cur);
                } else {
                    vstate_join(v, w.exit, cur, false);
                }
            }
            if (o.has_target && (err = propagate(v, &w, o.target, tmp)))
                goto out;
            if (!o.fall)
                break;
            i = o.next_insn;
            if (v->flags[i] & VF_LEADER) {
                if ((err = propagate(v, &w, i, cur)))
                    goto out;
                break;
            }
        }
    }
    *exit_out = w.exit;
    w.exit = NULL;
out:
    vstate_free(v, w.exit);
    vstate_free(v, cur);
    vstate_free(v, tmp);
    walk_free(v, &w);
    return err;
}

int vcall_local(struct verifier *v, struct vwalk *w, struct vstate *s, uint32_t i, bool *returns)
{
    uint32_t target = (uint32_t)((int64_t)i + 1 + v->insns[i].imm);
    uint32_t g = v->func_of[target];
    uint32_t nf = s->nframes + 1;
    uint32_t k = i - w->start;
    int err = 0;

    struct vstate *entry = vstate_new(v, nf);
    if (!entry)
        return too_complex(v, i);
    memcpy(entry->f, s->f, s->nframes * sizeof(struct vframe));
    struct vframe *cf = &entry->f[nf - 1];
    vframe_init(cf, g);
    for (unsigned r = 1; r <= 5; r++)
        cf->r[r] = vcur(s)->r[r];
    vreg_ptr(&cf->r[RT_REG_FP], VT_STACK, 0);
    cf->r[RT_REG_FP].frame = (uint8_t)(nf - 1);

    struct vstate *exit = NULL;
    if (w->call_cached[k] && vstate_equal(w->call_in[k], entry)) {
        exit = w->call_out[k];
        vstate_free(v, entry);
    } else {
        err = vwalk_func(v, g, entry, &exit);
        if (err) {
            vstate_free(v, entry);
            return err;
        }
        vstate_free(v, w->call_in[k]);
        vstate_free(v, w->call_out[k]);
        w->call_in[k] = entry;
        w->call_out[k] = exit;
        w->call_cached[k] = 1;
    }
    if (!exit) {
        *returns = false;
        return 0;
    }
    *returns = true;
    /* The callee may have written to its callers' stacks through pointers; the caller's own
     * registers come back unchanged except r0 (result) and r1-r5 (clobbered). */
    memcpy(s->f, exit->f, s->nframes * sizeof(struct vframe));
    struct vframe *F = vcur(s);
    F->r[0] = exit->f[nf - 1].r[0];
    for (unsigned r = 1; r <= 5; r++)
        vreg_uninit(&F->r[r]);
    return 0;
}
