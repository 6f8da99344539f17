/*
 * Glue between lifecycle events (lifecycle.h) and src/scope (bpfmm/scope.h): the agent's
 * on_event handler calls live_lifecycle_scope_apply, and attaches/detaches through the two
 * helpers below so that the kernel map and the scope agree. The lifecycle owns membership
 * (which tgid is managed by which policy id; the kernel map is the authority in BPF mode);
 * scope owns what an id means (its program, updates, the global policy). Policy ids are
 * scope's ids, so an update (bpfmm_scope_policy_update) needs no kernel change at all.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_SCOPE_H
#define BPFMM_LIVE_LIFECYCLE_SCOPE_H

#include "lifecycle.h"

#include <bpfmm/scope.h>

/* Applies one event to the scope so that, afterwards, the scope's local policy of ev->tgid is
 * ev->policy_id (FORK, EXEC) or none (EXIT), whatever the scope knew before (a scope that
 * missed the parent's attach, or holds a stale entry, is repaired). Returns 0, or the scope's
 * error (-ENOENT: the policy id no longer exists in the scope: detach it from the lifecycle). */
int live_lifecycle_scope_apply(bpfmm_scope_t *s, const struct live_lc_event *ev);

/* Attaches policy_id to tgid in the lifecycle (kernel) and in the scope, or in neither.
 * Errors as live_lifecycle_attach, plus -ENOENT for an id the scope does not know. */
int live_lifecycle_scope_attach(live_lifecycle_t *lc, bpfmm_scope_t *s, uint32_t policy_id,
                                pid_t tgid, char *err, size_t err_size);

/* Detaches a policy everywhere: the lifecycle stops managing its processes, then the scope
 * destroys it (releasing its program). Returns the number of processes released, or -errno. */
int live_lifecycle_scope_detach_policy(live_lifecycle_t *lc, bpfmm_scope_t *s, uint32_t policy_id);

#endif
