/* File system drivers for the disks that are there: busybox `mount` without -t only tries the
 * file systems the kernel already has, so the device worker loads the modules lib/fstype's
 * table names for what it finds. */
#ifndef LB_FSMODULES_H
#define LB_FSMODULES_H

#include <stddef.h>

#include "lib/modules.h"

/* Load the modules a mount of type needs (lib/fstype). Returns modules newly loaded. */
int fsmodules_load_type(struct modtree *t, const char *type);
/* Load the module for devnode's file system, if it needs one. Returns modules newly loaded. */
int fsmodule_load_for(struct modtree *t, const char *devnode);
/* The same for every block device in sysfs_block (normally /sys/class/block) that an earlier
 * call of this process did not look at already. */
int fsmodules_coldplug(struct modtree *t, const char *sysfs_block);

#endif
