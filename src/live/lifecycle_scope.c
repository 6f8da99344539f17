/*
 * Lifecycle events -> scope calls (see lifecycle_scope.h). No Linux call here; the tests feed
 * synthetic events (tests/lifecycle/scope_apply.c) and real ones (scope_e2e.c).
 */
#include "lifecycle_scope.h"

#include <errno.h>
#include <stdio.h>

/* Makes the scope's local policy of tgid exactly id. */
static int ensure_local(bpfmm_scope_t *s, int32_t tgid, uint32_t id)
{
    uint32_t cur = 0;
    enum bpfmm_scope_how how = bpfmm_scope_policy_of(s, tgid, &cur);
    if (how == BPFMM_SCOPE_LOCAL && cur == id)
        return 0;
    if (how == BPFMM_SCOPE_LOCAL)
        bpfmm_scope_detach(s, tgid);
    return bpfmm_scope_attach(s, id, tgid);
}

int live_lifecycle_scope_apply(bpfmm_scope_t *s, const struct live_lc_event *ev)
{
    if (ev->tgid <= 0)
        return -EINVAL;
    switch (ev->type) {
    case LIVE_LC_FORK:
        if (ev->parent > 0 && ev->parent != ev->tgid) {
            /* The scope's own inheritance rule first (counts inherits), then make sure. */
            int r = bpfmm_scope_fork(s, ev->parent, ev->tgid);
            if (r && r != -EINVAL)
                return r;
        }
        return ensure_local(s, ev->tgid, ev->policy_id);
    case LIVE_LC_EXEC: {
        int r = bpfmm_scope_exec(s, ev->tgid);
        return r ? r : ensure_local(s, ev->tgid, ev->policy_id);
    }
    case LIVE_LC_EXIT:
        return bpfmm_scope_exit(s, ev->tgid);
    }
    return -EINVAL;
}

int live_lifecycle_scope_attach(live_lifecycle_t *lc, bpfmm_scope_t *s, uint32_t policy_id,
                                pid_t tgid, char *err, size_t err_size)
{
    struct bpfmm_scope_policy_info info;
    if (bpfmm_scope_policy_info(s, policy_id, &info) != 0) {
        if (err && err_size)
            snprintf(err, err_size, "attach: no policy with id %u (create it first)", policy_id);
        return -ENOENT;
    }
    int r = live_lifecycle_attach(lc, tgid, policy_id, err, err_size);
    if (r)
        return r;
    /* The lifecycle accepted, so tgid was not managed: a local entry the scope still has is
     * stale (a missed exit) and goes. */
    r = bpfmm_scope_attach(s, policy_id, tgid);
    if (r == -EBUSY) {
        bpfmm_scope_detach(s, tgid);
        r = bpfmm_scope_attach(s, policy_id, tgid);
    }
    if (r) {
        live_lifecycle_detach(lc, tgid);
        if (err && err_size)
            snprintf(err, err_size, "attach: %s", bpfmm_scope_last_error());
    }
    return r;
}

int live_lifecycle_scope_detach_policy(live_lifecycle_t *lc, bpfmm_scope_t *s, uint32_t policy_id)
{
    int n = live_lifecycle_detach_policy(lc, policy_id);
    int r = bpfmm_scope_policy_destroy(s, policy_id);
    if (n < 0)
        return n;
    return r && r != -ENOENT ? r : n;
}
