/* One scan at a time, shared by whoever asked while it ran.
 *
 * The console menu, every SSH login's menu and `lifeboat scan` in a shell may all want a scan
 * at once. Two scans at once would fight over the same devices (each sets and undoes the
 * read-only marks, each mounts under the same inspection folder) and take twice as long. So a
 * scan takes a lock first; a scan that had to wait, and finds that the scan it waited for began
 * after it asked, prints that scan's report instead of running its own: what the user asked for
 * ("look at the disks as they are now") is what that scan did. A menu coming up (`--share`)
 * also takes the report of a scan that was already running when it asked: two menus starting
 * together see one scan, while a rescan the user asks for always looks again. */
#ifndef LB_SCANLOCK_H
#define LB_SCANLOCK_H

#include <stddef.h>

#include "lib/layout.h"

#define SCAN_LOCK RUN_DIR "/scan.lock"
/* The last whole scan's report, after a first line "began=MS ended=MS" (now_ms()). */
#define SCAN_LAST RUN_DIR "/scan.last"

/* Take the lock, waiting at most wait_ms (polling: a waiter never sleeps in the kernel on it). *waited is set when it was held by another. Returns the lock's fd
 * (close it to release) or -errno (-ETIMEDOUT: still held after wait_ms). */
int scanlock_take(const char *lock_path, int wait_ms, int *waited);
/* The report of the last whole scan if it began at or after asked_ms (share: if it ended at or
 * after asked_ms, so it was running when asked): 0 and *text (malloc'd), -ESTALE when it is
 * older, -ENOENT when there is none, -EINVAL when it is not ours. */
int scanlock_reuse(const char *last_path, long long asked_ms, int share, char **text);
/* Keep a whole scan's report as the last one (atomically). Returns 0 or -errno. */
int scanlock_record(const char *last_path, long long began_ms, long long ended_ms, const char *text,
		    size_t len);

#endif
