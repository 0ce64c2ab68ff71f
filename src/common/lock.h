/* Internal: an exclusive lock on an output folder, so that two processes never write one folder
 * at the same time. Not part of the public API.
 *
 * The lock is flock(LOCK_EX | LOCK_NB) on the file <dir>/.mhrfit.lock. The kernel releases it when
 * the holder's descriptor is closed, also when the process dies, so a killed process never leaves
 * a folder locked. The holder writes into the file its process id, what it is doing and when it
 * started, and "state running"; letting go normally, it removes the file. A later holder that
 * finds the file with "state running" knows the previous one was killed (or crashed) and may clean
 * up after it (mf_remove_stale_temps()). A process that finds the file gone or replaced after
 * taking a lock on it takes the new one, so two processes never hold locks on different files of
 * one path. Every command that writes a folder takes its lock for the whole time it writes there. */
#ifndef MF_COMMON_LOCK_H
#define MF_COMMON_LOCK_H

#include <stdbool.h>

#include "mhrfit/error.h"

/* Name of the lock file inside a locked folder. */
#define MF_DIR_LOCK_NAME ".mhrfit.lock"

typedef struct mf_dir_lock mf_dir_lock;

/* Takes the lock of the existing folder `dir` for `what` (e.g. "mhrfit run", shown to a process
 * that finds the folder busy). `*unclean` (may be NULL) is set when the previous holder did not
 * let go normally (it was killed). Fails at once with
 * MHRFIT_ERR_BUSY naming the holder's process id when another process holds the lock, or
 * MHRFIT_ERR_IO (the lock file cannot be created). The caller releases it. */
mf_dir_lock *mf_dir_lock_acquire(const char *dir, const char *what, bool *unclean, mhrfit_error *err);

/* Checks, without writing anything, that no process holds the lock of `dir` (a folder that does
 * not exist yet, or has no lock file, is free): false with MHRFIT_ERR_BUSY naming the holder as
 * mf_dir_lock_acquire() does. For commands that check everything before their long set-up and
 * take the lock later; the lock itself is only held after mf_dir_lock_acquire(). */
bool mf_dir_lock_probe(const char *dir, mhrfit_error *err);

/* Removes the lock file and lets go of the lock. NULL is allowed. */
void mf_dir_lock_release(mf_dir_lock *lock);

#endif
