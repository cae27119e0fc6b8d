/* The mount plan: a generation's fstab with each device resolved from the probe results. */
#ifndef LB_PLAN_H
#define LB_PLAN_H

#include <stdio.h>

#include "discover/blockdev.h"
#include "discover/fstab.h"

struct plan_summary {
	const struct blockdev *root, *nix, *boot;
	int root_tmpfs, root_listed, nix_listed;
	const char *rootsubvol, *nixsubvol; /* point into the fstab */
};

/* Write one mount record per fstab entry (system=sysid, number=generation) and sum up where
 * /, /nix and /boot live. Names two disks answer to resolve to the one on prefer_disk. */
void plan_emit(FILE *out, const char *sysid, int number, const struct fstab *t,
	       const struct devtab *devs, const char *prefer_disk, struct plan_summary *s);

#endif
