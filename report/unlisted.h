/* Whether the menu's list is behind the kernel: block devices that came after a scan began (a
 * SCSI host still adding LUNs when the devices settled, a USB disk plugged in at the menu), or
 * that the list still shows though they are gone (a disk unplugged at the menu). */
#ifndef LB_UNLISTED_H
#define LB_UNLISTED_H

#include <stddef.h>

#include "report/found.h"

/* The devices of sysroot/class/block that a scan would list (discover/blockdev.c) and f has no
 * device record of; f NULL: every one. Virtual devices (device-mapper, md, loop) are left out:
 * unlock, assembly and enter make those, and scan again for themselves where it matters. Returns
 * how many, with their names in names (space-separated, whole names only, ending in " ..." when
 * they do not all fit); -errno when sysroot cannot be listed. */
int found_unlisted(const struct found *f, const char *sysroot, char *names, size_t size);
/* The devices f has a device record of that sysroot/class/block no longer lists (every kind:
 * only a disk's removal makes the worker ask, and then a mapping gone too is worth a new scan);
 * names and the result as found_unlisted's; f NULL: none. */
int found_gone(const struct found *f, const char *sysroot, char *names, size_t size);

#endif
