/*
 * The agent's persistent state (default /var/lib/bpfmm/state.json): what the operator asked
 * for, so that it survives an agent restart - the loaded policies (source and rodata knobs,
 * plus the map entries set through `bpfmm map update|delete`), the global policy, and the
 * managed processes, each pinned by pid AND start time so that a pid reused while the agent
 * was down is never re-attached.
 *
 * Written atomically (a temporary file in the same directory, fsync, rename, fsync of the
 * directory): a crash or SIGKILL at any moment leaves either the old or the new file.
 * Owns the file format (JSON, "version": 1) and its validation; it knows nothing of policies
 * or processes beyond their names and numbers.
 */
#ifndef BPFMM_LIVE_STATE_H
#define BPFMM_LIVE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_STATE_VERSION 1
#define LIVE_STATE_NAME    64

struct live_state_map_edit {
    char *map, *key;
    char *value; /* NULL: the key was deleted */
};

struct live_state_policy {
    uint32_t id;                /* the agent's id while loaded (not saved) */
    char name[LIVE_STATE_NAME]; /* the instance name the agent knows it by */
    char *source;               /* shipped name or path, as given */
    char **rodata;              /* "knob=value" */
    unsigned nr_rodata;
    struct live_state_map_edit *edits;
    unsigned nr_edits;
};

struct live_state_proc {
    int32_t pid;
    uint64_t start_time; /* /proc/PID/stat field 22 */
    char policy[LIVE_STATE_NAME];
    char comm[16];
};

struct live_state {
    struct live_state_policy *policies;
    unsigned nr_policies;
    char global[LIVE_STATE_NAME]; /* "" when no global policy */
    struct live_state_proc *procs;
    unsigned nr_procs;
};

/* Appenders used to build a state (copies every string). 0 or -ENOMEM. */
int live_state_add_policy(struct live_state *st, const char *name, const char *source,
                          const char *const *rodata, unsigned nr_rodata);
/* Records a map edit, replacing an earlier edit of the same key. */
int live_state_add_edit(struct live_state_policy *p, const char *map, const char *key,
                        const char *value);
/* Removes policies[i] (its strings freed, later entries move down). */
void live_state_del_policy(struct live_state *st, unsigned i);
/* Replaces a policy's source and rodata (update). 0 or -ENOMEM (unchanged then). */
int live_state_set_source(struct live_state_policy *p, const char *source,
                          const char *const *rodata, unsigned nr_rodata);
int live_state_add_proc(struct live_state *st, int32_t pid, uint64_t start_time, const char *policy,
                        const char *comm);
void live_state_free(struct live_state *st);

/* Atomic write. 0 or -errno with a message. */
int live_state_save(const char *path, const struct live_state *st, char *err, size_t err_size);
/* Reads and validates. -ENOENT when there is no file (a first start); -EINVAL with a message
 * saying what is wrong where for a damaged one. st is zeroed first. */
int live_state_load(const char *path, struct live_state *st, char *err, size_t err_size);

#endif
