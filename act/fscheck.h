/* Checking and repairing filesystems with the toolbox's tools (e2fsck, fsck.fat, btrfs,
 * xfs_repair, fsck.f2fs): which tool checks which type and how, and what its exit status means. The one
 * check itself (tool and read-only arguments) is lib/fstype's; repairs and exit codes are here.
 * A check must write nothing: the device is set read-only (BLKROSET) while it runs and must not
 * be mounted (an exclusive open fails on a mounted device). */
#ifndef LB_FSCHECK_H
#define LB_FSCHECK_H

#include "report/found.h"

#define FSCHECK_MAX_ARGS 8

struct fs_tool {
	const char *name;     /* as lib/fstype's check names it: "e2fsck" */
	const char *path;     /* in the image */
	const char *repair[FSCHECK_MAX_ARGS]; /* repair arguments, before the device; {NULL}: none */
	const char *repair_says; /* what the repair changes, for the confirmation */
};

enum fs_verdict {
	FS_CLEAN,    /* nothing wrong found */
	FS_ERRORS,   /* errors found and left (a check never fixes anything) */
	FS_FIXED,    /* a repair changed the filesystem */
	FS_FAILED,   /* the tool could not do its work (usage, I/O, cannot open) */
};

/* The tool for blkid type `type`, or NULL when the toolbox has none. */
const struct fs_tool *fs_tool_for(const char *type);
/* argv for checking (repair = 0: lib/fstype's read-only check of `type`) or repairing `dev` with
 * t, into argv (max entries, NULL ended). Returns the count or -ENOTSUP (no repair offered),
 * -EINVAL (t does not check type), -E2BIG. */
int fs_tool_argv(const struct fs_tool *t, int repair, const char *type, const char *dev,
		 const char **argv, int max);
/* What the tool's exit status says (its convention per type; status < 0: it did not run). */
enum fs_verdict fs_verdict_of(const struct fs_tool *t, int repair, int exit_status);
const char *fs_verdict_name(enum fs_verdict v);

/* A filesystem to check: its device, blkid type ("" when the report does not say) and role. */
struct fs_target {
	char dev[80], type[32], what[96];
	const struct fs_tool *tool;
};
/* Add dev (once: btrfs subvolumes share their device) with its type from f's device records
 * (f may be NULL). Returns the new count (n when dev is empty or ts is full). */
int fs_target_add(struct fs_target *ts, int n, int max, const struct found *f, const char *dev,
		  const char *what);
/* Every filesystem of system s: its root, /nix, the "ok" mounts of its current generation, its
 * ESP. Returns the count. */
int fs_targets(const struct found *f, const struct found_sys *s, struct fs_target *ts, int max);

/* The block device dev is not mounted nor held by anyone: 0, -EBUSY, or -errno. */
int fs_unused(const char *dev);
/* Set dev's read-only flag (BLKROSET); returns the previous flag (0/1) or -errno. */
int blk_set_ro(const char *dev, int ro);

#endif
