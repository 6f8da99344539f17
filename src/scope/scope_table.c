/*
 * Process table of the scope module: tgid -> entry, a chained hash that doubles when the load
 * passes 1. Owns entry storage only (see scope_table.h); callers hold the scope lock.
 */
#include "scope_table.h"

#include <errno.h>
#include <stdlib.h>

#define TABLE_MIN_BUCKETS 64

static size_t bucket_of(const struct scope_table *t, int32_t tgid)
{
    /* Fibonacci hashing: pids are dense and sequential, the multiply spreads them. */
    uint64_t h = (uint64_t)(uint32_t)tgid * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (t->nbuckets - 1);
}

int table_init(struct scope_table *t)
{
    t->nbuckets = TABLE_MIN_BUCKETS;
    t->nr = 0;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets ? 0 : -ENOMEM;
}

void table_fini(struct scope_table *t)
{
    for (size_t i = 0; t->buckets && i < t->nbuckets; i++) {
        struct scope_proc *e = t->buckets[i];
        while (e) {
            struct scope_proc *n = e->hnext;
            free(e);
            e = n;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = t->nr = 0;
}

struct scope_proc *table_find(const struct scope_table *t, int32_t tgid)
{
    for (struct scope_proc *e = t->buckets[bucket_of(t, tgid)]; e; e = e->hnext)
        if (e->tgid == tgid)
            return e;
    return NULL;
}

static void grow(struct scope_table *t)
{
    size_t nb = t->nbuckets * 2;
    struct scope_proc **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* keep the longer chains; still correct */
    struct scope_table nt = {.buckets = b, .nbuckets = nb, .nr = t->nr};
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct scope_proc *e = t->buckets[i];
        while (e) {
            struct scope_proc *n = e->hnext;
            size_t k = bucket_of(&nt, e->tgid);
            e->hnext = b[k];
            b[k] = e;
            e = n;
        }
    }
    free(t->buckets);
    *t = nt;
}

struct scope_proc *table_insert(struct scope_table *t, int32_t tgid)
{
    struct scope_proc *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    if (t->nr + 1 > t->nbuckets)
        grow(t);
    e->tgid = tgid;
    size_t k = bucket_of(t, tgid);
    e->hnext = t->buckets[k];
    t->buckets[k] = e;
    t->nr++;
    return e;
}

void table_remove(struct scope_table *t, struct scope_proc *e)
{
    struct scope_proc **pp = &t->buckets[bucket_of(t, e->tgid)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = e->hnext;
        t->nr--;
    }
    free(e);
}
