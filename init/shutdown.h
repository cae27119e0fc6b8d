/* The one way lifeboat ends: reboot, halt, power-off and kexec all stop every process, sync,
 * unmount file systems newest first (remounting read-only the block-backed ones that will not
 * unmount) in a child with a deadline, and then call reboot(2) from a child. */
#ifndef LB_SHUTDOWN_H
#define LB_SHUTDOWN_H

enum shutdown_kind { SHUTDOWN_NONE, SHUTDOWN_REBOOT, SHUTDOWN_HALT, SHUTDOWN_POWEROFF, SHUTDOWN_KEXEC };

const char *shutdown_name(enum shutdown_kind k);

struct mnt {
	char *target;
	int block; /* backed by a block device: holds data that must reach the disk */
	int own;   /* one of the rescue system's own trees (/proc, /sys, /dev, /run, /tmp) */
};
/* Parse /proc/self/mountinfo text (modified in place) into a malloc'd array; returns the count,
 * or -ENOMEM (and *out NULL). */
int mountinfo_parse(char *text, struct mnt **out);

/* Told about each step: target, what ("unmounted", "remounted read-only", "swap off"), and 0 or
 * the -errno it failed with; and, with SHUTDOWN_STARTING, before each step that may block on a
 * disk (what: "sync", "swap off", "unmount", "remount read-only"), so that whoever waits can say
 * which step hung. */
#define SHUTDOWN_STARTING 1
typedef void (*shutdown_report_fn)(const char *target, const char *what, int err, void *ctx);
/* Swap off, then unmount everything but the rescue system's own trees, newest first, and remount
 * read-only the block-backed file systems that stay busy. Returns how many could be neither. */
int unmount_filesystems(shutdown_report_fn report, void *ctx);
/* From a child: reboot(2) with the command for k, after a sync when do_sync (not when the disk
 * work already hung: that sync would hang too). Only returns on failure (-errno). */
int shutdown_reboot_syscall(enum shutdown_kind k, int do_sync);

#endif
