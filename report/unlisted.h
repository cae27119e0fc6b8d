/* Whether the menu's list is behind the kernel: block devices that came after a scan began (a
 * SCSI host still adding LUNs when the devices settled, a USB disk plugged in at the menu), or
 * that the list still shows though they are gone (a disk unplugged at the menu). */
#ifndef LB_UNLISTED_H
#define LB_UNLISTED_H

#include <stddef.h>

#include "report/found.h"

/* How the menu's list stands against sysroot/class/block, from one listing of it. unlisted: the
 * devices a scan would list (discover/blockdev.c) and f has no device record of (f NULL: every
 * one); virtual devices (device-mapper, md, loop) are left out, since unlock, assembly and enter
 * make those and scan again for themselves where it matters. gone: the devices f has a record of
 * that the kernel no longer lists, of every kind (only a disk's removal makes the worker ask, and
 * then a mapping gone with it is worth a new scan too). Names are space-separated, whole names
 * only, ending in " ..." when they do not all fit. */
struct behind {
	int unlisted, gone;
	char unlisted_names[96], gone_names[96];
};
/* Returns 0, or -errno when sysroot cannot be listed (b then counts nothing). */
int found_behind(const struct found *f, const char *sysroot, struct behind *b);

#endif
