/*
 * The Linux side of the lifecycle core's system interface (struct lc_sys) and the /proc
 * readings the lifecycle backends share. Everything goes through the OS layer (os.h) except
 * directory listings (opendir on /proc), which the OS layer does not cover.
 */
#ifndef BPFMM_LIVE_LIFECYCLE_SYS_H
#define BPFMM_LIVE_LIFECYCLE_SYS_H

#include "lifecycle_core.h"
#include "os.h"

#include <stdbool.h>

/* Fills sys with the real implementation over os (NULL: live_os_linux). watch/unwatch and
 * kernel_has are left NULL for the backend to set. */
void lc_sys_init(struct lc_sys *sys, const struct live_os *os);

/* Parses a /proc/.../stat file. -ESRCH if it does not exist. */
int lc_sys_stat_path(const struct live_os *os, const char *path, struct lc_stat *st);
/* Children (processes) of pid, from /proc/PID/task/TID/children, or, with scan or without
 * CONFIG_PROC_CHILDREN, from the ppid of every /proc/N/stat. Fills at most cap, returns how
 * many there are, -ESRCH if pid is gone. */
int lc_sys_children(const struct live_os *os, pid_t pid, pid_t *out, size_t cap, bool scan);
bool lc_sys_have_children_file(void);
/* The thread group id of thread tid, or -ESRCH. */
int lc_sys_tgid_of(const struct live_os *os, pid_t tid);
/* 1 if every thread of pid has passed the start of do_exit (PF_EXITING) or pid is gone, 0 if
 * some thread is still running, -errno. */
int lc_sys_group_exiting(const struct live_os *os, pid_t pid);

#endif
