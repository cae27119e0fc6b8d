/* Mounting a found system by its plan (the scan report's mount records) under a staging
 * directory, read-write. Every mount point is resolved inside the target (lib/inroot), so a
 * symlink on the disk cannot point a mount at the rescue system's own files. */
#ifndef LB_MOUNTPLAN_H
#define LB_MOUNTPLAN_H

#include <stddef.h>

#include "report/found.h"

/* Split fstab options into mount(2) flags and the filesystem's data string (fstab-only words
 * such as defaults, nofail, x-* dropped). 0, or -EINVAL when data is too small: a cut list
 * would mount something else. */
int mountopts_parse(const char *options, unsigned long *flags, char *data, size_t size);
/* The same for a plan's mount record, with its subvol= added when the options lack one.
 * -EINVAL when it does not fit or the subvolume's name would add options (lib/fstype). */
int mountplan_entry_data(const struct record *r, unsigned long *flags, char *data, size_t size);
/* mkdir -p of path inside rootfd (each parent resolved in the root); returns an O_PATH fd of
 * the directory or -errno. */
int inroot_mkdirs(int rootfd, const char *path);
/* Mount what the plan of system s (generation number's fstab, else the current one's) says
 * under dir. Messages about skipped entries go to say (one line each). Returns the number of
 * mounts made or -errno when the root itself cannot be mounted. */
int mountplan_mount(const struct found *f, const struct found_sys *s, int number, const char *dir,
		    void (*say)(const char *line));
/* Unmount everything at or under dir, deepest first (reverse mount order). Returns how many
 * could not be unmounted. */
int mountplan_unmount_all(const char *dir, void (*say)(const char *line));

#endif
