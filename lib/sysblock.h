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

/* How many entries sysroot/class/block/DEV/holders has (what sits on DEV: an LV, a mapping). */
int sysblock_holders(const char *sysroot, const char *dev);

/* How many device-mapper devices have a dm/uuid starting with uuid_prefix ("CRYPT-", "LVM-"). */
int sysblock_dm_count(const char *sysroot, const char *uuid_prefix);

#endif
