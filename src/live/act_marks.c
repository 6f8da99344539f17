/*
 * Range and VMA marks (see act_marks.h): a sorted array, binary search, identity checks
 * against the current VMA list.
 */
#include "act_marks.h"

#include <stdlib.h>
#include <string.h>

/* The flags that identify a VMA across reads: the layout hash's, plus the advice (hg/nh)
 * when smaps was read (MADV_HUGEPAGE lifts the EINVAL of a MADV_NOHUGEPAGE VMA). */
#define ID_FLAGS                                                                                   \
    (BPFMM_VMA_READ | BPFMM_VMA_WRITE | BPFMM_VMA_EXEC | BPFMM_VMA_SHARED | BPFMM_VMA_ANON |       \
     BPFMM_VMA_FILE | BPFMM_VMA_SHMEM)
#define ADVICE_FLAGS (BPFMM_VMA_HUGEPAGE | BPFMM_VMA_NOHUGEPAGE)

void live_marks_free(struct live_marks *ms)
{
    free(ms->m);
    memset(ms, 0, sizeof(*ms));
}

static size_t lower_bound(const struct live_marks *ms, uint64_t start)
{
    size_t lo = 0, hi = ms->nr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ms->m[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct live_mark *live_marks_find(const struct live_marks *ms, uint64_t start)
{
    size_t i = lower_bound(ms, start);
    return i < ms->nr && ms->m[i].start == start ? &ms->m[i] : NULL;
}

struct live_mark *live_marks_get(struct live_marks *ms, uint64_t start, const struct live_vma *v)
{
    size_t i = lower_bound(ms, start);
    if (i < ms->nr && ms->m[i].start == start)
        return &ms->m[i];
    if (ms->nr == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 16;
        struct live_mark *m = realloc(ms->m, cap * sizeof(*m));
        if (!m)
            return NULL;
        ms->m = m;
        ms->cap = cap;
    }
    memmove(&ms->m[i + 1], &ms->m[i], (ms->nr - i) * sizeof(*ms->m));
    ms->nr++;
    struct live_mark *m = &ms->m[i];
    memset(m, 0, sizeof(*m));
    m->start = start;
    if (v) {
        m->vma_start = v->start;
        m->vma_end = v->end;
        m->vma_smaps = v->have_smaps;
        m->vma_flags = v->flags & (ID_FLAGS | (v->have_smaps ? ADVICE_FLAGS : 0));
    }
    return m;
}

void live_marks_del(struct live_marks *ms, uint64_t start)
{
    size_t i = lower_bound(ms, start);
    if (i < ms->nr && ms->m[i].start == start) {
        memmove(&ms->m[i], &ms->m[i + 1], (ms->nr - i - 1) * sizeof(*ms->m));
        ms->nr--;
    }
}

bool live_mark_same_vma(const struct live_mark *m, const struct live_vma *v)
{
    if (!v || v->start != m->vma_start || v->end != m->vma_end)
        return false;
    if ((v->flags & ID_FLAGS) != (m->vma_flags & ID_FLAGS))
        return false;
    if (m->vma_smaps && v->have_smaps && (v->flags & ADVICE_FLAGS) != (m->vma_flags & ADVICE_FLAGS))
        return false;
    return true;
}

size_t live_marks_prune(struct live_marks *ms, const struct live_vma_list *vmas)
{
    size_t out = 0, dropped = 0;
    for (size_t i = 0; i < ms->nr; i++) {
        const struct live_mark *m = &ms->m[i];
        if (live_mark_same_vma(m, live_vma_find(vmas, m->vma_start))) {
            ms->m[out++] = *m;
        } else {
            dropped++;
        }
    }
    ms->nr = out;
    return dropped;
}

size_t live_marks_active(const struct live_marks *ms, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < ms->nr; i++)
        n += (ms->m[i].flags & LIVE_MARK_INELIGIBLE) ||
             ((ms->m[i].flags & LIVE_MARK_BACKOFF) && ms->m[i].until_ns > now);
    return n;
}
