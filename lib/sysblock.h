/* Reading /sys/class/block: one walk and one attribute reader for every layer (md, dm, LUKS)
 * that asks the kernel what it has assembled. sysroot is "/sys" in the image, a directory tree
 * in unit tests. */
#ifndef LIFEBOAT_SYSBLOCK_H
#define LIFEBOAT_SYSBLOCK_H

#include <stddef.h>

/* sysroot/class/block/DEV/WHAT, trailing whitespace stripped; NULL if absent. Free it. */
char *sysblock_value(const char *sysroot, const char *dev, const char *what);

/* Calls fn for each block device whose name starts with prefix, in readdir order, until fn
 * returns nonzero; returns that value (0 when the walk ended or sysroot has no class/block). */
int sysblock_each(const char *sysroot, const char *prefix, int (*fn)(const char *dev, void *ctx),
		  void *ctx);

/* Whether DEV is one the kernel made up rather than found on a bus (device-mapper, md, loop,
 * nbd: their sysfs link leads into devices/virtual/): 1 or 0, and 0 when the link is unreadable. */
int sysblock_virtual(const char *sysroot, const char *dev);
/* The same rule for a sysfs device path ("/devices/virtual/block/dm-0", a uevent's DEVPATH, or
 * the class link's "../../devices/..." target): what a removed device is judged by, its link
 * being gone. */
int sysblock_path_virtual(const char *devpath);

/* How many entries sysroot/class/block/DEV/holders has (what sits on DEV: an LV, a mapping). */
int sysblock_holders(const char *sysroot, const char *dev);

/* How many device-mapper devices have a dm/uuid starting with uuid_prefix ("CRYPT-", "LVM-"). */
int sysblock_dm_count(const char *sysroot, const char *uuid_prefix);

#endif
