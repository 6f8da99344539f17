/*
 * The scope module's process table: a chained hash from tgid to the process entry, with each
 * entry also on its policy's list. Owns the storage and lookup of entries only; the rules
 * (who inherits what, EBUSY, the global fallback) are scope.c's. Not thread-safe on its own:
 * scope.c calls it under its lock.
 */
#ifndef BPFMM_SCOPE_TABLE_H
#define BPFMM_SCOPE_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct scope_policy;

struct scope_proc {
    int32_t tgid;
    struct scope_policy *pol;
    struct scope_proc *hnext;       /* hash chain */
    struct scope_proc *prev, *next; /* the policy's list (circular, head in the policy) */
};

struct scope_table {
    struct scope_proc **buckets;
    size_t nbuckets; /* a power of two */
    size_t nr;
};

int table_init(struct scope_table *t);
/* Frees every entry (the caller has already unlinked them from policy lists or drops those
 * lists too). */
void table_fini(struct scope_table *t);
struct scope_proc *table_find(const struct scope_table *t, int32_t tgid);
/* Inserts a new entry for tgid (not present); NULL on allocation failure. */
struct scope_proc *table_insert(struct scope_table *t, int32_t tgid);
/* Unlinks e from the hash and frees it (the caller unlinks it from its policy list first). */
void table_remove(struct scope_table *t, struct scope_proc *e);

#endif
